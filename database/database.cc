#include "database/database.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/dependency_outage.h"
#include "base/redact.h"
#include "database/postgres_database.h"
#include "database/sqlite_database.h"

namespace herald {
namespace db {

namespace {
constexpr char kCommitUnknownPayload[] = "herald.dev/commit-outcome-unknown";
}  // namespace

bool IsCommitOutcomeUnknown(const absl::Status& status) {
  return status.GetPayload(kCommitUnknownPayload).has_value();
}

absl::Status CommitOutcomeUnknown(absl::Status cause) {
  absl::Status status = DependencyOutage(absl::UnavailableError(
      absl::StrCat("the connection broke during COMMIT; the transaction may "
                   "or may not have committed: ",
                   cause.message())));
  status.SetPayload(kCommitUnknownPayload, absl::Cord("1"));
  return status;
}

bool Row::IsNull(size_t column) const {
  return std::holds_alternative<std::nullptr_t>(values_.at(column));
}

int64_t Row::Int(size_t column) const {
  const Value& v = values_.at(column);
  if (const int64_t* n = std::get_if<int64_t>(&v)) return *n;
  if (const double* d = std::get_if<double>(&v))
    return static_cast<int64_t>(*d);
  if (const std::string* s = std::get_if<std::string>(&v)) {
    return std::strtoll(s->c_str(), nullptr, 10);
  }
  return 0;
}

std::string Row::String(size_t column) const {
  const Value& v = values_.at(column);
  if (const std::string* s = std::get_if<std::string>(&v)) return *s;
  if (const Bytes* b = std::get_if<Bytes>(&v)) return b->data;
  if (const int64_t* n = std::get_if<int64_t>(&v)) return absl::StrCat(*n);
  if (const double* d = std::get_if<double>(&v)) return absl::StrCat(*d);
  return "";
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    absl::string_view url) {
  if (absl::StartsWith(url, "sqlite:")) return OpenSqlite(url);
  if (absl::StartsWith(url, "postgresql://") ||
      absl::StartsWith(url, "postgres://")) {
    return OpenPostgres(url);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("database URL '", RedactUrl(url),
                   "' is neither sqlite:PATH nor postgresql://..."));
}

}  // namespace db
}  // namespace herald
