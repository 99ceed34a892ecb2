#include "base/flags.h"

#include <cstdlib>

#include "absl/flags/flag.h"

ABSL_FLAG(std::optional<std::string>, config, std::nullopt,
          "YAML configuration file (default: $HERALD_CONFIG, else none)");

namespace herald {

settings::Sources SourcesFromFlags(
    std::vector<std::pair<std::string, std::string>> defaults,
    const std::vector<std::vector<FlagOverride>>& overrides) {
  settings::Sources sources;
  sources.defaults = std::move(defaults);
  sources.file = absl::GetFlag(FLAGS_config);
  if (!sources.file.has_value()) {
    if (const char* env = std::getenv("HERALD_CONFIG")) sources.file = env;
  }
  for (const std::vector<FlagOverride>& group : overrides) {
    for (const FlagOverride& flag : group) {
      if (flag.value.has_value()) {
        sources.overrides.emplace_back(flag.key, *flag.value);
      }
    }
  }
  return sources;
}

}  // namespace herald
