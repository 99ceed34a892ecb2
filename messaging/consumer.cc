// The consumer is a small pipeline (messaging/pipeline/), run by the thread
// that calls Run():
//
//   Reader  ->  Dispatcher  ->  handler (inline, or on HandlerThreads)
//   (poll)      (lanes by         |
//                ordering)        v
//                             Retrier: done / retry / split / outage /
//                                      dead-letter (DeadLetterer, async)
//                                 |
//                                 v
//                             OffsetTracker per partition -> StoreOffset
//
// This file wires them: it owns the partitions assigned to this member,
// applies each unit's outcome, pauses partitions (too much in flight, or a
// dependency down), and drains everything on revocation and on Stop().
#include "messaging/consumer.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "messaging/pipeline/dead_letterer.h"
#include "messaging/pipeline/dispatcher.h"
#include "messaging/pipeline/executor.h"
#include "messaging/pipeline/instrumented.h"
#include "messaging/pipeline/offset_tracker.h"
#include "messaging/pipeline/reader.h"
#include "messaging/pipeline/record.h"
#include "messaging/pipeline/retrier.h"
#include "messaging/pipeline/unit.h"
#include "messaging/retry.h"

namespace herald {
namespace {

using google::protobuf::Message;
using pipeline::Decision;
using pipeline::Held;
using pipeline::TopicPartition;
using pipeline::Unit;

// How long a revocation waits for the running handlers of the partitions
// that go, so that their offsets are committed on the way out.
constexpr absl::Duration kRevokeWait = absl::Seconds(10);
// How long Stop() waits for dead-letter acknowledgements.
constexpr absl::Duration kDeadLetterDrain = absl::Seconds(5);
// Most records taken from librdkafka before dispatching them.
constexpr int kAdmitBurst = 64;

rd_kafka_message_t* RecordOf(const Held* held) {
  return static_cast<rd_kafka_message_t*>(held->record);
}

void DestroyRecord(Held* held) {
  if (held->record != nullptr) rd_kafka_message_destroy(RecordOf(held));
  held->record = nullptr;
}

RetryPolicy RetryPolicyOf(const ConsumerConfig& c) {
  RetryPolicy policy;
  policy.max_attempts = c.max_attempts;
  policy.initial_backoff = absl::Milliseconds(c.retry_backoff_ms);
  policy.max_backoff = absl::Milliseconds(c.retry_max_backoff_ms);
  return policy;
}

std::string Where(const Held* held) {
  const rd_kafka_message_t* r = RecordOf(held);
  return absl::StrCat(rd_kafka_topic_name(r->rkt), "/", r->partition, "@",
                      r->offset);
}

struct RouteState;

// A partition this member holds, from assignment until its last record is
// settled or dropped after revocation.
struct PartitionState {
  TopicPartition id;
  int dispatcher_id = -1;
  RouteState* route = nullptr;
  rd_kafka_topic_t* topic = nullptr;  // for StoreOffset
  pipeline::OffsetTracker tracker;
  bool revoked = false;
  bool paused = false;  // as last told to librdkafka
  bool dirty = false;   // settled records not yet stored
  int running = 0;      // records out in units or awaiting a dead-letter ack
  // For lag, read from other threads.
  std::atomic<int64_t> committed{-1};
  std::atomic<int64_t> first_fetched{-1};
};

struct RouteState {
  pipeline::Route route;
  pipeline::TopicMetrics metrics;  // all null without Instrument()
  absl::flat_hash_map<int32_t, PartitionState*> partitions;
  int outages = 0;  // units in a row that met a dependency outage
  absl::Time outage_since;
};

// What comes back to the polling thread: a unit that ran on a handler
// thread, or a dead-letter acknowledgement.
struct Completion {
  Unit* unit = nullptr;
  Held* dead_lettered = nullptr;
  absl::Status ack;
};

}  // namespace

class Consumer::Impl : public pipeline::RebalanceListener {
 public:
  explicit Impl(const Config& config)
      : config_(config),
        retrier_(RetryPolicyOf(config.consumer), config.consumer.dead_letter),
        done_([this] {
          if (reader_ != nullptr) reader_->Wake();
        }) {}

