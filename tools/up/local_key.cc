#include "tools/up/local_key.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "database/database.h"
#include "gateway/auth/api_keys.h"
#include "gateway/auth/scopes.h"
#include "gateway/auth/secrets.h"
#include "gateway/schema.h"

namespace herald {
namespace up {
namespace {

namespace auth = gateway::auth;

std::string ReadSecret(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

// Written to a temporary file with mode 0600, then renamed over `path`.
absl::Status WriteSecret(const std::string& path, const std::string& secret) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  }
  const std::string temporary = absl::StrCat(path, ".new");
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", temporary, ": ", strerror(errno)));
  }
  const std::string line = absl::StrCat(secret, "\n");
  const bool written =
      write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!written || rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// The first "local-<n>" no key (revoked ones included) has taken.
absl::StatusOr<std::string> FreeName(db::Database& db) {
  absl::StatusOr<std::vector<auth::ApiKeyInfo>> keys = auth::ListApiKeys(db);
  if (!keys.ok()) return keys.status();
  std::set<std::string> taken;
  for (const auth::ApiKeyInfo& key : *keys) taken.insert(key.name);
  for (int n = 1;; ++n) {
    std::string name = absl::StrCat("local-", n);
    if (taken.count(name) == 0) return name;
  }
}

}  // namespace

absl::StatusOr<LocalKey> LocalApiKey(const std::string& db_url,
                                     const std::string& key_file) {
  absl::StatusOr<std::unique_ptr<db::Database>> db = db::Database::Open(db_url);
  if (!db.ok()) return db.status();
  absl::Status migrated = gateway::MigrateGatewayDatabase(**db);
  if (!migrated.ok()) return migrated;

  const std::string stored = ReadSecret(key_file);
  if (!stored.empty()) {
    absl::StatusOr<std::vector<auth::ActiveKey>> active =
        auth::ReadActiveKeys(**db);
    if (!active.ok()) return active.status();
    const std::string digest = auth::DigestOf(stored);
    for (const auth::ActiveKey& key : *active) {
      if (auth::SameDigest(key.digest, digest)) {
        return LocalKey{key.name, stored, /*created=*/false};
      }
    }
  }
  absl::StatusOr<std::string> name = FreeName(**db);
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> secret =
      auth::CreateApiKey(**db, *name, auth::ScopeSet::All());
  if (!secret.ok()) return secret.status();
  absl::Status written = WriteSecret(key_file, *secret);
  if (!written.ok()) return written;
  return LocalKey{*name, *secret, /*created=*/true};
}

}  // namespace up
}  // namespace herald
