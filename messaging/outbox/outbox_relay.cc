#include "messaging/outbox/outbox_relay.h"

#include <glog/logging.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "database/file_lock.h"
#include "messaging/outbox/commit_notices.h"
#include "messaging/outbox/outbox_leases.h"
#include "messaging/outbox/outbox_store.h"
#include "messaging/producer.h"

namespace herald {
namespace outbox {

class OutboxRelay::Impl {
 public:
  Impl(db::Database& db, const Config& config, RelayOptions options)
      : db_(db),
        config_(config),
        options_(options),
        track_position_(db.dialect() == db::Dialect::kSqlite),
        sharded_(db.dialect() == db::Dialect::kPostgres &&
                 options.shard_leases) {
    // Never expire a message: while Kafka is away rows wait, in order.
    config_.producer.delivery_timeout_ms = 0;
    // Undelivered rows stay pending in the table: no need to wait long.
    config_.producer.close_timeout_ms = 1000;
    // A backlog waits for the broker's return: look for it every second,
    // not every 10 s (librdkafka's default once reconnects keep failing),
    // unless kafka.properties says otherwise.
    config_.kafka_properties.emplace("reconnect.backoff.max.ms", "1000");
  }

  ~Impl() { Stop(); }

  absl::Status Start() {
    if (!db_.file_path().empty()) {
      // SQLite: one relay per file (see outbox_relay.h).
      const std::string path = absl::StrCat(db_.file_path(), ".relay.lock");
      absl::StatusOr<std::unique_ptr<db::FileLock>> lock =
          db::FileLock::TryAcquire(path);
      if (!lock.ok()) {
        if (!absl::IsFailedPrecondition(lock.status())) return lock.status();
        return absl::FailedPreconditionError(absl::StrCat(
            "another process (a gateway) already runs the outbox relay of "
            "the SQLite database ",
            db_.file_path(), " (it holds ", path,
            "): a SQLite database serves one gateway; give each its own "
            "`db` file, or set `db` to a postgresql:// URL to run several"));
      }
      file_lock_ = *std::move(lock);
    }
    absl::StatusOr<int64_t> through = ReadPublishedThrough(db_);
    if (!through.ok()) return through.status();
    if (sharded_) {
      leases_ = std::make_unique<ShardLeases>(db_, NewRelayOwnerName(),
                                              options_.lease);
      LeaseRoundNow();  // hold shards from the start, if there are free ones
      announcer_ = std::make_unique<CommitAnnouncer>(db_);
      absl::StatusOr<std::unique_ptr<db::Listening>> listening = db_.Listen(
          kCommitNoticeChannel,
          [this](absl::string_view payload) { OnCommitNotice(payload); });
      if (listening.ok()) {
        listening_ = *std::move(listening);
      } else {
        LOG(WARNING) << "outbox relay: no wake-ups from other gateways ("
                     << listening.status() << "); polling every "
                     << options_.idle_poll;
      }
    }
    through_ = *through;
    highest_published_ = through_;
    absl::Status s = NewProducer();
    if (!s.ok()) return s;
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  void Notify() {
    absl::MutexLock lock(&mu_);
    wake_ = true;
    notified_ = true;
  }

  void Handoff(const RowPosition& position, OutboxRow outbox_row) {
    if (sharded_ && position.seq > 0 &&
        (active_mask_.load() & (uint64_t{1} << position.shard)) == 0) {
      // Another gateway's relay holds the shard (or none does yet): tell
      // it, after the commit (commit_notices.h).
      announcer_->Announce(position.shard, position.seq);
      return;
    }
    absl::MutexLock lock(&mu_);
    wake_ = true;
    if (handoffs_.size() >= kMaxHandoffs) {
      handoff_dropped_ = true;  // the scan will find it
      return;
    }
    PendingRow row;
    row.id = position.id;
    row.shard = position.shard;
    row.seq = position.seq;
    row.row = std::move(outbox_row);
    handoffs_.push_back(std::move(row));
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      stop_ = true;
    }
    listening_.reset();
    if (thread_.joinable()) thread_.join();
    // Give deliveries in progress a moment, then record what arrived.
    if (producer_ != nullptr) {
      producer_->Flush(absl::Seconds(1)).IgnoreError();
      producer_.reset();
    }
    FlushDelivered(/*final=*/true);
    file_lock_.reset();  // another relay may take over the file now
    if (leases_ != nullptr && release_on_stop_) {
      // The others take over at once instead of after the lease.
      absl::Status s = leases_->ReleaseAll();
      if (!s.ok()) LOG(WARNING) << "outbox relay: releasing leases: " << s;
    }
  }

