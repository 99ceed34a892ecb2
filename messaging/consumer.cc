// The consumer is a small pipeline (messaging/pipeline/), run by the thread
// that calls Run():
//
//   Reader  ->  Dispatcher  ->  handler (inline, or on a ThreadPool)
//   (poll)      (lanes by         |
//                ordering)        v
//                             Retrier: done / retry / split / outage /
//                                      dead-letter (DeadLetterer, async)
//                                 |
//                                 v
//                             Assignment: an OffsetTracker per partition,
//                             the settled prefix stored; pauses
//
// DependencyWatch holds a route back while its dependency is down. This file
// wires them: it admits records, applies each unit's outcome, and drains
// what runs on revocation and on Stop(). With handlers inline, a record of
// a single-record route whose partition holds nothing else runs as it is
// admitted (RunAtOnce): the dispatcher would hand it over next anyway, and
// it enters the dispatcher only when it is not settled at once.
#include "messaging/consumer.h"

#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "base/thread_pool.h"
#include "messaging/pipeline/assignment.h"
#include "messaging/pipeline/dead_letterer.h"
#include "messaging/pipeline/dependency_watch.h"
#include "messaging/pipeline/dispatcher.h"
#include "messaging/pipeline/executor.h"
#include "messaging/pipeline/instrumented.h"
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
// Most records taken from librdkafka before dispatching them, unless a
// batch is larger: then a batch's worth, so that a full batch can form
// whenever the client holds one (records left over from the last batch are
// past their wait by the time the handler returns).
constexpr int kAdmitBurst = 64;

rd_kafka_message_t* RecordOf(const Held* held) {
  return static_cast<rd_kafka_message_t*>(held->record);
}

void DestroyRecord(Held* held) {
  if (held->record != nullptr) rd_kafka_message_destroy(RecordOf(held));
  held->record = nullptr;
}

std::string Where(const Held* held) {
  const rd_kafka_message_t* r = RecordOf(held);
  return absl::StrCat(rd_kafka_topic_name(r->rkt), "/", r->partition, "@",
                      r->offset);
}

// A topic's handler and its instruments.
struct RouteState {
  pipeline::Route route;
  pipeline::TopicMetrics metrics;  // all null without Instrument()
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
        retrier_(config.consumer.retry, config.consumer.dead_letter),
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
    watch_.reset();
    assignment_.reset();  // before the reader, whose handles it releases
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
    route.type_name = route.prototype->GetDescriptor()->full_name();
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
      client_holds_more_ = false;
      for (int admitted = 0; record != nullptr;) {
        Admit(std::move(record), now);
        if (++admitted >= admit_burst_) {
          client_holds_more_ = true;  // perhaps: the next Poll() tells
          break;
        }
        record = reader_->Poll(absl::ZeroDuration());
      }
      ApplyCompletions(now);
      TellWhatIsComing();
      Dispatch(now);
      assignment_->StoreProgress();
      if (!announced_wait && absl::Now() - started > absl::Seconds(15) &&
          assignment_->empty()) {
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
    health.in_group = reader_->InGroup();
    if (watch_ == nullptr) return health;  // Run() has not started
    pipeline::DependencyWatch::Waiting waiting = watch_->Health();
    health.waiting_on_dependency = waiting.waiting;
    health.dependency_error = waiting.error;
    health.waiting_since = waiting.since;
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
    if (assignment_ == nullptr) return;
    assignment_->ForEachForLag([&](const pipeline::Partition& p) {
      std::optional<int64_t> high = reader_->HighWatermark(p.id);
      if (!high.has_value()) return;
      int64_t position = p.committed.load();
      if (position < 0) position = p.first_fetched.load();
      if (position < 0) return;  // nothing fetched yet: unknown
      registry_
          ->GetGauge("herald_consumer_lag",
                     "Records behind the end of the partition (not settled)",
                     {{"topic", p.id.topic},
                      {"partition", absl::StrCat(p.id.partition)}})
          .Set(static_cast<double>(std::max<int64_t>(0, *high - position)));
    });
  }