  ~Impl() {
    threads_.reset();
    // Leaves the group if Run() did not (OnRevoked needs everything below).
    if (reader_ != nullptr) reader_->Close().IgnoreError();
    // Answers still out (a dead-letter publish during a broker outage)
    // arrive, or are cancelled, while the producer closes.
    dead_letters_.reset();
    std::vector<Completion> late;
    done_.TakeAll(&late);
    for (Completion& c : late) FreeUnit(c.unit);
    if (dispatcher_ != nullptr) dispatcher_->Clear(&DestroyRecord);
    for (auto& [id, partition] : by_id_) {
      if (reader_ != nullptr) reader_->ReleaseTopic(partition->topic);
      delete partition;
    }
    by_id_.clear();
    routes_.clear();
    reader_.reset();
  }

  absl::Status Start() {
    absl::StatusOr<std::unique_ptr<pipeline::Reader>> reader =
        pipeline::Reader::Create(config_);
    if (!reader.ok()) return reader.status();
    reader_ = *std::move(reader);
    return absl::OkStatus();
  }

  absl::Status AddRoute(absl::string_view topic,
                        std::unique_ptr<Message> prototype,
                        Handler<Message> handler,
                        BatchHandler<Message> batch_handler,
                        const BatchOptions& batch) {
    if (running_) {
      return absl::FailedPreconditionError(
          "Subscribe must be called before Run");
    }
    if (batch_handler &&
        (batch.max_size < 1 || batch.max_wait < absl::ZeroDuration())) {
      return absl::InvalidArgumentError("batch max_size must be >= 1");
    }
    if (by_topic_.contains(topic)) {
      return absl::AlreadyExistsError(
          absl::StrCat("topic '", topic, "' already has a handler"));
    }
    auto state = std::make_unique<RouteState>();
    pipeline::Route& route = state->route;
    route.index = static_cast<int>(routes_.size());
    route.topic = std::string(topic);
    route.prototype = std::move(prototype);
    route.handler = std::move(handler);
    route.batch_handler = std::move(batch_handler);
    route.batch = batch;
    by_topic_[route.topic] = state.get();
    routes_.push_back(std::move(state));
    return absl::OkStatus();
  }

  void set_undecodable_callback(UndecodableCallback callback) {
    on_undecodable_ = std::move(callback);
  }

  void Instrument(metrics::Registry* registry) { registry_ = registry; }

  absl::Status Run() {
    if (routes_.empty()) {
      return absl::FailedPreconditionError("Run without any Subscribe");
    }
    running_ = true;
    Prepare();
    std::vector<std::string> topics;
    for (const auto& route : routes_) topics.push_back(route->route.topic);
    absl::Status subscribed = reader_->Subscribe(topics, this);
    if (!subscribed.ok()) return subscribed;
    LOG(INFO) << "consumer group " << config_.consumer.group_id
              << " subscribed to " << routes_.size() << " topic(s) at "
              << config_.brokers << " (concurrency "
              << config_.consumer.concurrency << ", "
              << OrderingName(config_.consumer.ordering) << " ordering)";

    const absl::Time started = absl::Now();
    bool announced_wait = false;
    while (!stopping()) {
      absl::Time now = absl::Now();
      pipeline::RecordPtr record = reader_->Poll(PollTimeout(now));
      for (int admitted = 0; record != nullptr;) {
        Admit(std::move(record), now);
        if (++admitted >= kAdmitBurst) break;
        record = reader_->Poll(absl::ZeroDuration());
      }
      ApplyCompletions(now);
      Dispatch(now);
      StoreProgress();
      ApplyPendingPauses();
      if (!announced_wait && absl::Now() - started > absl::Seconds(15) &&
          by_id_.empty()) {
        announced_wait = true;
        LOG(WARNING) << "consumer group " << config_.consumer.group_id
                     << " has no partitions yet: waiting for Kafka at "
                     << config_.brokers << " (retrying)";
      }
    }
    return Close();
  }