  void StopWithoutReleasing() {
    release_on_stop_ = false;
    Stop();
  }

  void InjectFatalError() {
    absl::MutexLock lock(&mu_);
    inject_fatal_ = true;
    wake_ = true;
  }

  RelayStats Stats() const {
    RelayStats stats;
    stats.published = published_.load();
    stats.publish_failures = failures_.load();
    stats.producer_restarts = restarts_.load();
    stats.handed_off = handed_off_.load();
    stats.in_flight = in_flight_count_.load();
    stats.shards_held = shards_held_.load();
    absl::MutexLock lock(&mu_);
    stats.kafka_reachable = reachable_;
    return stats;
  }

 private:
  absl::Status NewProducer() {
    absl::StatusOr<std::unique_ptr<Producer>> producer =
        Producer::Create(config_);
    if (!producer.ok()) return producer.status();
    producer_ = *std::move(producer);
    return absl::OkStatus();
  }

  void Loop() {
    absl::Time last_prune = absl::InfinitePast();
    absl::Time last_rescan = absl::InfinitePast();
    int64_t cursor = 0;
    // SQLite: until a scan has caught up (PostgreSQL: per shard, in
    // ShardState::needs_scan).
    bool accept_handoffs = false;
    bool notified = false;
    absl::Time last_scan = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
        reachable_ = producer_->BrokersReachable();
        if (inject_fatal_) {
          inject_fatal_ = false;
          producer_->TriggerFatalErrorForTesting("injected by a test");
          absl::SleepFor(absl::Milliseconds(50));  // error_cb runs async
        }
      }
      if (!producer_->FatalError().ok()) {
        LOG(WARNING) << "outbox relay: recreating the producer after: "
                     << producer_->FatalError();
        producer_.reset();  // cancels its in-flight rows: sent again below
        FlushDelivered(/*final=*/true);
        in_flight_.clear();
        in_flight_count_ = 0;
        in_flight_per_shard_.fill(0);
        for (auto& entry : shards_) {
          entry.second.cursor = 0;
          entry.second.needs_scan = true;
        }
        undelivered_.clear();
        highest_published_ = through_;
        cursor = 0;
        accept_handoffs = false;  // publish the backlog in order first
        restarts_++;
        absl::Status s = NewProducer();
        if (!s.ok()) LOG(ERROR) << "outbox relay: " << s;
        continue;
      }

      bool worked = FlushDelivered(/*final=*/false);
      if (sharded_ && absl::Now() >= next_round_) LeaseRoundNow();

