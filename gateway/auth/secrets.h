// File: gateway/auth/secrets.h
//
// API key secrets: made from a secure random source (base/crypto.h), stored
// only as their SHA-256 digest, compared in constant time. A secret is "hk_"
// and 43 base64url characters (256 random bits); the prefix makes a leaked key
// recognizable in logs and by secret scanners, and carries no name.
//
// Example:
//
//   absl::StatusOr<std::string> secret = herald::gateway::auth::NewSecret();
//   std::string digest = herald::gateway::auth::DigestOf(*secret);
//   bool same = herald::gateway::auth::SameDigest(digest, stored_digest);
#ifndef HERALD_GATEWAY_AUTH_SECRETS_H_
#define HERALD_GATEWAY_AUTH_SECRETS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace gateway {
namespace auth {

// Every secret starts with this.
inline constexpr absl::string_view kSecretPrefix = "hk_";

// A new secret. Internal when the kernel's random source fails.
absl::StatusOr<std::string> NewSecret();

// The SHA-256 digest of `secret`, as 64 lowercase hex digits.
std::string DigestOf(absl::string_view secret);

// Whether two digests are equal, in time that depends only on their length.
bool SameDigest(absl::string_view a, absl::string_view b);

}  // namespace auth
}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_AUTH_SECRETS_H_
