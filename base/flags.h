// File: base/flags.h
//
// Command-line flags and settings: the `--config` flag every Herald binary
// has, and the one call that turns it (with `HERALD_CONFIG`, the
// environment and the binary's flags) into settings::Sources for
// settings::Load().
//
// A flag that sets a settings key is a FlagOverride: applied last, when it
// was given. Components define their own (messaging/flags.h: --brokers;
// database/flags.h: --db); a binary adds its own.
//
// Example (in main, after InitProcess):
//
//   settings::Sources sources = SourcesFromFlags(
//       {{"service", "gateway"}},
//       {MessagingFlags(), DatabaseFlags(), {{"http_port", port}}});
//   absl::Status loaded = settings::Load(keys, sources);
#ifndef HERALD_BASE_FLAGS_H_
#define HERALD_BASE_FLAGS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/settings.h"

namespace herald {

// A binary's flag that overrides a settings key when it was given.
struct FlagOverride {
  std::string key;
  std::optional<std::string> value;
};

// The sources of a binary's settings: `defaults` (the binary's own, e.g.
// {{"service", "gateway"}}: file, environment and flags win), the file named
// by --config (else $HERALD_CONFIG), the environment, and the flags in
// `overrides` (applied in order, those that hold a value).
settings::Sources SourcesFromFlags(
    std::vector<std::pair<std::string, std::string>> defaults,
    const std::vector<std::vector<FlagOverride>>& overrides);

}  // namespace herald

#endif  // HERALD_BASE_FLAGS_H_