  void Stop() {
    stop_requested_ = true;
    reader_->Wake();
  }

  ConsumerStats Stats() const {
    return {handled_.load(), failed_.load(), retries_.load(),
            dead_lettered_.load()};
  }

  ConsumerHealth Health() const {
    ConsumerHealth health;
    health.in_flight = in_flight_.load(std::memory_order_relaxed);
    absl::MutexLock lock(&health_mu_);
    health.waiting_on_dependency = !waiting_.empty();
    if (!waiting_.empty()) {
      health.dependency_error = waiting_.begin()->second.error;
      health.waiting_since = waiting_.begin()->second.since;
    }
    return health;
  }

  std::vector<std::string> Assignment() const {
    std::vector<std::string> out;
    for (const TopicPartition& tp : reader_->Assignment()) {
      out.push_back(absl::StrCat(tp.topic, "/", tp.partition));
    }
    return out;
  }

  void UpdateLagMetrics() {
    if (registry_ == nullptr) return;
    registry_
        ->GetGauge("herald_consumer_in_flight",
                   "Records fetched and not yet settled")
        .Set(static_cast<double>(in_flight_.load()));
    absl::MutexLock lock(&lag_mu_);
    for (const PartitionState* p : lag_partitions_) {
      std::optional<int64_t> high = reader_->HighWatermark(p->id);
      if (!high.has_value()) continue;
      int64_t position = p->committed.load();
      if (position < 0) position = p->first_fetched.load();
      if (position < 0) continue;  // nothing fetched yet: unknown
      registry_
          ->GetGauge("herald_consumer_lag",
                     "Records behind the end of the partition (not settled)",
                     {{"topic", p->id.topic},
                      {"partition", absl::StrCat(p->id.partition)}})
          .Set(static_cast<double>(std::max<int64_t>(0, *high - position)));
    }
  }

  // RebalanceListener, called inside Poll() and Close().
  void OnAssigned(const std::vector<TopicPartition>& partitions) override {
    for (const TopicPartition& tp : partitions) {
      auto route = by_topic_.find(tp.topic);
      if (route == by_topic_.end()) continue;  // cannot happen: subscribed
      RouteState* rs = route->second;
      auto* p = new PartitionState;
      p->id = tp;
      p->route = rs;
      p->dispatcher_id = dispatcher_->AddPartition(rs->route.index);
      p->topic = reader_->TopicHandle(tp.topic);
      rs->partitions[tp.partition] = p;
      by_id_[p->dispatcher_id] = p;
      {
        absl::MutexLock lock(&lag_mu_);
        lag_partitions_.insert(p);
      }
      // librdkafka keeps a partition paused across a revocation and a new
      // assignment (librdkafka#1849): take it as paused and let
      // UpdatePause() resume it, once librdkafka has assigned it (after
      // this callback).
      p->paused = true;
      pending_pauses_.push_back(p);
    }
    LOG(INFO) << "consumer group " << config_.consumer.group_id << ": assigned "
              << Names(partitions);
  }

  void OnRevoked(const std::vector<TopicPartition>& partitions,
                 bool lost) override {
    std::vector<PartitionState*> going;
    for (const TopicPartition& tp : partitions) {
      PartitionState* p = Find(tp);
      if (p != nullptr) going.push_back(p);
    }
    // Let what runs for them finish, so that their offsets go out with the
    // commit on revocation (the next owner would redo them otherwise).
    const absl::Time deadline = absl::Now() + kRevokeWait;
    auto busy = [&] {
      for (PartitionState* p : going) {
        if (p->running > 0) return true;
      }
      return false;
    };
    while (!lost && busy() && absl::Now() < deadline) {
      done_.WaitUntil(deadline);
      ApplyCompletions(absl::Now());
    }
    StoreProgress();
    for (PartitionState* p : going) Revoke(p);
    LOG(INFO) << "consumer group " << config_.consumer.group_id << ": "
              << (lost ? "lost " : "revoked ") << Names(partitions);
  }