      int64_t room =
          options_.max_in_flight - static_cast<int64_t>(in_flight_.size());
      std::vector<PendingRow> handed;
      std::vector<std::pair<int, int64_t>> notices;
      {
        absl::MutexLock lock(&mu_);
        handed.swap(handoffs_);
        if (handoff_dropped_) {
          accept_handoffs = false;
          for (auto& entry : shards_) entry.second.needs_scan = true;
        }
        handoff_dropped_ = false;
        notified = notified_;
        notified_ = false;
        notices.swap(notices_);
      }
      // Rows committed elsewhere (NOTIFY) in shards we hold: scan those
      // shards, unless a handoff or a scan has already taken the rows.
      std::vector<int> noticed;
      for (const auto& [shard, seq] : notices) {
        ShardState* state = ActiveShard(shard);
        if (state != nullptr && seq > state->cursor &&
            std::find(noticed.begin(), noticed.end(), shard) == noticed.end()) {
          noticed.push_back(shard);
        }
      }
      notices.clear();
      // Writers on several threads hand over rows of one shard in any
      // order: in number order, they follow each other.
      if (sharded_) {
        std::sort(handed.begin(), handed.end(),
                  [](const PendingRow& a, const PendingRow& b) {
                    return std::tie(a.shard, a.seq) < std::tie(b.shard, b.seq);
                  });
      }
      // Rows handed over by their writer, published without reading them
      // back: only the row right after the cursor, so that no older row can
      // still be waiting in the table. On PostgreSQL that is the next number
      // of its shard (numbers are gapless; see outbox_store.h); a row not
      // taken stays pending, and its shard alone is read next. On SQLite,
      // where ids are consecutive in commit order, only while the scans
      // below have caught up; a row not taken waits for the next scan, and
      // later handoffs until that scan has caught up.
      for (PendingRow& row : handed) {
        if (sharded_) {
          // The row right after the shard's cursor is the next one of its
          // shard (numbers are gapless; see outbox_store.h).
          ShardState* shard = ActiveShard(row.shard);
          if (shard == nullptr) {
            // We lost or are giving back the shard since Handoff looked.
            if (row.seq > 0) announcer_->Announce(row.shard, row.seq);
            continue;
          }
          if (row.seq <= shard->cursor) continue;
          if (room <= 0 || row.seq != shard->cursor + 1) {
            shard->needs_scan = true;  // the row waits in the table
            continue;
          }
          shard->cursor = row.seq;
          if (!Publish(row)) continue;
          --room;
          worked = true;
          handed_off_++;
          continue;
        }
        if (row.id <= cursor) continue;  // a scan has seen it
        if (!accept_handoffs || room <= 0 || row.id != cursor + 1) {
          accept_handoffs = false;
          continue;
        }
        cursor = row.id;
        if (!Publish(row)) continue;
        --room;
        worked = true;
        handed_off_++;
      }
      // While rows arrive by handoff, the table is read only when asked
      // (Notify), for the shards that need it (a refused handoff, a notice,
      // a new shard, more pending than a scan takes), and every idle_poll:
      // reading it on every wake-up would mostly race the handoffs to their
      // rows.
      const absl::Time now = absl::Now();
      const bool every_shard =
          notified || now - last_scan >= options_.idle_poll;
      if (sharded_ && room > 0) {
        std::vector<int> shards = std::move(noticed);
        for (const auto& [shard, state] : shards_) {
          if (state.needs_scan && ActiveShard(shard) != nullptr &&
              std::find(shards.begin(), shards.end(), shard) == shards.end()) {
            shards.push_back(shard);
          }
        }
        if (every_shard || !shards.empty()) {
          if (every_shard) last_scan = now;
          absl::Status scanned = ScanShards(
              static_cast<int>(std::min<int64_t>(room, options_.batch_size)),
              &worked, every_shard ? nullptr : &shards);
          if (!scanned.ok()) {
            LOG_EVERY_N(WARNING, 20) << "outbox relay: " << scanned;
            backoff = std::min(absl::Seconds(5),
                               std::max(absl::Milliseconds(50), backoff * 2));
          } else {
            backoff = absl::ZeroDuration();
          }
        }
      }
      // By id: SQLite, and main's relay (RelayOptions::shard_leases false).
      // (Shards need no rescan: a shard's cursor never passes a row it has
      // not published.)
      const bool rescan = !sharded_ && now - last_rescan > absl::Seconds(1);
      const bool scan = rescan || every_shard || !accept_handoffs;
      if (!sharded_ && room > 0 && scan) {
        last_scan = now;
        // Scan from the start now and then: with PostgreSQL a lower id can
        // commit after a higher one.
        if (rescan) last_rescan = now;
        const int limit =
            static_cast<int>(std::min<int64_t>(room, options_.batch_size));
        absl::StatusOr<std::vector<PendingRow>> rows =
            FetchPending(db_, rescan ? 0 : cursor, limit);
        // Caught up: nothing past the cursor is waiting in the table.
        if (rows.ok() && !rescan && static_cast<int>(rows->size()) < limit) {
          accept_handoffs = true;
        }
        if (!rows.ok()) {
          LOG_EVERY_N(WARNING, 20) << "outbox relay: " << rows.status();
          backoff = std::min(absl::Seconds(5),
                             std::max(absl::Milliseconds(50), backoff * 2));
        } else {
          backoff = absl::ZeroDuration();
          for (PendingRow& row : *rows) {
            cursor = std::max(cursor, row.id);
            if (Publish(row)) worked = true;
          }
        }
      }

