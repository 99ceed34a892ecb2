// File: messaging/inbox/inbox.h
//
// The inbox makes a consumer's effects happen once per event: the handler
// claims the event's identity in the same database transaction as its
// effects. A redelivered event finds its claim and changes nothing.
//
// An event's identity is its `ce_id`. A record from a producer that sends no
// CloudEvents headers has none; its identity is then where it was written,
// `kafka:<topic>/<partition>@<offset>`, which every redelivery of that
// record shares (a copy written again elsewhere, e.g. replayed from a
// dead-letter topic, is a new event to the inbox).
//
// Example:
//
//   db.Transact([&](herald::db::Transaction& tx) -> absl::Status {
//     absl::StatusOr<bool> first =
//         herald::inbox::Claim(tx, "crm", herald::inbox::IdentityOf(meta));
//     if (!first.ok()) return first.status();
//     if (!*first) return absl::OkStatus();  // already handled
//     ... effects ...
//   });
#ifndef HERALD_MESSAGING_INBOX_INBOX_H_
#define HERALD_MESSAGING_INBOX_INBOX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "database/database.h"
#include "database/migrations.h"
#include "messaging/metadata.h"

namespace herald {
namespace inbox {

// The schema: db::Migrate(db, "inbox", InboxMigrations()).
std::vector<db::Migration> InboxMigrations();

// The inbox identity of the event behind `metadata` (see above).
std::string IdentityOf(const Metadata& metadata);

// Records that `consumer` handled `event_id`; true the first time, false
// when it was already recorded. An empty event id is InvalidArgument (the
// event cannot be deduplicated).
absl::StatusOr<bool> Claim(db::Transaction& tx, absl::string_view consumer,
                           absl::string_view event_id);

// Deletes claims older than `cutoff` (a redelivery after that long is not
// expected); returns how many.
absl::StatusOr<int64_t> Prune(db::Database& db, absl::Time cutoff);

}  // namespace inbox
}  // namespace herald

#endif  // HERALD_MESSAGING_INBOX_INBOX_H_