 private:
  struct Waiting {
    std::string error;
    absl::Time since;
  };

  static const char* OrderingName(Ordering ordering) {
    switch (ordering) {
      case Ordering::kPartition:
        return "partition";
      case Ordering::kKey:
        return "key";
      case Ordering::kUnordered:
        return "unordered";
    }
    return "?";
  }

  static std::string Names(const std::vector<TopicPartition>& partitions) {
    std::string out;
    for (const TopicPartition& tp : partitions) {
      absl::StrAppend(&out, out.empty() ? "" : ", ", tp.topic, "/",
                      tp.partition);
    }
    return out.empty() ? "nothing" : out;
  }

  bool stopping() const {
    return stop_requested_.load(std::memory_order_relaxed);
  }

  bool inline_handlers() const { return threads_ == nullptr; }

  // Builds the pipeline once the routes are known.
  void Prepare() {
    std::vector<pipeline::RouteShape> shapes;
    for (auto& rs : routes_) {
      pipeline::Route& route = rs->route;
      pipeline::RouteShape shape;
      shape.batch = static_cast<bool>(route.batch_handler);
      shape.max_size = route.batch.max_size;
      shape.max_wait = route.batch.max_wait;
      shapes.push_back(shape);
      if (registry_ != nullptr) {
        rs->metrics = pipeline::TopicMetricsFor(*registry_, route.topic);
        if (route.batch_handler) {
          route.batch_handler = pipeline::Instrumented(
              std::move(route.batch_handler), rs->metrics);
        } else {
          route.handler =
              pipeline::Instrumented(std::move(route.handler), rs->metrics);
        }
      }
    }
    dispatcher_ = std::make_unique<pipeline::Dispatcher>(
        config_.consumer.ordering, std::move(shapes));
    dead_letters_ = std::make_unique<pipeline::DeadLetterer>(config_);
    const int concurrency = std::max(1, config_.consumer.concurrency);
    scratch_.resize(concurrency);
    if (concurrency > 1) {
      threads_ = std::make_unique<pipeline::HandlerThreads>(concurrency);
    }
  }

  PartitionState* Find(const TopicPartition& tp) {
    auto route = by_topic_.find(tp.topic);
    if (route == by_topic_.end()) return nullptr;
    auto it = route->second->partitions.find(tp.partition);
    return it == route->second->partitions.end() ? nullptr : it->second;
  }

  PartitionState* PartitionOf(const Held* held) {
    return by_id_.at(held->partition);
  }

  RouteState* RouteOf(const rd_kafka_message_t* record) {
    if (record->rkt == last_topic_) return last_route_;
    auto it =
        by_topic_.find(absl::string_view(rd_kafka_topic_name(record->rkt)));
    if (it == by_topic_.end()) return nullptr;
    last_topic_ = record->rkt;
    last_route_ = it->second;
    return last_route_;
  }

  // How long the next Poll() may wait: not past the next retry or batch,
  // and not at all while answers wait to be applied.
  absl::Duration PollTimeout(absl::Time now) {
    absl::Duration timeout = absl::Milliseconds(100);
    if (!done_.empty()) return absl::ZeroDuration();
    if (inline_handlers() || running_units_ < threads_->size()) {
      absl::Time deadline = dispatcher_->NextDeadline(now);
      timeout =
          std::min(timeout, std::max(absl::ZeroDuration(), deadline - now));
    }
    return timeout;
  }

  void Admit(pipeline::RecordPtr record, absl::Time now) {
    RouteState* rs = RouteOf(record.get());
    PartitionState* p = nullptr;
    if (rs != nullptr) {
      auto it = rs->partitions.find(record->partition);
      if (it != rs->partitions.end()) p = it->second;
    }
    if (p == nullptr) {  // cannot happen: records follow the assignment
      LOG_EVERY_N(WARNING, 100)
          << "consumer: dropping a record of a partition not assigned here: "
          << rd_kafka_topic_name(record->rkt) << "/" << record->partition;
      return;
    }
    if (p->first_fetched.load(std::memory_order_relaxed) < 0) {
      p->first_fetched.store(record->offset, std::memory_order_relaxed);
    }
    p->tracker.Add(record->offset);
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    absl::string_view key = pipeline::KeyOf(record.get());
    int64_t offset = record->offset;
    dispatcher_->Add(p->dispatcher_id, offset, key, record.release(), now);
    if (!p->paused &&
        (p->route->outages > 0 ||
         p->tracker.held() >=
             static_cast<size_t>(config_.consumer.max_in_flight))) {
      UpdatePause(p);
    }
  }

