// File: base/settings.h
//
// The mechanics of Herald's settings. Each component owns its settings: a
// struct whose member initializers are the defaults (written once, there)
// and the keys that set it, declared where the component lives
// (messaging/config.h, database/settings.h, gateway/settings.h, ...). A
// binary gives Load() the keys of the components it runs, and Load() fills
// their structs from, in increasing precedence:
//
//   1. the defaults in the structs, then the binary's own (Sources::defaults)
//   2. a YAML file (--config or HERALD_CONFIG), nested on the dots:
//        producer:
//          linger_ms: 5        # the key producer.linger_ms
//   3. HERALD_* environment variables: HERALD_ + the key upper-cased, dots
//      as underscores (producer.linger_ms -> HERALD_PRODUCER_LINGER_MS)
//   4. command-line flags (Sources::overrides)
//
// A bad value, and a key or HERALD_* variable that no Herald binary knows,
// fail with InvalidArgument naming the key, the value and where it came
// from. A key that another Herald binary knows (http_port in a worker's
// environment, say) is accepted and left alone, so that one file and one
// environment can serve every binary: KnownKeys() lists them all.
//
// Example:
//
//   struct HttpSettings {
//     int port = 8080;
//   };
//   std::vector<settings::Key> HttpKeys(HttpSettings& s) {
//     return {settings::Int("http_port", &s.port, 0, 65535, "HTTP port")};
//   }
//
//   HttpSettings http;
//   settings::Sources sources;
//   sources.file = "herald.yaml";
//   absl::Status loaded = settings::Load(HttpKeys(http), sources);
#ifndef HERALD_BASE_SETTINGS_H_
#define HERALD_BASE_SETTINGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace herald {
namespace settings {

// One key: its dotted name, and how to read and write the field behind it.
struct Key {
  std::string name;  // e.g. "consumer.max_attempts"
  std::string help;  // one line, for --help and the reference
  // Parses `value` into the field; the error says what was expected.
  std::function<absl::Status(absl::string_view value)> set;
  // The field's value now, as text (the default, before Load()).
  std::function<std::string()> get;
  // `name` is a prefix ("kafka.properties."): every key that starts with it
  // and goes on is this key's, e.g. kafka.properties.sasl.mechanism.
  bool prefix = false;
};

// Keys bound to a field, with the usual checks.
Key Int(std::string name, int* field, int min, int max, std::string help);
Key String(std::string name, std::string* field, std::string help,
           std::function<absl::Status(absl::string_view)> check = nullptr);
Key Bool(std::string name, bool* field, std::string help);
// A duration written in whole milliseconds.
Key Milliseconds(std::string name, absl::Duration* field, int64_t min_ms,
                 int64_t max_ms, std::string help);
// A duration written in whole hours.
Key Hours(std::string name, absl::Duration* field, int64_t min_hours,
          int64_t max_hours, std::string help);
// Any key under `prefix` (which ends with '.') goes into `field`.
Key Map(std::string prefix, std::map<std::string, std::string>* field,
        std::string help);

// One of a few names, e.g. {{"earliest", kEarliest}, {"latest", kLatest}}.
template <typename E>
Key Choice(std::string name, E* field,
           std::vector<std::pair<std::string, E>> choices, std::string help);

// The inputs of Load(), in increasing precedence.
struct Sources {
  // (key, value) pairs applied over the structs' defaults, before the file:
  // a binary's own defaults (its service name, its consumer group).
  std::vector<std::pair<std::string, std::string>> defaults;
  // YAML file to read, if any. A missing file is an error.
  std::optional<std::string> file;
  // Reads an environment variable; defaults to getenv. Only names starting
  // with `HERALD_` are consulted.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Every `HERALD_*` variable name in the environment, to reject unknown
  // ones; defaults to scanning `environ`.
  std::function<std::vector<std::string>()> env_names;
  // (key, value) pairs, usually from command-line flags; applied last.
  std::vector<std::pair<std::string, std::string>> overrides;
};

// Load()
//
// Fills the fields behind `keys` from `sources` (see the file comment).
// Errors: InvalidArgument naming the key, its value and its source for an
// unknown key or a bad value; NotFound when the YAML file does not exist.
absl::Status Load(const std::vector<Key>& keys, const Sources& sources);

// The environment variable that sets `key`: "producer.linger_ms" ->
// "HERALD_PRODUCER_LINGER_MS".
std::string EnvVarForKey(absl::string_view key);

// KnownKeys()
//
// Every key some Herald binary accepts (prefix keys end with '.'). Kept
// here as names only, so that each binary can tell another binary's key
// from a typo; tools/settings_reference_test checks it against the keys the
// components declare, and the README's table against both.
const std::vector<std::string>& KnownKeys();

// Implementation details below.
namespace settings_internal {
Key ChoiceKey(std::string name, std::vector<std::string> names,
              std::function<void(size_t)> set_index,
              std::function<size_t()> get_index, std::string help);
}  // namespace settings_internal

template <typename E>
Key Choice(std::string name, E* field,
           std::vector<std::pair<std::string, E>> choices, std::string help) {
  std::vector<std::string> names;
  for (const auto& [text, value] : choices) names.push_back(text);
  return settings_internal::ChoiceKey(
      std::move(name), std::move(names),
      [field, choices](size_t i) { *field = choices[i].second; },
      [field, choices]() -> size_t {
        for (size_t i = 0; i < choices.size(); ++i) {
          if (choices[i].second == *field) return i;
        }
        return 0;
      },
      std::move(help));
}

}  // namespace settings
}  // namespace herald

#endif  // HERALD_BASE_SETTINGS_H_
