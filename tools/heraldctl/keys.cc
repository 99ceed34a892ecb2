#include "tools/heraldctl/keys.h"

#include <memory>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "database/database.h"
#include "gateway/auth/api_keys.h"
#include "gateway/auth/scopes.h"
#include "gateway/schema.h"

namespace herald {
namespace ctl {
namespace {

namespace auth = gateway::auth;

constexpr char kUsage[] =
    "usage: heraldctl keys create --name=<name> --scopes=<a,b,...> "
    "[--db=<gateway db url>]\n"
    "       heraldctl keys list [--db=...]\n"
    "       heraldctl keys revoke <name> [--db=...]\n";

std::string When(const std::optional<absl::Time>& time) {
  if (!time.has_value()) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *time, absl::UTCTimeZone());
}

}  // namespace

int RunKeys(const std::vector<std::string>& args, absl::string_view db_url,
            const KeysFlags& flags, std::ostream& out, std::ostream& err) {
  const std::string command = args.empty() ? "" : args[0];
  if (!((command == "create" && args.size() == 1) ||
        (command == "list" && args.size() == 1) ||
        (command == "revoke" && args.size() == 2))) {
    err << kUsage;
    return 2;
  }
  absl::StatusOr<auth::ScopeSet> scopes;
  if (command == "create") {
    if (flags.name.empty()) {
      err << "keys create: --name is required\n" << kUsage;
      return 2;
    }
    scopes = auth::ParseScopes(flags.scopes);
    if (!scopes.ok()) {
      err << "keys create: --scopes: " << scopes.status().message() << "\n";
      return 2;
    }
  }
  absl::StatusOr<std::unique_ptr<db::Database>> db = db::Database::Open(db_url);
  absl::Status s =
      db.ok() ? gateway::MigrateGatewayDatabase(**db) : db.status();
  if (!s.ok()) {
    err << "gateway database " << db_url << ": " << s.message() << "\n";
    return 1;
  }
  if (command == "create") {
    absl::StatusOr<std::string> secret =
        auth::CreateApiKey(**db, flags.name, *scopes);
    if (!secret.ok()) {
      err << "keys create: " << secret.status().message() << "\n";
      return 1;
    }
    out << "created API key '" << flags.name << "' with scopes "
        << scopes->ToString() << " in " << db_url << "\n"
        << "its secret, shown this once (the gateway stores only its "
           "SHA-256); send it as 'Authorization: Bearer <secret>':\n"
        << *secret << "\n";
    return 0;
  }
  if (command == "revoke") {
    s = auth::RevokeApiKey(**db, args[1]);
    if (!s.ok()) {
      err << "keys revoke: " << s.message() << "\n";
      return 1;
    }
    out << "revoked API key '" << args[1]
        << "': gateways refuse it within 5 seconds\n";
    return 0;
  }
  absl::StatusOr<std::vector<auth::ApiKeyInfo>> keys = auth::ListApiKeys(**db);
  if (!keys.ok()) {
    err << "keys list: " << keys.status().message() << "\n";
    return 1;
  }
  out << absl::StrFormat("%-24s %-21s %-21s %-21s %s\n", "NAME", "CREATED",
                         "LAST USED", "REVOKED", "SCOPES");
  for (const auth::ApiKeyInfo& key : *keys) {
    out << absl::StrFormat("%-24s %-21s %-21s %-21s %s\n", key.name,
                           When(key.created_at), When(key.last_used_at),
                           When(key.revoked_at), key.scopes.ToString());
  }
  return 0;
}

}  // namespace ctl
}  // namespace herald