  // Starts every unit that may run now, as far as there are threads.
  void Dispatch(absl::Time now) {
    while (!stopping()) {
      if (!inline_handlers() && running_units_ >= threads_->size()) return;
      Unit* unit = NewUnit();
      if (!dispatcher_->Next(now, &unit->records)) {
        FreeUnit(unit);
        return;
      }
      PartitionState* first = PartitionOf(unit->records[0]);
      unit->route = &first->route->route;
      for (Held* held : unit->records) ++PartitionOf(held)->running;
      if (inline_handlers()) {
        pipeline::RunUnit(*unit, scratch_[0], on_undecodable_);
        Apply(unit, now);
        FreeUnit(unit);
        continue;
      }
      ++running_units_;
      threads_->Submit([this, unit](int thread) {
        pipeline::RunUnit(*unit, scratch_[thread], on_undecodable_);
        done_.Push({unit, nullptr, absl::OkStatus()});
      });
    }
  }

  void ApplyCompletions(absl::Time now) {
    completions_.clear();
    done_.TakeAll(&completions_);
    for (Completion& c : completions_) {
      if (c.unit != nullptr) {
        --running_units_;
        Apply(c.unit, now);
        FreeUnit(c.unit);
      } else {
        ApplyAck(c.dead_lettered, c.ack, now);
      }
    }
  }

  // Decides and applies what becomes of each record of a finished unit.
  void Apply(Unit* unit, absl::Time now) {
    RouteState* rs = routes_[unit->route->index].get();
    std::vector<Held*>& dead = dead_scratch_;
    dead.clear();
    for (Held* held : unit->dead_letter) dead.push_back(held);
    for (auto& [held, reason] : unit->undecodable) {
      ApplyDecision(rs, held, retrier_.Undecodable(held, reason, now), now,
                    &dead);
    }
    const absl::Status& status = unit->status;
    const bool outage = IsDependencyOutage(status);
    if (!status.ok() && !outage) ++failed_;
    retrier_.Decide(status, unit->called, now, &decisions_);
    absl::Time resume_at = now;
    if (outage) {
      ++rs->outages;
      resume_at = now + retrier_.OutageBackoff(rs->outages);
      NoteOutage(rs, status, resume_at - now);
    }
    for (size_t i = 0; i < unit->called.size(); ++i) {
      Decision d = decisions_[i];
      if (d.kind == Decision::kOutage) {
        d = Decision{Decision::kRetry, resume_at};
      }
      ApplyDecision(rs, unit->called[i], d, now, &dead);
    }
    if (outage) {
      dispatcher_->Hold(rs->route.index, resume_at);
    } else if (dispatcher_->held_back(rs->route.index)) {
      if (unit->called.empty()) {
        dispatcher_->Hold(rs->route.index, now);  // no answer: probe again
      } else {
        EndOutage(rs);  // the dependency answered
      }
    }
    SendDeadLetters(dead);
  }

  void ApplyDecision(RouteState* rs, Held* held, const Decision& d,
                     absl::Time now, std::vector<Held*>* dead) {
    PartitionState* p = PartitionOf(held);
    if (p->revoked) {
      Forget(p, held, now);
      return;
    }
    switch (d.kind) {
      case Decision::kDone:
        ++handled_;
        Settle(p, held, now);
        return;
      case Decision::kRetry:
      case Decision::kOutage:
        if (d.counted) {
          ++retries_;
          if (rs->metrics.retries != nullptr) rs->metrics.retries->Increment();
          VLOG(1) << "handler for " << Where(held) << " failed (attempt "
                  << held->attempts << "), retrying";
        }
        --p->running;
        dispatcher_->Retry(held, d.not_before, now);
        return;
      case Decision::kDeadLetter:
        dead->push_back(held);  // stays running until acknowledged
        return;
    }
  }

