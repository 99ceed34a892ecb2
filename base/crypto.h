// File: base/crypto.h
//
// The few cryptographic primitives Herald needs (OpenSSL's libcrypto
// underneath, not in this header): SHA-256, HMAC-SHA256 to sign tokens, a
// comparison whose time does not depend on where two MACs differ, and
// random bytes for secrets and ids.
//
// Example:
//
//   std::string mac = herald::crypto::HmacSha256(secret, payload);
//   if (!herald::crypto::ConstantTimeEquals(mac, claimed)) return Denied();
#ifndef HERALD_BASE_CRYPTO_H_
#define HERALD_BASE_CRYPTO_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace crypto {

// The 32-byte SHA-256 digest of `data` (raw bytes, not hex).
std::string Sha256(absl::string_view data);

// The 32-byte HMAC-SHA256 of `data` under `key` (raw bytes).
std::string HmacSha256(absl::string_view key, absl::string_view data);

// Whether `a` and `b` are equal, in a time that depends only on their
// lengths (for MACs and keys: no early exit at the first difference).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// `n` bytes from a cryptographically secure random source (OpenSSL's,
// seeded by the kernel). Internal when it has none.
absl::StatusOr<std::string> RandomBytes(size_t n);

}  // namespace crypto
}  // namespace herald

#endif  // HERALD_BASE_CRYPTO_H_
