#include "database/settings.h"

#include "absl/strings/match.h"

namespace herald {
namespace db {

std::vector<settings::Key> DatabaseKeys(DatabaseSettings& s) {
  return {settings::String(
      "db", &s.url,
      "sqlite:PATH[?synchronous=full|normal|off&busy_timeout_ms=N] or "
      "postgresql://...[?pool_size=N&acquire_timeout_ms=N&prepare=false]; "
      "workers default to "
      "`sqlite:<worker>.db`",
      &ValidateDbUrl)};
}

absl::Status ValidateDbUrl(absl::string_view url) {
  if (absl::StartsWith(url, "sqlite:") && url.size() > 7) {
    return absl::OkStatus();
  }
  if (absl::StartsWith(url, "postgresql://") ||
      absl::StartsWith(url, "postgres://")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError("expected sqlite:PATH or postgresql://...");
}

}  // namespace db
}  // namespace herald