  // Sends every record of a unit to its dead-letter topic at once; their
  // acknowledgements come back through done_.
  void SendDeadLetters(const std::vector<Held*>& dead) {
    for (Held* held : dead) {
      const rd_kafka_message_t* record = RecordOf(held);
      Metadata metadata = pipeline::MetadataOf(record);
      if (held->outages == 0) {
        LOG(WARNING) << (held->attempts == 0
                             ? "cannot decode "
                             : absl::StrCat("handler failed after ",
                                            held->attempts, " attempt(s) for "))
                     << Where(held) << ": " << held->failure
                     << "; dead-lettering it";
      }
      ++dead_letters_pending_;
      dead_letters_->Send(
          pipeline::FailedRecordOf(record, metadata, config_.consumer.group_id,
                                   held->failure, held->attempts),
          [this, held](const absl::Status& acked) {
            done_.Push({nullptr, held, acked});
          });
    }
  }

  void ApplyAck(Held* held, const absl::Status& acked, absl::Time now) {
    --dead_letters_pending_;
    PartitionState* p = PartitionOf(held);
    if (p->revoked) {
      Forget(p, held, now);
      return;
    }
    RouteState* rs = p->route;
    if (acked.ok()) {
      LOG(WARNING) << "dead-lettered " << Where(held) << " to " << p->id.topic
                   << dlt::kTopicSuffix;
      ++dead_lettered_;
      if (rs->metrics.dead_lettered != nullptr) {
        rs->metrics.dead_lettered->Increment();
      }
      if (held->outages > 0) ClearWaiting("dead-letter topic");
      Settle(p, held, now);
      return;
    }
    // The broker did not take it: not the record's fault. It stays
    // unsettled (nothing behind it is committed) and is sent again.
    ++held->outages;
    absl::Duration wait = retrier_.OutageBackoff(held->outages);
    LOG(ERROR) << "cannot dead-letter " << Where(held) << ": " << acked
               << "; trying again in " << wait;
    SetWaiting("dead-letter topic",
               absl::StrCat("dead-letter topic ", p->id.topic,
                            dlt::kTopicSuffix, ": ", acked.message()));
    --p->running;
    dispatcher_->Retry(held, now + wait, now);
  }

  // `held` is settled: handled, or its dead-letter copy acknowledged.
  void Settle(PartitionState* p, Held* held, absl::Time now) {
    p->tracker.Settle(held->offset);
    if (!p->dirty) {
      p->dirty = true;
      dirty_.push_back(p);
    }
    --p->running;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    DestroyRecord(held);
    dispatcher_->Done(held, now);
    if (p->paused) UpdatePause(p);
  }

  // A record of a revoked partition came back: drop it, uncommitted.
  void Forget(PartitionState* p, Held* held, absl::Time now) {
    --p->running;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    DestroyRecord(held);
    dispatcher_->Done(held, now);
    if (p->running == 0) Free(p);
  }

  // Stores the committable offsets of the partitions that moved.
  void StoreProgress() {
    for (PartitionState* p : dirty_) {
      p->dirty = false;
      if (p->revoked) continue;
      std::optional<int64_t> next = p->tracker.TakeCommittable();
      if (!next.has_value()) continue;
      reader_->StoreOffset(p->topic, p->id.partition, *next);
      p->committed.store(*next, std::memory_order_relaxed);
    }
    dirty_.clear();
  }

