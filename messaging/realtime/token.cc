#include "messaging/realtime/token.h"

#include <cstdint>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/crypto.h"

namespace herald {
namespace realtime {
namespace {

constexpr absl::string_view kVersion = "rt1";

std::string Mac(absl::string_view secret, absl::string_view signed_part) {
  return absl::WebSafeBase64Escape(crypto::HmacSha256(secret, signed_part));
}

}  // namespace

std::string SignToken(absl::string_view secret, absl::string_view user_id,
                      absl::Time expires_at) {
  const std::string payload = absl::WebSafeBase64Escape(
      absl::StrCat(user_id, "\n", absl::ToUnixSeconds(expires_at)));
  const std::string signed_part = absl::StrCat(kVersion, ".", payload);
  return absl::StrCat(signed_part, ".", Mac(secret, signed_part));
}

absl::StatusOr<TokenClaims> VerifyToken(absl::string_view secret,
                                        absl::string_view token,
                                        absl::Time now) {
  if (secret.size() < kMinSecretBytes) {
    return absl::FailedPreconditionError(
        "realtime.token_secret is not set: user channels are closed");
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0] != kVersion) {
    return absl::UnauthenticatedError("malformed token");
  }
  const absl::string_view signed_part =
      token.substr(0, parts[0].size() + 1 + parts[1].size());
  if (!crypto::ConstantTimeEquals(Mac(secret, signed_part), parts[2])) {
    return absl::UnauthenticatedError("bad token signature");
  }
  std::string payload;
  if (!absl::WebSafeBase64Unescape(parts[1], &payload)) {
    return absl::UnauthenticatedError("malformed token");
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(payload, '\n');
  int64_t expiry = 0;
  if (fields.size() != 2 || fields[0].empty() ||
      !absl::SimpleAtoi(fields[1], &expiry)) {
    return absl::UnauthenticatedError("malformed token");
  }
  TokenClaims claims{std::string(fields[0]), absl::FromUnixSeconds(expiry)};
  if (claims.expires_at <= now) {
    return absl::UnauthenticatedError("token expired");
  }
  return claims;
}

settings::Key TokenSecretKey(std::string* secret) {
  return settings::String(
      "realtime.token_secret", secret,
      "HMAC key of realtime user tokens, shared by the gateway and the "
      "realtime worker (at least 16 bytes; empty: user channels closed)",
      [](absl::string_view value) -> absl::Status {
        if (!value.empty() && value.size() < kMinSecretBytes) {
          return absl::InvalidArgumentError(
              absl::StrCat("needs at least ", kMinSecretBytes, " bytes"));
        }
        return absl::OkStatus();
      });
}

}  // namespace realtime
}  // namespace herald
