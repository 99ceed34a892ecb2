#include "gateway/auth/scopes.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace herald {
namespace gateway {
namespace auth {
namespace {

constexpr std::pair<Scope, absl::string_view> kScopes[] = {
    {Scope::kPaymentsWrite, "payments:write"},
    {Scope::kPaymentsStatus, "payments:status"},
    {Scope::kPaymentsRead, "payments:read"},
    {Scope::kUsersWrite, "users:write"},
    {Scope::kNotificationsSend, "notifications:send"},
    {Scope::kRealtimePublish, "realtime:publish"},
    {Scope::kRealtimeTokens, "realtime:tokens"},
};

std::string AllNames() {
  std::vector<absl::string_view> names;
  for (const auto& [scope, name] : kScopes) names.push_back(name);
  return absl::StrJoin(names, ", ");
}

}  // namespace

absl::string_view ScopeName(Scope scope) {
  for (const auto& [s, name] : kScopes) {
    if (s == scope) return name;
  }
  return "unknown";
}

ScopeSet ScopeSet::All() {
  ScopeSet all;
  for (const auto& [scope, name] : kScopes) all.Add(scope);
  return all;
}

std::string ScopeSet::ToString() const {
  std::vector<absl::string_view> names;
  for (const auto& [scope, name] : kScopes) {
    if (Has(scope)) names.push_back(name);
  }
  return absl::StrJoin(names, ",");
}

absl::StatusOr<ScopeSet> ParseScopes(absl::string_view text) {
  ScopeSet set;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) continue;
    bool known = false;
    for (const auto& [scope, name] : kScopes) {
      if (name == part) {
        set.Add(scope);
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown scope '", part, "' (scopes: ", AllNames(), ")"));
    }
  }
  if (set.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no scopes given (scopes: ", AllNames(), ")"));
  }
  return set;
}

}  // namespace auth
}  // namespace gateway
}  // namespace herald
