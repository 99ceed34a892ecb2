// File: tools/heraldctl/keys.h
//
// `heraldctl keys`: the gateway's API keys, in the gateway's database
// (gateway/auth/api_keys.h). Migrates that database first, so a key can be
// made before the gateway ever started.
//
//   heraldctl keys create --db=<url> --name=billing --scopes=payments:write
//   heraldctl keys list --db=<url>       # names, scopes, times; no secrets
//   heraldctl keys revoke billing --db=<url>
//
// `create` prints the secret as the last line of its standard output, once:
//
//   export API_KEY=$(heraldctl keys create ... | tail -n1)
//
// Example:
//
//   int code = herald::ctl::RunKeys({"list"}, "sqlite:herald.db", {},
//                                   std::cout, std::cerr);
#ifndef HERALD_TOOLS_HERALDCTL_KEYS_H_
#define HERALD_TOOLS_HERALDCTL_KEYS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace herald {
namespace ctl {

struct KeysFlags {
  std::string name;    // create: --name
  std::string scopes;  // create: --scopes=a,b,...
};

// Runs `heraldctl keys <args>` (args[0] is create, list or revoke) against
// the database `db_url`. Returns the exit code: 0, 1 (it failed), 2 (a
// usage error).
int RunKeys(const std::vector<std::string>& args, absl::string_view db_url,
            const KeysFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace ctl
}  // namespace herald

#endif  // HERALD_TOOLS_HERALDCTL_KEYS_H_
