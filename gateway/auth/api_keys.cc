#include "gateway/auth/api_keys.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/auth/secrets.h"

namespace herald {
namespace gateway {
namespace auth {
namespace {

absl::Status CheckName(absl::string_view name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(
        "a key's name has 1 to 64 characters of [A-Za-z0-9._-]");
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("a key's name has 1 to 64 characters of "
                       "[A-Za-z0-9._-], not '",
                       name, "'"));
    }
  }
  return absl::OkStatus();
}

std::optional<absl::Time> TimeOrNull(const db::Row& row, size_t column) {
  if (row.IsNull(column)) return std::nullopt;
  return absl::FromUnixMillis(row.Int(column));
}

}  // namespace

db::Migration ApiKeysTableMigration(int version) {
  const std::string sql =
      "CREATE TABLE api_keys ("
      " name TEXT PRIMARY KEY, secret_sha256 TEXT NOT NULL UNIQUE,"
      " scopes TEXT NOT NULL, created_at BIGINT NOT NULL,"
      " last_used_at BIGINT, revoked_at BIGINT)";
  return {version, "API keys", sql, sql};
}

absl::StatusOr<std::string> CreateApiKey(db::Database& db,
                                         absl::string_view name,
                                         ScopeSet scopes) {
  absl::Status s = CheckName(name);
  if (!s.ok()) return s;
  if (scopes.empty()) return absl::InvalidArgumentError("a key needs a scope");
  absl::StatusOr<std::string> secret = NewSecret();
  if (!secret.ok()) return secret.status();
  s = db.Transact([&](db::Transaction& tx) {
    return tx
        .Execute(
            "INSERT INTO api_keys(name, secret_sha256, scopes, created_at)"
            " VALUES (?, ?, ?, ?)",
            {std::string(name), DigestOf(*secret), scopes.ToString(),
             absl::ToUnixMillis(absl::Now())})
        .status();
  });
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(
        absl::StrCat("a key named '", name,
                     "' exists (or existed: names of revoked keys are not "
                     "reused); choose another name"));
  }
  if (!s.ok()) return s;
  return secret;
}

absl::StatusOr<std::vector<ApiKeyInfo>> ListApiKeys(db::Database& db) {
  absl::StatusOr<std::vector<db::Row>> rows =
      db.ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
        return tx.Query(
            "SELECT name, scopes, created_at, last_used_at, revoked_at"
            " FROM api_keys ORDER BY name");
      });
  if (!rows.ok()) return rows.status();
  std::vector<ApiKeyInfo> keys;
  for (const db::Row& row : *rows) {
    ApiKeyInfo key;
    key.name = row.String(0);
    // Scopes a newer version wrote and this one does not know are dropped.
    key.scopes = ParseScopes(row.String(1)).value_or(ScopeSet());
    key.created_at = absl::FromUnixMillis(row.Int(2));
    key.last_used_at = TimeOrNull(row, 3);
    key.revoked_at = TimeOrNull(row, 4);
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::Status RevokeApiKey(db::Database& db, absl::string_view name) {
  int64_t found = 0;
  absl::Status s = db.Transact([&](db::Transaction& tx) {
    absl::StatusOr<std::vector<db::Row>> rows = tx.Query(
        "SELECT revoked_at FROM api_keys WHERE name = ?", {std::string(name)});
    if (!rows.ok()) return rows.status();
    found = static_cast<int64_t>(rows->size());
    if (found == 0 || !(*rows)[0].IsNull(0)) return absl::OkStatus();
    return tx
        .Execute("UPDATE api_keys SET revoked_at = ? WHERE name = ?",
                 {absl::ToUnixMillis(absl::Now()), std::string(name)})
        .status();
  });
  if (!s.ok()) return s;
  if (found == 0) {
    return absl::NotFoundError(absl::StrCat("no key named '", name, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ActiveKey>> ReadActiveKeys(db::Database& db) {
  absl::StatusOr<std::vector<db::Row>> rows =
      db.ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
        return tx.Query(
            "SELECT name, secret_sha256, scopes, last_used_at FROM api_keys"
            " WHERE revoked_at IS NULL");
      });
  if (!rows.ok()) return rows.status();
  std::vector<ActiveKey> keys;
  for (const db::Row& row : *rows) {
    ActiveKey key;
    key.name = row.String(0);
    key.digest = row.String(1);
    key.scopes = ParseScopes(row.String(2)).value_or(ScopeSet());
    if (!row.IsNull(3)) key.last_used_at = absl::FromUnixMillis(row.Int(3));
    keys.push_back(std::move(key));
  }
  return keys;
}

absl::Status RecordLastUse(db::Database& db, absl::string_view name,
                           absl::Time when) {
  const int64_t ms = absl::ToUnixMillis(when);
  return db.Transact([&](db::Transaction& tx) {
    return tx
        .Execute(
            "UPDATE api_keys SET last_used_at = ? WHERE name = ?"
            " AND (last_used_at IS NULL OR last_used_at < ?)",
            {ms, std::string(name), ms})
        .status();
  });
}

}  // namespace auth
}  // namespace gateway
}  // namespace herald