      // Several relays: the holder of shard 0 prunes for all.
      if (absl::Now() - last_prune > options_.prune_every &&
          (!sharded_ || ActiveShard(0) != nullptr)) {
        last_prune = absl::Now();
        absl::StatusOr<int64_t> pruned =
            PrunePublished(db_, absl::Now() - options_.retention);
        if (pruned.ok() && *pruned > 0) {
          VLOG(1) << "outbox relay: pruned " << *pruned << " published rows";
        }
      }

      if (!worked) {
        absl::MutexLock lock(&mu_);
        absl::Duration wait = std::max(backoff, options_.idle_poll);
        if (sharded_) wait = std::min(wait, next_round_ - absl::Now());
        mu_.AwaitWithTimeout(absl::Condition(this, &Impl::Woken), wait);
        wake_ = false;
      } else if (backoff > absl::ZeroDuration()) {
        absl::SleepFor(backoff);
      }
    }
  }

  // Publishes `row` unless it is already in flight; says whether it did.
  bool Publish(PendingRow& row) {
    if (in_flight_.contains(row.id)) return false;
    // The stored headers, viewed in place: librdkafka copies them.
    headers_.clear();
    absl::Status s =
        VisitHeaders(row.row.headers(), row.row.event_id(),
                     [this](absl::string_view name, absl::string_view value) {
                       headers_.emplace_back(name, value);
                     });
    if (!s.ok()) {  // FetchPending checked it; a handoff was encoded here
      LOG(DFATAL) << "outbox relay: row " << row.id << ": " << s;
      return false;
    }
    in_flight_.emplace(row.id, row.shard);
    in_flight_per_shard_[row.shard]++;
    in_flight_count_ = static_cast<int64_t>(in_flight_.size());
    undelivered_.insert(row.id);
    highest_published_ = std::max(highest_published_, row.id);
    RecordView record;
    record.topic = row.row.topic();
    record.key = row.row.key();
    record.value = row.row.value();
    record.event_id = row.row.event_id();
    record.headers = headers_;
    int64_t id = row.id;
    producer_->Publish(record, [this, id](const DeliveryResult& result) {
      OnDelivery(id, result);
    });
    return true;
  }

  // A NOTIFY from a writer, on the listening thread (commit_notices.h).
  void OnCommitNotice(absl::string_view payload) {
    const uint64_t held = held_mask_.load();
    bool ours = false;
    absl::MutexLock lock(&mu_);
    for (const CommitNotice& notice : ParseCommitNotices(payload)) {
      if ((held & (uint64_t{1} << notice.shard)) == 0) continue;
      ours = true;
      if (notices_.size() < kMaxHandoffs) {
        notices_.emplace_back(notice.shard, notice.seq);
      }
    }
    if (ours) wake_ = true;
  }

