// File: gateway/auth/api_keys.h
//
// The api_keys table in the gateway's database: one row per key, its name
// (unique, never reused), the SHA-256 digest of its secret (the secret
// itself is shown once, by CreateApiKey, and stored nowhere), its scopes,
// when it was created, last used (to the minute) and revoked. Used by
// `heraldctl keys` and by the gateway's Authenticator. The table is made by
// the gateway's migrations (gateway/store.h, version 4): migrate first.
//
// Example:
//
//   absl::StatusOr<std::string> secret = herald::gateway::auth::CreateApiKey(
//       *db, "billing", *herald::gateway::auth::ParseScopes("payments:write"));
//   std::cout << *secret << "\n";  // the only time it is seen
//   ...
//   absl::Status revoked = herald::gateway::auth::RevokeApiKey(*db, "billing");
#ifndef HERALD_GATEWAY_AUTH_API_KEYS_H_
#define HERALD_GATEWAY_AUTH_API_KEYS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "database/database.h"
#include "database/migrations.h"
#include "gateway/auth/scopes.h"

namespace herald {
namespace gateway {
namespace auth {

// The migration that creates the table, as version `version` of the
// gateway's migrations.
db::Migration ApiKeysTableMigration(int version);

// What is known about a key, never its secret or digest.
struct ApiKeyInfo {
  std::string name;
  ScopeSet scopes;
  absl::Time created_at;
  std::optional<absl::Time> last_used_at;
  std::optional<absl::Time> revoked_at;
};

// Creates a key and returns its secret. `name`: 1 to 64 of [A-Za-z0-9._-].
// InvalidArgument for a bad name or no scopes, AlreadyExists when the name
// is taken (revoked keys keep theirs: a name is an identity, Idempotency-Keys
// are scoped by it).
absl::StatusOr<std::string> CreateApiKey(db::Database& db,
                                         absl::string_view name,
                                         ScopeSet scopes);

// Every key, revoked ones included, by name.
absl::StatusOr<std::vector<ApiKeyInfo>> ListApiKeys(db::Database& db);

// Revokes the key `name`: gateways refuse it within seconds. NotFound when
// there is no such key; revoking a revoked key keeps its first revoked_at.
absl::Status RevokeApiKey(db::Database& db, absl::string_view name);

// A key that is not revoked, as the Authenticator caches it.
struct ActiveKey {
  std::string name;
  std::string digest;  // DigestOf(secret)
  ScopeSet scopes;
  absl::Time last_used_at = absl::InfinitePast();
};

// Every key that is not revoked (a read: does not wait for writes).
absl::StatusOr<std::vector<ActiveKey>> ReadActiveKeys(db::Database& db);

// Records that `name` was used at `when` (kept if a later use is recorded).
absl::Status RecordLastUse(db::Database& db, absl::string_view name,
                           absl::Time when);

}  // namespace auth
}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_AUTH_API_KEYS_H_
