// File: messaging/flags.h
//
// The messaging library's command-line flag, for binaries that load its
// settings (base/flags.h):
//
//   --brokers=LIST  Kafka bootstrap servers, host:port[,host:port...]
//
// Example (in main, after InitProcess):
//
//   settings::Sources sources = SourcesFromFlags(
//       {{"service", "heraldctl"}}, {MessagingFlags()});
#ifndef HERALD_MESSAGING_FLAGS_H_
#define HERALD_MESSAGING_FLAGS_H_

#include <vector>

#include "base/flags.h"

namespace herald {

// --brokers, when given.
std::vector<FlagOverride> MessagingFlags();

}  // namespace herald

#endif  // HERALD_MESSAGING_FLAGS_H_
