#include "gateway/auth/secrets.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/crypto.h"

namespace herald {
namespace gateway {
namespace auth {

absl::StatusOr<std::string> NewSecret() {
  absl::StatusOr<std::string> bytes = crypto::RandomBytes(32);  // 256 bits
  if (!bytes.ok()) return bytes.status();
  std::string encoded;
  absl::WebSafeBase64Escape(*bytes, &encoded);
  return absl::StrCat(kSecretPrefix, encoded);
}

std::string DigestOf(absl::string_view secret) {
  return absl::BytesToHexString(crypto::Sha256(secret));
}

bool SameDigest(absl::string_view a, absl::string_view b) {
  return crypto::ConstantTimeEquals(a, b);
}

}  // namespace auth
}  // namespace gateway
}  // namespace herald
