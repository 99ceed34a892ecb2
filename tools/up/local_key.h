// File: tools/up/local_key.h
//
// The API key `herald up` prints for local use: one key with every scope in
// the gateway's database, its secret kept in a file of the user's (mode
// 0600, e.g. .herald/api_key) so that a rerun reuses it instead of piling up
// keys. A new key is made, as `heraldctl keys create` makes one, when the
// file is missing or its key is not an active key of that database (a new
// database, a revoked key). The secret is written nowhere else.
//
// Example:
//
//   absl::StatusOr<LocalKey> key =
//       LocalApiKey("sqlite:herald.db", ".herald/api_key");
//   if (key.ok()) std::cout << key->secret;   // "hk_..."
#ifndef HERALD_TOOLS_UP_LOCAL_KEY_H_
#define HERALD_TOOLS_UP_LOCAL_KEY_H_

#include <string>

#include "absl/status/statusor.h"

namespace herald {
namespace up {

struct LocalKey {
  std::string name;  // "local-1", "local-2", ...
  std::string secret;
  bool created = false;  // false: the one in the file, reused
};

// Migrates the gateway database `db_url` first (as the gateway would).
absl::StatusOr<LocalKey> LocalApiKey(const std::string& db_url,
                                     const std::string& key_file);

}  // namespace up
}  // namespace herald

#endif  // HERALD_TOOLS_UP_LOCAL_KEY_H_