  void ForgetInFlight(int64_t id) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) return;
    in_flight_per_shard_[it->second]--;
    in_flight_.erase(it);
  }

  // PostgreSQL: a shard we hold and publish (not one we are giving back),
  // while our leases are valid; nullptr otherwise.
  struct ShardState {
    int64_t cursor = 0;  // every row of the shard up to it was seen
    bool draining = false;
    // Rows past the cursor may be waiting in the table: read the shard.
    bool needs_scan = true;
  };
  ShardState* ActiveShard(int shard) {
    if (absl::Now() >= valid_until_) return nullptr;
    auto it = shards_.find(shard);
    if (it == shards_.end() || it->second.draining) return nullptr;
    return &it->second;
  }

  // One lease round (outbox_leases.h): gives back drained shards, forgets
  // lost ones, starts new ones from their first pending row, and drains the
  // surplus over the fair share. A new shard, or one active again after
  // draining, is read before its handoffs are trusted.
  void LeaseRoundNow() {
    next_round_ = absl::Now() + options_.lease / 4;
    std::vector<int> give_back;
    for (const auto& [shard, state] : shards_) {
      if (state.draining && in_flight_per_shard_[shard] == 0) {
        give_back.push_back(shard);
      }
    }
    absl::StatusOr<LeaseRound> round = leases_->Round(give_back);
    if (!round.ok()) {
      LOG_EVERY_N(WARNING, 10)
          << "outbox relay: lease round: " << round.status();
      return;
    }
    valid_until_ = round->valid_until;
    absl::btree_map<int, ShardState> next;
    bool gained = false;
    for (int shard : round->held) {
      auto it = shards_.find(shard);
      if (it != shards_.end()) {
        next.emplace(shard, it->second);
      } else {
        next.emplace(shard, ShardState());
        gained = true;
      }
    }
    int surplus = static_cast<int>(next.size()) - round->fair_share;
    for (auto it = next.rbegin(); it != next.rend(); ++it) {
      const bool was_draining = it->second.draining;
      it->second.draining = surplus-- > 0;
      // While it drained, its rows stayed in the table.
      if (was_draining && !it->second.draining) it->second.needs_scan = true;
    }
    if (gained || next.size() != shards_.size()) {
      VLOG(1) << "outbox relay " << leases_->owner() << ": holds "
              << next.size() << " shards of " << kOutboxShards << " ("
              << round->live_relays << " relays live)";
    }
    shards_ = std::move(next);
    shards_held_ = static_cast<int>(shards_.size());
    uint64_t mask = 0, active = 0;
    for (const auto& [shard, state] : shards_) {
      mask |= uint64_t{1} << shard;
      if (!state.draining) active |= uint64_t{1} << shard;
    }
    held_mask_ = mask;
    active_mask_ = active;
  }

  // Reads and publishes the pending rows of the active shards (of `only`,
  // when given), each after its cursor; a shard with nothing pending past
  // them has caught up (its cursor moves to its last number), one with more
  // needs another scan.
  absl::Status ScanShards(int per_shard_limit, bool* worked,
                          const std::vector<int>* only = nullptr) {
    std::vector<ShardCursor> cursors;
    for (const auto& [shard, state] : shards_) {
      if (ActiveShard(shard) == nullptr) continue;
      if (only != nullptr &&
          std::find(only->begin(), only->end(), shard) == only->end()) {
        continue;
      }
      cursors.push_back({shard, state.cursor});
    }
    if (cursors.empty()) return absl::OkStatus();
    absl::StatusOr<ShardScan> scan =
        FetchPendingInShards(db_, cursors, per_shard_limit);
    if (!scan.ok()) return scan.status();
    absl::flat_hash_map<int, int> found;
    for (PendingRow& row : scan->rows) {
      found[row.shard]++;
      ShardState* shard = ActiveShard(row.shard);
      if (shard == nullptr) continue;
      shard->cursor = std::max(shard->cursor, row.seq);
      if (Publish(row)) *worked = true;
    }
    for (const auto& [shard, last_seq] : scan->last_seq) {
      ShardState* state = ActiveShard(shard);
      if (state == nullptr) continue;
      if (found[shard] < per_shard_limit) {
        // Every row of the shard up to last_seq is published or was found.
        state->cursor = std::max(state->cursor, last_seq);
        state->needs_scan = false;
      } else {
        state->needs_scan = true;
      }
    }
    return absl::OkStatus();
  }

  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return wake_ || stop_ || !reports_.empty();
  }

  // A delivery report, on librdkafka's polling thread (or on the loop
  // thread, which serves some itself): only queued here, for the loop.
  void OnDelivery(int64_t id, const DeliveryResult& result) {
    if (!result.ok()) {
      failures_++;
      LOG_EVERY_N(WARNING, 100) << "outbox relay: row " << id
                                << " not delivered: " << result.status();
    }
    absl::MutexLock lock(&mu_);
    reports_.push_back({id, result.ok()});
  }

  // Records deliveries in the table; returns whether any arrived. On SQLite
  // the position moves up to just below the oldest row still undelivered,
  // and a row confirmed ahead of it waits up to kHoldFor for the position
  // to pass it before it gets a mark of its own (`final`: no waiting).
  bool FlushDelivered(bool final) {
    static constexpr absl::Duration kHoldFor = absl::Seconds(1);
    std::vector<Report> reports;
    {
      absl::MutexLock lock(&mu_);
      reports.swap(reports_);
    }
    std::vector<int64_t> ids;  // delivered
    for (const Report& report : reports) {
      if (report.delivered) {
        undelivered_.erase(report.id);
        ids.push_back(report.id);
      } else {
        // Left pending: a later fetch publishes it again (from the start of
        // its shard, on PostgreSQL). It stays undelivered, so the position
        // stops below it.
        auto it = in_flight_.find(report.id);
        if (it != in_flight_.end()) {
          auto shard = shards_.find(it->second);
          if (shard != shards_.end()) {
            shard->second.cursor = 0;
            shard->second.needs_scan = true;
          }
        }
        ForgetInFlight(report.id);
      }
    }
    in_flight_count_ = static_cast<int64_t>(in_flight_.size());
    int64_t through = 0;
    if (track_position_) {
      through =
          undelivered_.empty() ? highest_published_ : *undelivered_.begin() - 1;
    }
    const absl::Time now = absl::Now();
    // Rows the position covers (most, arriving in order), then rows that
    // waited long enough.
    std::vector<std::pair<int64_t, absl::Time>> done, marked;
    for (int64_t id : ids) {
      if (id <= through) {
        done.emplace_back(id, now);
        continue;
      }
      held_.emplace(id, now);
      held_order_.emplace_back(now, id);
    }
    for (auto it = held_.begin(); it != held_.end() && it->first <= through;
         it = held_.erase(it)) {
      done.push_back(*it);
    }
    while (!held_order_.empty() &&
           (final || !track_position_ ||
            now - held_order_.front().first >= kHoldFor)) {
      auto it = held_.find(held_order_.front().second);
      if (it != held_.end() && it->second == held_order_.front().first) {
        marked.push_back(*it);
        held_.erase(it);
      }
      held_order_.pop_front();
    }
    std::vector<int64_t> marks;
    for (const auto& entry : marked) marks.push_back(entry.first);
    if (done.empty() && marks.empty() && through <= through_) {
      return !ids.empty();
    }
    absl::Status s =
        MarkPublished(db_, marks, through > through_ ? through : 0);
    if (!s.ok()) {
      // Database busy: keep them and try again.
      LOG_EVERY_N(WARNING, 20) << "outbox relay: " << s;
      held_.insert(done.begin(), done.end());
      held_.insert(marked.begin(), marked.end());
      for (auto it = marked.rbegin(); it != marked.rend(); ++it) {
        held_order_.emplace_front(it->second, it->first);
      }
      return false;
    }
    through_ = std::max(through_, through);
    for (const auto& entry : done) ForgetInFlight(entry.first);
    for (int64_t id : marks) ForgetInFlight(id);
    in_flight_count_ = static_cast<int64_t>(in_flight_.size());
    published_ += static_cast<int64_t>(done.size() + marks.size());
    return true;
  }

  db::Database& db_;
  std::unique_ptr<db::FileLock> file_lock_;  // SQLite: held while we run
  Config config_;
  const RelayOptions options_;
  // SQLite: deliveries move a position (see outbox_store.h).
  const bool track_position_;
  // PostgreSQL: rows by shard, shards by lease (loop thread).
  const bool sharded_;
  std::unique_ptr<ShardLeases> leases_;
  bool release_on_stop_ = true;
  std::atomic<int> shards_held_{0};
  static_assert(kOutboxShards <= 64, "held_mask_ has a bit per shard");
  std::atomic<uint64_t> held_mask_{0};  // for the listening thread
  // Held and not being given back: Handoff() publishes their rows, and
  // announces the others' (writer threads).
  std::atomic<uint64_t> active_mask_{0};
  std::unique_ptr<CommitAnnouncer> announcer_;
  std::unique_ptr<db::Listening> listening_;
  absl::btree_map<int, ShardState> shards_;
  absl::Time valid_until_ = absl::InfinitePast();
  absl::Time next_round_ = absl::InfinitePast();
  std::array<int64_t, kOutboxShards> in_flight_per_shard_{};
  int64_t through_ = 0;  // the stored position (loop thread only)
  // Delivered rows not yet recorded: by id, and by arrival (loop thread).
  absl::btree_map<int64_t, absl::Time> held_;
  std::deque<std::pair<absl::Time, int64_t>> held_order_;
  std::unique_ptr<Producer> producer_;  // used by the loop thread only
  std::vector<std::pair<absl::string_view, absl::string_view>>
      headers_;  // Publish's scratch (loop thread)
  std::thread thread_;
  std::atomic<int64_t> published_{0}, failures_{0}, restarts_{0},
      handed_off_{0};
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  static constexpr size_t kMaxHandoffs = 10000;
  std::vector<PendingRow> handoffs_ ABSL_GUARDED_BY(mu_);
  bool handoff_dropped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::pair<int, int64_t>> notices_ ABSL_GUARDED_BY(mu_);
  bool inject_fatal_ ABSL_GUARDED_BY(mu_) = false;
  bool reachable_ ABSL_GUARDED_BY(mu_) = true;
  // Delivery reports not yet looked at by the loop.
  struct Report {
    int64_t id;
    bool delivered;
  };
  std::vector<Report> reports_ ABSL_GUARDED_BY(mu_);
  // The loop thread's own (Stop() uses them once it has ended): rows
  // published and not yet recorded; published or failed rows whose delivery
  // is not confirmed yet, and the highest id published: every row from the
  // position up to it was.
  absl::flat_hash_map<int64_t, int> in_flight_;  // id -> shard
  std::atomic<int64_t> in_flight_count_{0};      // its size, for Stats()
  absl::btree_set<int64_t> undelivered_;
  int64_t highest_published_ = 0;
};

