#include "messaging/inbox/inbox.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "database/delete_in_slices.h"

namespace herald {
namespace inbox {

std::vector<db::Migration> InboxMigrations() {
  const char* sql =
      "CREATE TABLE inbox ("
      " consumer TEXT NOT NULL, event_id TEXT NOT NULL,"
      " handled_at BIGINT NOT NULL, PRIMARY KEY (consumer, event_id))";
  const char* by_age = "CREATE INDEX inbox_handled ON inbox(handled_at)";
  return {{1, "inbox", sql, sql},
          {2, "inbox claims by age (pruning)", by_age, by_age}};
}

std::string IdentityOf(const Metadata& metadata) {
  if (!metadata.event_id.empty()) return std::string(metadata.event_id);
  return absl::StrCat("kafka:", metadata.topic, "/", metadata.partition, "@",
                      metadata.offset);
}

absl::StatusOr<bool> Claim(db::Transaction& tx, absl::string_view consumer,
                           absl::string_view event_id) {
  if (event_id.empty()) {
    return absl::InvalidArgumentError(
        "event has no ce_id header: cannot be deduplicated");
  }
  // ON CONFLICT keeps the transaction usable (a failed INSERT would abort a
  // PostgreSQL transaction).
  absl::StatusOr<int64_t> inserted = tx.Execute(
      "INSERT INTO inbox(consumer, event_id, handled_at) VALUES (?, ?, ?)"
      " ON CONFLICT DO NOTHING",
      {std::string(consumer), std::string(event_id),
       absl::ToUnixMillis(absl::Now())});
  if (!inserted.ok()) return inserted.status();
  return *inserted == 1;
}

absl::StatusOr<int64_t> Prune(db::Database& db, absl::Time cutoff) {
  return db::DeleteInSlices(
      db,
      "DELETE FROM inbox WHERE (consumer, event_id) IN"
      " (SELECT consumer, event_id FROM inbox WHERE handled_at < ? LIMIT ?)",
      {absl::ToUnixMillis(cutoff)});
}

}  // namespace inbox
}  // namespace herald
