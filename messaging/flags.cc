#include "messaging/flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"

ABSL_FLAG(std::optional<std::string>, config, std::nullopt,
          "YAML configuration file (default: $HERALD_CONFIG, else none)");
ABSL_FLAG(std::optional<std::string>, brokers, std::nullopt,
          "Kafka bootstrap servers, host:port[,host:port...]");
ABSL_FLAG(
    std::optional<std::string>, db, std::nullopt,
    "Database: sqlite:PATH or postgresql://... (default sqlite:herald.db)");

namespace herald {

absl::StatusOr<Config> ConfigFromFlags(
    const std::vector<std::pair<std::string, std::string>>& defaults,
    const std::vector<FlagOverride>& extra) {
  ConfigSources sources;
  sources.defaults = defaults;
  sources.file = absl::GetFlag(FLAGS_config);
  if (!sources.file.has_value()) {
    if (const char* env = std::getenv("HERALD_CONFIG")) sources.file = env;
  }
  if (auto brokers = absl::GetFlag(FLAGS_brokers)) {
    sources.overrides.emplace_back("brokers", *brokers);
  }
  if (auto db = absl::GetFlag(FLAGS_db)) {
    sources.overrides.emplace_back("db", *db);
  }
  for (const FlagOverride& flag : extra) {
    if (flag.value.has_value()) {
      sources.overrides.emplace_back(flag.key, *flag.value);
    }
  }
  return LoadConfig(sources);
}

}  // namespace herald
