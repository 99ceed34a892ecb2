// File: gateway/auth/scopes.h
//
// What an API key may do. A key carries a set of scopes; each API route
// requires one (the table is in gateway/gateway.cc). Written as text in
// `heraldctl keys create --scopes=...` and in the api_keys table.
//
//   payments:write      POST /api/v1/payments
//   payments:status     POST /api/v1/payments/{id}/status
//   payments:read       GET  /api/v1/payments/{id}
//   users:write         POST /api/v1/users
//   notifications:send  POST /api/v1/notifications/email
//   realtime:publish    POST /api/v1/realtime/channels/{channel}/messages
//   realtime:tokens     POST /api/v1/realtime/tokens
//
// Example:
//
//   absl::StatusOr<herald::gateway::auth::ScopeSet> scopes =
//       herald::gateway::auth::ParseScopes("payments:write,payments:read");
//   bool may = scopes->Has(herald::gateway::auth::Scope::kPaymentsRead);
#ifndef HERALD_GATEWAY_AUTH_SCOPES_H_
#define HERALD_GATEWAY_AUTH_SCOPES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace gateway {
namespace auth {

enum class Scope : uint32_t {
  kPaymentsWrite = 1 << 0,
  kPaymentsStatus = 1 << 1,
  kPaymentsRead = 1 << 2,
  kUsersWrite = 1 << 3,
  kNotificationsSend = 1 << 4,
  kRealtimePublish = 1 << 5,
  kRealtimeTokens = 1 << 6,
};

// "payments:write" for Scope::kPaymentsWrite.
absl::string_view ScopeName(Scope scope);

// A set of scopes, a bit each.
class ScopeSet {
 public:
  ScopeSet() = default;
  bool Has(Scope scope) const {
    return (bits_ & static_cast<uint32_t>(scope)) != 0;
  }
  void Add(Scope scope) { bits_ |= static_cast<uint32_t>(scope); }
  bool empty() const { return bits_ == 0; }
  // Every scope there is.
  static ScopeSet All();
  // "payments:write,users:write", in the order of the enum.
  std::string ToString() const;
  bool operator==(const ScopeSet& other) const { return bits_ == other.bits_; }

 private:
  uint32_t bits_ = 0;
};

// Parses "a,b,..." (spaces around names allowed). InvalidArgument naming an
// unknown scope, or for an empty list.
absl::StatusOr<ScopeSet> ParseScopes(absl::string_view text);

}  // namespace auth
}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_AUTH_SCOPES_H_