  // RebalanceListener, called inside Poll() and Close().
  void OnAssigned(const std::vector<TopicPartition>& partitions) override {
    if (assignment_ == nullptr) return;  // Run() has not started
    for (const TopicPartition& tp : partitions) {
      auto route = by_topic_.find(tp.topic);
      if (route == by_topic_.end()) continue;  // cannot happen: subscribed
      assignment_->Add(tp, route->second->route.index);
    }
    LOG(INFO) << "consumer group " << config_.consumer.group_id << ": assigned "
              << Names(partitions);
  }

  void OnRevoked(const std::vector<TopicPartition>& partitions,
                 bool lost) override {
    if (assignment_ == nullptr) return;
    std::vector<pipeline::Partition*> going;
    for (const TopicPartition& tp : partitions) {
      pipeline::Partition* p = assignment_->Find(tp);
      if (p != nullptr) going.push_back(p);
    }
    // Let what runs for them finish, so that their offsets go out with the
    // commit on revocation (the next owner would redo them otherwise).
    const absl::Time deadline = absl::Now() + kRevokeWait;
    auto busy = [&] {
      for (pipeline::Partition* p : going) {
        if (p->running > 0) return true;
      }
      return false;
    };
    while (!lost && busy() && absl::Now() < deadline) {
      done_.WaitUntil(deadline);
      ApplyCompletions(absl::Now());
    }
    assignment_->StoreProgress();
    for (pipeline::Partition* p : going) {
      size_t dropped = 0;
      assignment_->Revoke(p, [&](Held* held) {
        GiveUpDeadLetter(p, held);
        DestroyRecord(held);
        ++dropped;
      });
      in_flight_.fetch_sub(static_cast<int64_t>(dropped),
                           std::memory_order_relaxed);
    }
    LOG(INFO) << "consumer group " << config_.consumer.group_id << ": "
              << (lost ? "lost " : "revoked ") << Names(partitions);
  }

 private:
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
      if (shape.batch) admit_burst_ = std::max(admit_burst_, shape.max_size);
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
    assignment_ = std::make_unique<pipeline::Assignment>(
        *reader_, *dispatcher_, config_.consumer.max_in_flight);
    watch_ = std::make_unique<pipeline::DependencyWatch>(
        *dispatcher_, *assignment_, retrier_.policy());
    for (auto& rs : routes_) {
      watch_->AddRoute(rs->route.index, rs->route.topic,
                       rs->metrics.waiting_on_dependency);
    }
    dead_letters_ = std::make_unique<pipeline::DeadLetterer>(config_);
    const int concurrency = std::max(1, config_.consumer.concurrency);
    scratch_.resize(concurrency);
    if (concurrency > 1) {
      threads_ = std::make_unique<ThreadPool>(concurrency);
    }
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
  // and not at all while answers wait to be applied or the client may hold
  // more fetched records.
  absl::Duration PollTimeout(absl::Time now) {
    absl::Duration timeout = absl::Milliseconds(100);
    if (!done_.empty() || client_holds_more_) return absl::ZeroDuration();
    if (inline_handlers() || running_units_ < threads_->size()) {
      absl::Time deadline = dispatcher_->NextDeadline(now);
      timeout =
          std::min(timeout, std::max(absl::ZeroDuration(), deadline - now));
    }
    return timeout;
  }

  // The batch rule (README "Workers"): a partial batch goes as soon as
  // nothing more is known to be coming for its route. More is coming while
  // librdkafka may still hold fetched records (the last burst of Poll()s
  // stopped at its limit rather than on an empty queue), or while a
  // partition of the route has records on the broker past those fetched.
  void TellWhatIsComing() {
    for (const auto& rs : routes_) {
      const pipeline::Route& route = rs->route;
      if (!route.batch_handler) continue;
      dispatcher_->SetMoreComing(
          route.index,
          client_holds_more_ || assignment_->MoreOnBroker(route.index));
    }
  }

