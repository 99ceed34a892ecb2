#include "messaging/flags.h"

#include <optional>
#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::optional<std::string>, brokers, std::nullopt,
          "Kafka bootstrap servers, host:port[,host:port...] (HERALD_BROKERS)");

namespace herald {

std::vector<FlagOverride> MessagingFlags() {
  return {{"brokers", absl::GetFlag(FLAGS_brokers)}};
}

}  // namespace herald
