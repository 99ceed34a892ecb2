// File: messaging/realtime/token.h
//
// Realtime tokens: short-lived, signed proofs that a client may read the
// channel `user.<user_id>` of one user. The gateway issues them (LATER: POST
// /api/v1/realtime/tokens) and the realtime worker verifies them; both read
// the same secret, the setting `realtime.token_secret` (TokenSecretKey()).
// This lives in messaging/, which both the gateway and the workers may use.
//
// Format: `rt1.<payload>.<mac>`, where <payload> is base64url (no padding)
// of "<user_id>\n<expiry, Unix seconds>" and <mac> is base64url of
// HMAC-SHA256(secret, "rt1.<payload>"). Opaque to clients, URL-safe (it
// travels in `?token=` because EventSource cannot set headers).
//
// Example:
//
//   std::string token = herald::realtime::SignToken(
//       secret, "user_42", absl::Now() + absl::Minutes(10));
//   absl::StatusOr<herald::realtime::TokenClaims> claims =
//       herald::realtime::VerifyToken(secret, token, absl::Now());
//   // claims->user_id == "user_42"
#ifndef HERALD_MESSAGING_REALTIME_TOKEN_H_
#define HERALD_MESSAGING_REALTIME_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/settings.h"

namespace herald {
namespace realtime {

// The shortest secret SignToken and VerifyToken accept (bytes).
inline constexpr size_t kMinSecretBytes = 16;

struct TokenClaims {
  std::string user_id;
  absl::Time expires_at;
};

// A token for `user_id` that expires at `expires_at`. `secret` must hold at
// least kMinSecretBytes bytes.
std::string SignToken(absl::string_view secret, absl::string_view user_id,
                      absl::Time expires_at);

// The claims of `token` when its MAC is right under `secret` and it has not
// expired at `now`. Errors (all Unauthenticated, the message says which):
// malformed, bad signature, expired; FailedPrecondition when `secret` is
// shorter than kMinSecretBytes (no user channel can be opened then).
absl::StatusOr<TokenClaims> VerifyToken(absl::string_view secret,
                                        absl::string_view token,
                                        absl::Time now);

// The setting `realtime.token_secret` bound to `*secret` (empty by default:
// user channels are refused until it is set).
settings::Key TokenSecretKey(std::string* secret);

}  // namespace realtime
}  // namespace herald

#endif  // HERALD_MESSAGING_REALTIME_TOKEN_H_