  void Admit(pipeline::RecordPtr record, absl::Time now) {
    RouteState* rs = RouteOf(record.get());
    pipeline::Partition* p =
        rs == nullptr ? nullptr
                      : assignment_->Find(rs->route.index, record->partition);
    if (p == nullptr) {  // cannot happen: records follow the assignment
      LOG_EVERY_N(WARNING, 100)
          << "consumer: dropping a record of a partition not assigned here: "
          << rd_kafka_topic_name(record->rkt) << "/" << record->partition;
      return;
    }
    const int64_t offset = record->offset;
    const bool holds_nothing = p->tracker.held() == 0;
    if (!assignment_->Admit(p, offset)) {
      LOG_EVERY_N(WARNING, 100)
          << "consumer: dropping a record fetched twice: " << p->id.topic << "/"
          << p->id.partition << "@" << offset;
      return;
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    if (holds_nothing && MayRunAtOnce(rs->route)) {
      RunAtOnce(rs->route, p, std::move(record), now);
      return;
    }
    absl::string_view key = pipeline::KeyOf(record.get());
    Held* held =
        dispatcher_->Add(p->dispatcher_id, offset, key, record.release(), now);
    held->context = p;  // for Assignment::Of()
  }

  // Whether a record of `route` whose partition holds no other record may
  // run as soon as it is admitted: nothing may run before it (its lane is
  // empty, its route not held back for a dependency), and it would run
  // next on this thread anyway (inline handlers, one record per call).
  bool MayRunAtOnce(const pipeline::Route& route) const {
    return inline_handlers() && !route.batch_handler && !stopping() &&
           !dispatcher_->held_back(route.index);
  }

  // Runs the record at once, without a trip through the dispatcher: a
  // success settles it here; any other outcome puts it in its lane as
  // running, for Apply() to decide as for any unit (retry, dead letter).
  void RunAtOnce(const pipeline::Route& route, pipeline::Partition* p,
                 pipeline::RecordPtr record, absl::Time now) {
    assignment_->Dispatched(p);
    absl::Status status, undecodable;
    const bool called =
        pipeline::RunRecord(route, record.get(), scratch_[0], on_undecodable_,
                            &status, &undecodable);
    if (called && status.ok() && !p->revoked) {
      // (Apply() would also tell the watch that the route answered: a no-op
      // for a route not held back, and only Apply() holds one back.)
      ++handled_;
      assignment_->Settled(p, record->offset);
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      return;  // (`record` is freed here)
    }
    const int64_t offset = record->offset;
    absl::string_view key = pipeline::KeyOf(record.get());
    Held* held = dispatcher_->AddRunning(p->dispatcher_id, offset, key,
                                         record.release(), now);
    held->context = p;  // for Assignment::Of()
    Unit* unit = NewUnit();
    unit->route = &route;
    unit->records.assign(1, held);
    unit->ClearOutcome();
    if (called) {
      unit->called.push_back(held);
      unit->status = std::move(status);
    } else {
      unit->undecodable.emplace_back(held, std::move(undecodable));
    }
    Apply(unit, now);
    FreeUnit(unit);
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
      pipeline::Partition* first = assignment_->Of(unit->records[0]);
      unit->route = &routes_[first->route]->route;
      for (Held* held : unit->records) {
        assignment_->Dispatched(assignment_->Of(held));
      }
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
    if (unit->status.ok() && unit->undecodable.empty() &&
        unit->dead_letter.empty()) {
      // The usual outcome, every record handled: what follows would decide
      // kDone for each.
      watch_->RouteAnswered(rs->route.index, !unit->called.empty(), now);
      for (Held* held : unit->called) {
        ApplyDecision(rs, held, Decision{}, now, &dead_scratch_);
      }
      return;
    }
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
      if (rs->metrics.outages != nullptr) rs->metrics.outages->Increment();
      resume_at = watch_->RouteDown(rs->route.index, status, now);
    } else {
      watch_->RouteAnswered(rs->route.index, !unit->called.empty(), now);
    }
    for (size_t i = 0; i < unit->called.size(); ++i) {
      Decision d = decisions_[i];
      if (d.kind == Decision::kOutage) {
        d = Decision{Decision::kRetry, resume_at};
      }
      ApplyDecision(rs, unit->called[i], d, now, &dead);
    }
    SendDeadLetters(dead);
  }

