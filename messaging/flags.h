// File: messaging/flags.h
//
// The command-line flags every Herald binary shares, and the one call that
// turns them (with the YAML file and `HERALD_*` environment) into a Config:
//
//   --config=PATH   YAML configuration file (or HERALD_CONFIG)
//   --brokers=LIST  Kafka bootstrap servers, host:port[,host:port...]
//   --db=URL        sqlite:PATH or postgresql://...
//
// Example (in main, after absl::ParseCommandLine):
//
//   absl::StatusOr<herald::Config> config = herald::ConfigFromFlags(
//       {{"service", "gateway"}}, {{"http_port", absl::GetFlag(FLAGS_port)}});
#ifndef HERALD_MESSAGING_FLAGS_H_
#define HERALD_MESSAGING_FLAGS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "messaging/config.h"

namespace herald {

// A binary's own flag that overrides a config key when it was given.
struct FlagOverride {
  std::string key;
  std::optional<std::string> value;
};

// Loads the Config of a binary from --config/HERALD_CONFIG, the environment,
// --brokers, --db and `extra` (applied last, in order, when they hold a
// value). `defaults` are the binary's own defaults, e.g. {{"service",
// "gateway"}, {"client_id", "gateway"}}: file, environment and flags win.
absl::StatusOr<Config> ConfigFromFlags(
    const std::vector<std::pair<std::string, std::string>>& defaults,
    const std::vector<FlagOverride>& extra = {});

}  // namespace herald

#endif  // HERALD_MESSAGING_FLAGS_H_
