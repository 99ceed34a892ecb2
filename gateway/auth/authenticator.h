// File: gateway/auth/authenticator.h
//
// Decides whether a request may go through: its `Authorization: Bearer
// <key>` names a key that is not revoked, the key has the route's scope,
// and the key's token bucket has a token left. Keys are read from the
// api_keys table (gateway/auth/api_keys.h) into memory at Start and again
// every `refresh_every` on a thread of its own, so a key created or revoked
// by `heraldctl keys` (or by another gateway's operator) counts on every
// gateway sharing the database within about that long. A request costs one
// SHA-256 of the secret and a lookup by digest (compared in constant time);
// no database access. When a key was last used is written back at most once
// per `last_used_every` per key, from that thread too.
//
// Example:
//
//   auto authenticator = herald::gateway::auth::Authenticator::Start(*db, {});
//   herald::gateway::auth::Verdict verdict = (*authenticator)->Check(
//       request.Header("Authorization"), Scope::kPaymentsWrite);
//   if (verdict.outcome != Outcome::kAllowed) { /* 401, 403 or 429 */ }
#ifndef HERALD_GATEWAY_AUTH_AUTHENTICATOR_H_
#define HERALD_GATEWAY_AUTH_AUTHENTICATOR_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "database/database.h"
#include "gateway/auth/scopes.h"

namespace herald {
namespace gateway {
namespace auth {

struct AuthenticatorOptions {
  // Each key's token bucket (per gateway): requests a second, and how many
  // may come at once. per_second <= 0: no limit.
  double rate_limit_per_second = 1000;
  int rate_limit_burst = 2000;
  // How often the keys are read again (revocations take this long).
  absl::Duration refresh_every = absl::Seconds(1);
  // How often, at most, a key's last_used_at is written.
  absl::Duration last_used_every = absl::Minutes(1);
};

enum class Outcome {
  kAllowed,
  kUnauthenticated,  // no key, a malformed header, an unknown or revoked key
  kForbidden,        // a known key without the scope
  kRateLimited,      // the key's bucket is empty
};

struct Verdict {
  Outcome outcome = Outcome::kUnauthenticated;
  // The key's name (kAllowed, kForbidden, kRateLimited).
  std::string key_name;
  // The scope that was required.
  Scope scope = Scope::kPaymentsRead;
  // kRateLimited: how long until the bucket has a token.
  absl::Duration retry_after;
};

class Authenticator {
 public:
  // Reads the keys (an error if it cannot) and starts refreshing them. `db`
  // must outlive the authenticator.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Start(
      db::Database& db, AuthenticatorOptions options);
  ~Authenticator();  // stops the refresh thread

  // The verdict on a request carrying `authorization` (the header's value,
  // if any) to a route that requires `scope`. Thread-safe.
  Verdict Check(std::optional<absl::string_view> authorization, Scope scope);

  // Reads the keys now and writes due last-use times.
  absl::Status Refresh();

 private:
  struct Entry;
  // Digests compared in constant time.
  struct SameDigestEq {
    bool operator()(const std::string& a, const std::string& b) const;
  };
  using KeyMap = absl::flat_hash_map<std::string, std::shared_ptr<Entry>,
                                     absl::Hash<std::string>, SameDigestEq>;

  Authenticator(db::Database& db, AuthenticatorOptions options);
  void RefreshUntilStopped();

  db::Database& db_;
  const AuthenticatorOptions options_;
  absl::Mutex mu_;
  std::shared_ptr<const KeyMap> keys_ ABSL_GUARDED_BY(mu_);
  absl::Mutex refresh_mu_;  // one Refresh at a time
  absl::Notification stopping_;
  std::thread refresher_;
};

}  // namespace auth
}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_AUTH_AUTHENTICATOR_H_