  // Pauses a partition that holds too much, or that holds records its
  // handler cannot take while it waits for a dependency; resumes it when
  // neither holds. (A partition that holds nothing fetches even during an
  // outage: a probe needs a record, e.g. after a rebalance took them all.)
  void UpdatePause(PartitionState* p) {
    if (p->revoked) return;
    const size_t limit = static_cast<size_t>(config_.consumer.max_in_flight);
    const size_t held = p->tracker.held();
    bool pause = (p->route->outages > 0 && held > 0) || held >= limit ||
                 (p->paused && held > limit / 2);
    if (pause == p->paused) return;
    p->paused = pause;
    if (pause) {
      reader_->Pause(p->id);
    } else {
      reader_->Resume(p->id);
    }
  }

  void ApplyPendingPauses() {
    if (pending_pauses_.empty()) return;
    for (PartitionState* p : pending_pauses_) UpdatePause(p);
    pending_pauses_.clear();
  }

  void NoteOutage(RouteState* rs, const absl::Status& status,
                  absl::Duration wait) {
    if (rs->metrics.outages != nullptr) rs->metrics.outages->Increment();
    if (rs->outages == 1) {
      rs->outage_since = absl::Now();
      LOG(WARNING) << rs->route.topic << ": a dependency is unavailable ("
                   << status.message() << "); pausing its partitions and "
                   << "trying again in " << wait << " (no attempts are used)";
      if (rs->metrics.waiting_on_dependency != nullptr) {
        rs->metrics.waiting_on_dependency->Set(1);
      }
      for (auto& [partition, p] : rs->partitions) UpdatePause(p);
    } else {
      LOG_EVERY_N(WARNING, 10) << rs->route.topic << ": still waiting for a "
                               << "dependency (" << status.message() << ")";
    }
    SetWaiting(rs->route.topic, std::string(status.message()));
  }

  void EndOutage(RouteState* rs) {
    LOG(INFO) << rs->route.topic << ": the dependency is back after "
              << absl::Now() - rs->outage_since;
    rs->outages = 0;
    dispatcher_->Release(rs->route.index);
    if (rs->metrics.waiting_on_dependency != nullptr) {
      rs->metrics.waiting_on_dependency->Set(0);
    }
    ClearWaiting(rs->route.topic);
    for (auto& [partition, p] : rs->partitions) UpdatePause(p);
  }

  void SetWaiting(const std::string& what, std::string error) {
    absl::MutexLock lock(&health_mu_);
    auto [it, inserted] = waiting_.try_emplace(what);
    if (inserted) it->second.since = absl::Now();
    it->second.error = std::move(error);
  }

  void ClearWaiting(const std::string& what) {
    absl::MutexLock lock(&health_mu_);
    waiting_.erase(what);
  }

  // A partition goes: what is not running is dropped now, uncommitted.
  void Revoke(PartitionState* p) {
    p->revoked = true;
    p->route->partitions.erase(p->id.partition);
    size_t dropped = 0;
    dispatcher_->RemovePartition(p->dispatcher_id, [&](Held* held) {
      DestroyRecord(held);
      ++dropped;
    });
    in_flight_.fetch_sub(static_cast<int64_t>(dropped),
                         std::memory_order_relaxed);
    if (p->running == 0) Free(p);
  }

  void Free(PartitionState* p) {
    pending_pauses_.erase(
        std::remove(pending_pauses_.begin(), pending_pauses_.end(), p),
        pending_pauses_.end());
    {
      absl::MutexLock lock(&lag_mu_);
      lag_partitions_.erase(p);
    }
    reader_->ReleaseTopic(p->topic);
    by_id_.erase(p->dispatcher_id);
    delete p;
  }

  Unit* NewUnit() {
    if (free_units_.empty()) return new Unit;
    Unit* unit = free_units_.back().release();
    free_units_.pop_back();
    return unit;
  }

  void FreeUnit(Unit* unit) {
    if (unit == nullptr) return;
    unit->records.clear();
    free_units_.emplace_back(unit);
  }