absl::StatusOr<std::unique_ptr<OutboxRelay>> OutboxRelay::Start(
    db::Database& db, const Config& config, RelayOptions options) {
  auto impl = std::make_unique<Impl>(db, config, options);
  absl::Status s = impl->Start();
  if (!s.ok()) return s;
  return std::unique_ptr<OutboxRelay>(new OutboxRelay(std::move(impl)));
}

OutboxRelay::OutboxRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OutboxRelay::~OutboxRelay() = default;
void OutboxRelay::Notify() { impl_->Notify(); }
void OutboxRelay::Handoff(int64_t id, OutboxRow row) {
  impl_->Handoff({id, 0, 0}, std::move(row));
}
void OutboxRelay::Handoff(const RowPosition& position, OutboxRow row) {
  impl_->Handoff(position, std::move(row));
}
void OutboxRelay::InjectFatalErrorForTesting() { impl_->InjectFatalError(); }
void OutboxRelay::StopWithoutReleasingForTesting() {
  impl_->StopWithoutReleasing();
}
void OutboxRelay::Stop() { impl_->Stop(); }
RelayStats OutboxRelay::Stats() const { return impl_->Stats(); }

std::vector<settings::Key> OutboxKeys(RelayOptions& options) {
  return {
      settings::Hours("outbox.retention_hours", &options.retention, 1, 87600,
                      "gateway: published outbox rows are deleted once "
                      "this old (from when they were written)"),
      settings::Milliseconds(
          "outbox.lease_ms", &options.lease, 400, 600000,
          "gateway on PostgreSQL: a dead gateway's outbox shards are "
          "taken over by the others within this")};
}

}  // namespace outbox
}  // namespace herald