  void ApplyDecision(RouteState* rs, Held* held, const Decision& d,
                     absl::Time now, std::vector<Held*>* dead) {
    pipeline::Partition* p = assignment_->Of(held);
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
        assignment_->Requeued(p);
        dispatcher_->Retry(held, d.not_before, now);
        return;
      case Decision::kDeadLetter:
        dead->push_back(held);  // stays out until acknowledged
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
    pipeline::Partition* p = assignment_->Of(held);
    if (p->revoked) {
      Forget(p, held, now);
      return;
    }
    RouteState* rs = routes_[p->route].get();
    const std::string dlq = absl::StrCat(p->id.topic, dlt::kTopicSuffix);
    if (acked.ok()) {
      LOG(WARNING) << "dead-lettered " << Where(held) << " to " << dlq;
      ++dead_lettered_;
      if (rs->metrics.dead_lettered != nullptr) {
        rs->metrics.dead_lettered->Increment();
      }
      if (held->outages > 0) watch_->DeadLetterTaken(dlq);
      Settle(p, held, now);
      return;
    }
    // The broker did not take it: not the record's fault. It stays
    // unsettled (nothing behind it is committed) and is sent again.
    ++held->outages;
    absl::Duration wait = retrier_.OutageBackoff(held->outages);
    LOG(ERROR) << "cannot dead-letter " << Where(held) << ": " << acked
               << "; trying again in " << wait;
    watch_->DeadLetterRefused(dlq, acked, /*first=*/held->outages == 1);
    assignment_->Requeued(p);
    dispatcher_->Retry(held, now + wait, now);
  }

  // `held` is settled: handled, or its dead-letter copy acknowledged.
  void Settle(pipeline::Partition* p, Held* held, absl::Time now) {
    assignment_->Settled(p, held->offset);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    DestroyRecord(held);
    dispatcher_->Done(held, now);
  }

  // A record of a revoked partition came back: drop it, uncommitted.
  void Forget(pipeline::Partition* p, Held* held, absl::Time now) {
    GiveUpDeadLetter(p, held);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    DestroyRecord(held);
    dispatcher_->Done(held, now);
    assignment_->Forget(p);  // may free `p`
  }

  // A record whose dead-letter copy was refused is dropped (its partition
  // was revoked): the consumer no longer waits for the topic on its behalf.
  void GiveUpDeadLetter(const pipeline::Partition* p, const Held* held) {
    if (held->dead_letter && held->outages > 0) {
      watch_->DeadLetterGivenUp(absl::StrCat(p->id.topic, dlt::kTopicSuffix));
    }
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
    assignment_->StoreProgress();
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
  std::unique_ptr<pipeline::Assignment> assignment_;
  std::unique_ptr<pipeline::DependencyWatch> watch_;
  pipeline::Retrier retrier_;
  std::unique_ptr<pipeline::DeadLetterer> dead_letters_;
  std::unique_ptr<ThreadPool> threads_;     // null: inline
  std::vector<pipeline::Scratch> scratch_;  // one per thread
  pipeline::Completions<Completion> done_;
  UndecodableCallback on_undecodable_;
  metrics::Registry* registry_ = nullptr;

  // Polling thread only.
  std::vector<std::unique_ptr<Unit>> free_units_;
  std::vector<Completion> completions_;
  std::vector<Decision> decisions_;
  std::vector<Held*> dead_scratch_;
  int running_units_ = 0;
  int dead_letters_pending_ = 0;
  bool running_ = false;
  // The last burst of Poll()s stopped before the client's queue was empty.
  bool client_holds_more_ = false;
  int admit_burst_ = kAdmitBurst;

  std::atomic<bool> stop_requested_{false};
  std::atomic<int64_t> handled_{0}, failed_{0}, retries_{0}, dead_lettered_{0},
      in_flight_{0};
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