  absl::Status Close() {
    // Running handlers finish; records not started (queued, waiting for a
    // retry) stay uncommitted for the next owner.
    while (running_units_ > 0) {
      done_.WaitUntil(absl::InfiniteFuture());
      ApplyCompletions(absl::Now());
    }
    const absl::Time deadline = absl::Now() + kDeadLetterDrain;
    while (dead_letters_pending_ > 0 && absl::Now() < deadline) {
      done_.WaitUntil(deadline);
      ApplyCompletions(absl::Now());
    }
    StoreProgress();
    absl::Status committed = reader_->CommitNow();
    if (!committed.ok()) {
      LOG(WARNING) << "final commit failed (records may be redelivered): "
                   << committed;
    }
    threads_.reset();
    absl::Status closed = reader_->Close();
    LOG(INFO) << "consumer group " << config_.consumer.group_id
              << " left after handling " << handled_.load() << " records";
    return closed;
  }

  const Config config_;
  std::unique_ptr<pipeline::Reader> reader_;
  std::vector<std::unique_ptr<RouteState>> routes_;
  absl::flat_hash_map<std::string, RouteState*> by_topic_;
  const rd_kafka_topic_t* last_topic_ = nullptr;  // RouteOf()'s cache
  RouteState* last_route_ = nullptr;
  std::unique_ptr<pipeline::Dispatcher> dispatcher_;
  pipeline::Retrier retrier_;
  std::unique_ptr<pipeline::DeadLetterer> dead_letters_;
  std::unique_ptr<pipeline::HandlerThreads> threads_;  // null: inline
  std::vector<pipeline::Scratch> scratch_;             // one per thread
  pipeline::Completions<Completion> done_;
  UndecodableCallback on_undecodable_;
  metrics::Registry* registry_ = nullptr;

  // Polling thread only.
  absl::flat_hash_map<int, PartitionState*> by_id_;
  std::vector<PartitionState*> dirty_;
  std::vector<PartitionState*> pending_pauses_;
  std::vector<std::unique_ptr<Unit>> free_units_;
  std::vector<Completion> completions_;
  std::vector<Decision> decisions_;
  std::vector<Held*> dead_scratch_;
  int running_units_ = 0;
  int dead_letters_pending_ = 0;
  bool running_ = false;

  std::atomic<bool> stop_requested_{false};
  std::atomic<int64_t> handled_{0}, failed_{0}, retries_{0}, dead_lettered_{0},
      in_flight_{0};
  mutable absl::Mutex lag_mu_;
  absl::flat_hash_set<const PartitionState*> lag_partitions_
      ABSL_GUARDED_BY(lag_mu_);
  mutable absl::Mutex health_mu_;
  std::map<std::string, Waiting> waiting_ ABSL_GUARDED_BY(health_mu_);
};

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(
    const Config& config) {
  auto impl = std::make_unique<Impl>(config);
  absl::Status started = impl->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Consumer::~Consumer() = default;

absl::Status Consumer::SubscribeMessage(absl::string_view topic,
                                        std::unique_ptr<Message> prototype,
                                        Handler<Message> handler) {
  return impl_->AddRoute(topic, std::move(prototype), std::move(handler), {},
                         {});
}

absl::Status Consumer::SubscribeBatchMessage(absl::string_view topic,
                                             std::unique_ptr<Message> prototype,
                                             const BatchOptions& options,
                                             BatchHandler<Message> handler) {
  return impl_->AddRoute(topic, std::move(prototype), {}, std::move(handler),
                         options);
}

void Consumer::OnUndecodable(UndecodableCallback callback) {
  impl_->set_undecodable_callback(std::move(callback));
}

void Consumer::Instrument(metrics::Registry* registry) {
  impl_->Instrument(registry);
}

void Consumer::UpdateLagMetrics() { impl_->UpdateLagMetrics(); }

ConsumerStats Consumer::Stats() const { return impl_->Stats(); }

ConsumerHealth Consumer::Health() const { return impl_->Health(); }

absl::Status Consumer::Run() { return impl_->Run(); }

void Consumer::Stop() { impl_->Stop(); }

int64_t Consumer::handled_count() const { return impl_->Stats().handled; }

std::vector<std::string> Consumer::Assignment() const {
  return impl_->Assignment();
}

}  // namespace herald
