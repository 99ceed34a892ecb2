// Fuzz target: configuration YAML parsing (base/settings.h, Load() with a
// file), over keys of every kind: Int, String with a check, Bool,
// Milliseconds, Hours, a Choice and a Map prefix.
//
// Properties:
//   - Load() returns OK or InvalidArgument with a message, never throws or
//     crashes, whatever the YAML (anchors, aliases, deep nesting, tags,
//     keys that are not strings);
//   - after OK, every key holds a value it accepts again (no value out of
//     its range gets in).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "base/settings.h"
#include "base/testing/fuzz_check.h"

namespace herald {
namespace settings {
namespace {

enum class Reset { kEarliest, kLatest, kNone };

struct AllKinds {
  int port = 8080;
  std::string brokers;
  bool dead_letter = true;
  absl::Duration linger = absl::Milliseconds(5);
  absl::Duration retention = absl::Hours(24);
  Reset reset = Reset::kEarliest;
  std::map<std::string, std::string> properties;
};

std::vector<Key> KeysOf(AllKinds& s) {
  return {
      Int("http_port", &s.port, 0, 65535, "port"),
      String("brokers", &s.brokers, "brokers",
             [](absl::string_view v) -> absl::Status {
               if (absl::StrContains(v, ' ')) {
                 return absl::InvalidArgumentError("no spaces");
               }
               return absl::OkStatus();
             }),
      Bool("consumer.dead_letter", &s.dead_letter, "dead letters"),
      Milliseconds("producer.linger_ms", &s.linger, 0, 60000, "linger"),
      Hours("outbox.retention_hours", &s.retention, 1, 8760, "retention"),
      Choice("consumer.auto_offset_reset", &s.reset,
             {{"earliest", Reset::kEarliest},
              {"latest", Reset::kLatest},
              {"none", Reset::kNone}},
             "reset"),
      Map("kafka.properties.", &s.properties, "librdkafka"),
  };
}

// The file Load() reads: one per process, rewritten for each input.
const std::string& ConfigPath() {
  static const std::string* path = [] {
    const char* dir = std::getenv("TEST_TMPDIR");
    std::string pattern =
        std::string(dir != nullptr ? dir : "/tmp") + "/herald-fuzz-XXXXXX";
    const int fd = mkstemp(pattern.data());
    FUZZ_CHECK(fd >= 0) << "mkstemp " << pattern;
    close(fd);
    return new std::string(pattern);
  }();
  return *path;
}

}  // namespace
}  // namespace settings
}  // namespace herald

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::settings;  // NOLINT: one target, one namespace
  const std::string& path = ConfigPath();
  FILE* file = std::fopen(path.c_str(), "wb");
  FUZZ_CHECK(file != nullptr) << path;
  FUZZ_CHECK(std::fwrite(data, 1, size, file) == size);
  std::fclose(file);

  AllKinds fields;
  const std::vector<Key> keys = KeysOf(fields);
  Sources sources;
  sources.file = path;
  sources.getenv = [](const std::string&) { return std::nullopt; };
  sources.env_names = [] { return std::vector<std::string>(); };
  absl::Status loaded;
  try {
    loaded = Load(keys, sources);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false) << "Load threw: " << e.what();
  }
  if (!loaded.ok()) {
    FUZZ_CHECK(loaded.code() == absl::StatusCode::kInvalidArgument) << loaded;
    FUZZ_CHECK(!loaded.message().empty());
    return 0;
  }
  for (const Key& key : keys) {
    if (key.prefix) continue;
    const absl::Status again = key.set(key.get());
    FUZZ_CHECK(again.ok()) << key.name << " holds '" << key.get()
                           << "': " << again;
  }
  return 0;
}
