#include "database/flags.h"

#include <optional>
#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::optional<std::string>, db, std::nullopt,
          "database: sqlite:PATH or postgresql://... (HERALD_DB; default "
          "sqlite:herald.db, workers sqlite:<worker>.db)");

namespace herald {
namespace db {

std::vector<FlagOverride> DatabaseFlags() {
  return {{"db", absl::GetFlag(FLAGS_db)}};
}

}  // namespace db
}  // namespace herald
