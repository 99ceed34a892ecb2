#include "messaging/chaos/member.h"

#include <glog/logging.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "contracts/v1/payments.pb.h"
#include "database/migrations.h"
#include "messaging/inbox/exactly_once.h"
#include "messaging/inbox/inbox.h"
#include "messaging/retry.h"

namespace herald {
namespace chaos {

using contracts::v1::PaymentCreated;

absl::Status CreateSchema(db::Database& db) {
  absl::Status inbox = db::Migrate(db, "inbox", inbox::InboxMigrations());
  if (!inbox.ok()) return inbox;
  const char* sql =
      "CREATE TABLE chaos_effects ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT NOT NULL,"
      " key_index INTEGER NOT NULL, seq INTEGER NOT NULL,"
      " kafka_partition INTEGER NOT NULL, kafka_offset INTEGER NOT NULL,"
      " member TEXT NOT NULL, handled_at INTEGER NOT NULL)";
  return db::Migrate(db, "chaos", {{1, "chaos effects", sql, sql}});
}

Config MemberConfig(const MemberOptions& options) {
  const ChaosParams& p = options.params;
  Config config;
  config.service = absl::StrCat("chaos-", options.name);
  config.client_id = config.service;
  config.brokers = options.brokers;
  ConsumerConfig& c = config.consumer;
  c.group_id = options.group;
  // The mock cluster waits session.timeout.ms - 1 s for members to rejoin.
  c.session_timeout_ms = 3000;
  c.heartbeat_interval_ms = 500;
  c.commit_interval_ms = 100;
  c.fetch_wait_max_ms = 10;
  c.retry.initial_backoff = absl::Milliseconds(20);
  c.retry.max_backoff = absl::Milliseconds(200);
  c.retry.max_attempts = p.max_attempts;
  c.ordering = p.ordering;
  c.concurrency = p.concurrency;
  c.max_in_flight = p.max_in_flight;
  config.producer.linger_ms = 1;
  return config;
}

ChaosMember::ChaosMember(const MemberOptions& options) : options_(options) {}

ChaosMember::~ChaosMember() {
  // Handlers use everything below: the consumer goes first.
  consumer_.reset();
  db_.reset();
}

absl::StatusOr<std::unique_ptr<ChaosMember>> ChaosMember::Create(
    const MemberOptions& options) {
  std::unique_ptr<ChaosMember> member(new ChaosMember(options));
  absl::StatusOr<std::unique_ptr<db::Database>> db =
      db::Database::Open(options.db_url);
  if (!db.ok()) return db.status();
  member->db_ = *std::move(db);
  absl::StatusOr<std::unique_ptr<Consumer>> consumer =
      Consumer::Create(MemberConfig(options));
  if (!consumer.ok()) return consumer.status();
  member->consumer_ = *std::move(consumer);
  absl::Status subscribed = member->Subscribe();
  if (!subscribed.ok()) return subscribed;
  return member;
}

absl::Status ChaosMember::Subscribe() {
  inbox::Effect<PaymentCreated> effect =
      [this](db::Transaction& tx, const PaymentCreated& event,
             const Metadata& metadata) -> absl::Status {
    std::optional<RecordId> id =
        ParseRecord(event.payment_id(), event.amount());
    if (!id.has_value()) {
      return Permanent(absl::InvalidArgumentError("not a chaos record"));
    }
    return Apply(tx, *id, metadata.partition, metadata.offset);
  };
  if (!options_.params.batch) {
    Handler<PaymentCreated> inner =
        inbox::ExactlyOnceEach<PaymentCreated>(*db_, kInboxName, effect);
    return consumer_->Subscribe<PaymentCreated>(
        kTopic, [this, inner = std::move(inner)](const PaymentCreated& event,
                                                 const Metadata& metadata) {
          std::optional<RecordId> id =
              ParseRecord(event.payment_id(), event.amount());
          if (id.has_value()) Pause(*id);
          absl::Status status = inner(event, metadata);
          if (id.has_value()) EndCall({*id}, status);
          return status;
        });
  }
  BatchHandler<PaymentCreated> inner =
      inbox::ExactlyOnce<PaymentCreated>(*db_, kInboxName, effect);
  BatchOptions batch;
  batch.max_size = options_.params.batch_size;
  batch.max_wait = absl::Milliseconds(options_.params.batch_wait_ms);
  return consumer_->SubscribeBatch<PaymentCreated>(
      batch, [this, inner = std::move(inner)](
                 const std::vector<Received<PaymentCreated>>& records) {
        std::vector<RecordId> ids;
        for (const Received<PaymentCreated>& r : records) {
          std::optional<RecordId> id =
              ParseRecord(r.event->payment_id(), r.event->amount());
          if (id.has_value()) ids.push_back(*id);
        }
        if (!ids.empty()) Pause(ids.front());
        absl::Status status = inner(records);
        EndCall(ids, status);
        return status;
      });
}

absl::Status ChaosMember::Apply(db::Transaction& tx, const RecordId& id,
                                int32_t partition, int64_t offset) {
  const std::string name = id.Name();
  int attempt = 1;
  {
    absl::MutexLock lock(&mu_);
    auto it = attempts_.find(name);
    if (it != attempts_.end()) attempt = it->second + 1;
    reached_.insert(name);
  }
  absl::Status inserted =
      tx.Execute(
            "INSERT INTO chaos_effects(record, key_index, seq,"
            " kafka_partition, kafka_offset, member, handled_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            {name, static_cast<int64_t>(id.key), id.seq,
             static_cast<int64_t>(partition), offset, options_.name,
             absl::ToUnixMillis(absl::Now())})
          .status();
  if (!inserted.ok()) return inserted;
  switch (FaultFor(options_.params, id, attempt)) {
    case Fault::kNone:
      return absl::OkStatus();
    case Fault::kTransient:
      return absl::UnavailableError(
          absl::StrCat(kPlannedFailure, " transient failure of ", name,
                       " (attempt ", attempt, " on ", options_.name, ")"));
    case Fault::kPermanent:
      return Permanent(absl::FailedPreconditionError(
          absl::StrCat(kPlannedFailure, " permanent failure of ", name,
                       " (attempt ", attempt, " on ", options_.name, ")")));
  }
  return absl::OkStatus();
}

void ChaosMember::EndCall(const std::vector<RecordId>& ids,
                          const absl::Status& status) {
  // An outage uses no attempt (the consumer does not count it either).
  const bool outage = IsDependencyOutage(status);
  absl::MutexLock lock(&mu_);
  for (const RecordId& id : ids) {
    const std::string name = id.Name();
    if (reached_.erase(name) > 0 && !outage) ++attempts_[name];
  }
}

void ChaosMember::Pause(const RecordId& id) {
  int us = HandlerDelayUs(options_.params, id, 0);
  if (us > 0) absl::SleepFor(absl::Microseconds(us));
}

absl::Status ChaosMember::Run() { return consumer_->Run(); }

void ChaosMember::Stop() { consumer_->Stop(); }

}  // namespace chaos
}  // namespace herald
