#include "messaging/consumer.h"

#include <glog/logging.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "messaging/cloudevents.h"
#include "messaging/dead_letter.h"
#include "messaging/internal/kafka.h"
#include "messaging/producer.h"
#include "messaging/retry.h"

namespace herald {
namespace {

using google::protobuf::Message;

absl::string_view HeaderView(rd_kafka_headers_t* headers, const char* name) {
  if (headers == nullptr) return {};
  const void* value;
  size_t size;
  if (rd_kafka_header_get_last(headers, name, &value, &size) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return {};
  }
  return absl::string_view(static_cast<const char*>(value), size);
}

void LogUndecodable(const UndecodableRecord& record) {
  LOG(ERROR) << "undecodable record " << record.topic << "/" << record.partition
             << "@" << record.offset << ": " << record.reason.message();
}

struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using RecordPtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// Per-topic instruments, resolved once when Run() starts.
struct TopicMetrics {
  metrics::Counter* handled = nullptr;
  metrics::Counter* failed = nullptr;
  metrics::Counter* retries = nullptr;
  metrics::Counter* dead_lettered = nullptr;
  metrics::Histogram* latency = nullptr;
};

struct Route {
  std::string topic;
  std::unique_ptr<Message> prototype;
  Handler<Message> handler;             // single records, or
  BatchHandler<Message> batch_handler;  // batches
  BatchOptions batch;
  std::vector<RecordPtr> buffered;  // batch routes: waiting records
  absl::Time first_buffered_at;
  std::unique_ptr<Message> single;  // reused for single records
  TopicMetrics metrics;
};

// A decoded record of a batch in progress.
struct Decoded {
  rd_kafka_message_t* record;
  std::unique_ptr<Message> owned;
  Message* event;
  Metadata metadata;
};

}  // namespace

class Consumer::Impl {
 public:
  explicit Impl(const Config& config) : config_(config) {
    retry_.max_attempts = config.consumer.max_attempts;
    retry_.initial_backoff =
        absl::Milliseconds(config.consumer.retry_backoff_ms);
    retry_.max_backoff =
        absl::Milliseconds(config.consumer.retry_max_backoff_ms);
  }

  ~Impl() {
    routes_.clear();  // buffered records go back to librdkafka first
    if (rk_ != nullptr) {
      if (!closed_) rd_kafka_consumer_close(rk_);
      rd_kafka_destroy(rk_);
    }
  }

  absl::Status Start() {
    absl::StatusOr<kafka_internal::ConfPtr> conf =
        kafka_internal::NewConf(config_, kafka_internal::ClientKind::kConsumer);
    if (!conf.ok()) return conf.status();
    char error[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), error, sizeof(error));
    if (rk_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot create Kafka consumer: ", error));
    }
    conf->release();
    rd_kafka_poll_set_consumer(rk_);
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
    auto [it, inserted] = routes_.try_emplace(std::string(topic));
    if (!inserted) {
      return absl::AlreadyExistsError(
          absl::StrCat("topic '", topic, "' already has a handler"));
    }
    Route& route = it->second;
    route.topic = std::string(topic);
    route.single.reset(prototype->New());
    route.prototype = std::move(prototype);
    route.handler = std::move(handler);
    route.batch_handler = std::move(batch_handler);
    route.batch = batch;
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
    ResolveMetrics();
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(routes_.size());
    for (const auto& [topic, route] : routes_) {
      rd_kafka_topic_partition_list_add(topics, topic.c_str(),
                                        RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_internal::ToStatus(err, "subscribe");
    }
    LOG(INFO) << "consumer group " << config_.consumer.group_id
              << " subscribed to " << routes_.size() << " topic(s) at "
              << config_.brokers;

    absl::Time started = absl::Now();
    bool announced_wait = false;
    while (!stopping()) {
      rd_kafka_message_t* raw = rd_kafka_consumer_poll(
          rk_, static_cast<int>(absl::ToInt64Milliseconds(PollTimeout())));
      if (raw != nullptr) {
        RecordPtr record(raw);
        if (record->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          Accept(std::move(record));
        } else if (record->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          LOG_EVERY_N(WARNING, 50)
              << "consumer: " << rd_kafka_message_errstr(record.get());
        }
      }
      ReleaseDueBatches(/*all=*/false);
      ResumeDuePartitions();
      if (raw == nullptr && !announced_wait &&
          absl::Now() - started > absl::Seconds(15) && Assignment().empty()) {
        announced_wait = true;
        LOG(WARNING) << "consumer group " << config_.consumer.group_id
                     << " has no partitions yet: waiting for Kafka at "
                     << config_.brokers << " (retrying)";
      }
    }
    return Close();
  }

  void Stop() {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    stop_requested_ = true;
  }

  ConsumerStats Stats() const {
    return {handled_.load(), failed_.load(), retries_.load(),
            dead_lettered_.load()};
  }

  std::vector<std::string> Assignment() const {
    std::vector<std::string> out;
    rd_kafka_topic_partition_list_t* partitions = nullptr;
    if (rd_kafka_assignment(rk_, &partitions) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return out;
    }
    for (int i = 0; i < partitions->cnt; ++i) {
      out.push_back(absl::StrCat(partitions->elems[i].topic, "/",
                                 partitions->elems[i].partition));
    }
    rd_kafka_topic_partition_list_destroy(partitions);
    return out;
  }

  void UpdateLagMetrics() {
    if (registry_ == nullptr) return;
    rd_kafka_topic_partition_list_t* partitions = nullptr;
    if (rd_kafka_assignment(rk_, &partitions) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;
    }
    rd_kafka_position(rk_, partitions);
    for (int i = 0; i < partitions->cnt; ++i) {
      const auto& p = partitions->elems[i];
      int64_t low = 0, high = 0;
      if (rd_kafka_get_watermark_offsets(rk_, p.topic, p.partition, &low,
                                         &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      int64_t position = p.offset >= 0 ? p.offset : low;
      registry_
          ->GetGauge(
              "herald_consumer_lag", "Records behind the end of the partition",
              {{"topic", p.topic}, {"partition", absl::StrCat(p.partition)}})
          .Set(static_cast<double>(std::max<int64_t>(0, high - position)));
    }
    rd_kafka_topic_partition_list_destroy(partitions);
  }

 private:
  bool stopping() const {
    return stop_requested_.load(std::memory_order_relaxed);
  }

  void ResolveMetrics() {
    if (registry_ == nullptr) return;
    for (auto& [topic, route] : routes_) {
      metrics::Labels labels = {{"topic", topic}};
      route.metrics.handled =
          &registry_->GetCounter("herald_consumer_handled_total",
                                 "Records handled successfully", labels);
      route.metrics.failed = &registry_->GetCounter(
          "herald_consumer_failed_total", "Failed handler attempts", labels);
      route.metrics.retries = &registry_->GetCounter(
          "herald_consumer_retries_total", "Handler retries", labels);
      route.metrics.dead_lettered = &registry_->GetCounter(
          "herald_consumer_dead_lettered_total",
          "Records sent to the dead-letter topic", labels);
      route.metrics.latency = &registry_->GetHistogram(
          "herald_consumer_handler_duration_seconds",
          "Handler latency per call", metrics::LatencyBuckets(), labels);
    }
  }

  // How long the next poll may block: until the next batch is due.
  absl::Duration PollTimeout() const {
    absl::Duration timeout = absl::Milliseconds(100);
    if (buffered_total_ == 0 && paused_.empty()) return timeout;
    absl::Time now = absl::Now();
    for (const auto& [topic, route] : routes_) {
      if (route.buffered.empty()) continue;
      timeout = std::min(timeout, std::max(absl::ZeroDuration(),
                                           route.first_buffered_at +
                                               route.batch.max_wait - now));
    }
    for (const auto& [partition, until] : paused_) {
      timeout = std::min(timeout, std::max(absl::ZeroDuration(), until - now));
    }
    return timeout;
  }

  void Accept(RecordPtr record) {
    auto it = routes_.find(absl::string_view(rd_kafka_topic_name(record->rkt)));
    if (it == routes_.end()) {
      StoreOffset(record.get());  // not ours: cannot happen with subscribe
      return;
    }
    Route& route = it->second;
    if (!route.batch_handler) {
      ProcessSingle(route, record.get());
      return;
    }
    if (route.buffered.empty()) route.first_buffered_at = absl::Now();
    ++buffered_total_;
    route.buffered.push_back(std::move(record));
    if (static_cast<int>(route.buffered.size()) >= route.batch.max_size) {
      std::vector<RecordPtr> batch;
      batch.swap(route.buffered);
      buffered_total_ -= static_cast<int64_t>(batch.size());
      Process(route, batch);
    }
  }

  void ReleaseDueBatches(bool all) {
    if (buffered_total_ == 0) return;
    absl::Time now = absl::Now();
    for (auto& [topic, route] : routes_) {
      if (route.buffered.empty()) continue;
      if (!all && now < route.first_buffered_at + route.batch.max_wait) {
        continue;
      }
      std::vector<RecordPtr> batch;
      batch.swap(route.buffered);
      buffered_total_ -= static_cast<int64_t>(batch.size());
      Process(route, batch);
    }
  }

  static Metadata MetadataOf(rd_kafka_message_t* record) {
    Metadata metadata;
    metadata.topic = rd_kafka_topic_name(record->rkt);
    metadata.partition = record->partition;
    metadata.offset = record->offset;
    metadata.key = absl::string_view(static_cast<const char*>(record->key),
                                     record->key_len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(record, &headers) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      headers = nullptr;
    }
    metadata.event_id = HeaderView(headers, ce::kId);
    metadata.event_type = HeaderView(headers, ce::kType);
    metadata.source = HeaderView(headers, ce::kSource);
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(record, &ts_type);
    if (ts >= 0) metadata.timestamp = absl::FromUnixMillis(ts);
    metadata.record_ = record;
    return metadata;
  }

  static absl::Status Decode(const rd_kafka_message_t* record,
                             const Metadata& metadata, Message& event) {
    const std::string& expected = event.GetDescriptor()->full_name();
    if (!metadata.event_type.empty() && metadata.event_type != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("ce_type '", metadata.event_type,
                       "' does not match the subscribed type ", expected));
    }
    if (!event.ParseFromArray(record->payload, static_cast<int>(record->len))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "value (", record->len, " bytes) is not a valid ", expected));
    }
    return absl::OkStatus();
  }

  // Decodes, handles (with retries) and settles `records`: each ends with
  // its offset stored (handled or dead-lettered) or its partition rewound.
  void Process(Route& route, std::vector<RecordPtr>& records) {
    std::vector<Decoded> batch;
    batch.reserve(records.size());
    for (RecordPtr& record : records) {
      Decoded d;
      d.record = record.get();
      d.metadata = MetadataOf(record.get());
      if (route.batch_handler) {
        d.owned.reset(route.prototype->New());
        d.event = d.owned.get();
      } else {
        d.event = route.single.get();
      }
      absl::Status decoded = Decode(record.get(), d.metadata, *d.event);
      if (!decoded.ok()) {
        if (ParkUndecodable(route, record.get(), d.metadata, decoded)) {
          continue;
        }
        // Cannot park it: handle none of these now, fetch them again.
        std::vector<rd_kafka_message_t*> all;
        for (RecordPtr& r : records) all.push_back(r.get());
        Rewind(all);
        Pause(retry_.max_backoff);
        return;
      }
      batch.push_back(std::move(d));
    }
    if (batch.empty()) return;

    if (!route.batch_handler) {
      ProcessOne(route, batch[0]);
      return;
    }
    absl::Status status;
    for (int attempt = 1;; ++attempt) {
      absl::Time start = absl::Now();
      status = Call(route, batch);
      if (route.metrics.latency != nullptr) {
        route.metrics.latency->Observe(
            absl::ToDoubleSeconds(absl::Now() - start));
      }
      if (status.ok()) {
        for (Decoded& d : batch) StoreOffset(d.record);
        handled_ += static_cast<int64_t>(batch.size());
        if (route.metrics.handled != nullptr) {
          route.metrics.handled->Increment(static_cast<double>(batch.size()));
        }
        return;
      }
      failed_++;
      if (route.metrics.failed != nullptr) route.metrics.failed->Increment();
      if (IsPermanent(status) || attempt >= retry_.max_attempts) {
        LOG(WARNING) << "handler for " << route.topic << " failed after "
                     << attempt << " attempt(s): " << status;
        Settle(route, batch, status, attempt);
        return;
      }
      VLOG(1) << "handler for " << route.topic << " failed (attempt " << attempt
              << "), retrying: " << status;
      if (!Pause(BackoffFor(retry_, attempt))) {
        // Stopping: leave the records uncommitted for the next member.
        std::vector<rd_kafka_message_t*> rewind;
        for (Decoded& d : batch) rewind.push_back(d.record);
        Rewind(rewind);
        return;
      }
      retries_++;
      if (route.metrics.retries != nullptr) route.metrics.retries->Increment();
    }
  }

  // The hot path for single-record routes: no vectors, no allocation.
  void ProcessSingle(Route& route, rd_kafka_message_t* record) {
    Decoded d;
    d.record = record;
    d.metadata = MetadataOf(record);
    d.event = route.single.get();
    absl::Status decoded = Decode(record, d.metadata, *d.event);
    if (!decoded.ok()) {
      if (!ParkUndecodable(route, record, d.metadata, decoded)) {
        Rewind({record});  // fetched again after the pause
        Pause(retry_.max_backoff);
      }
      return;
    }
    ProcessOne(route, d);
  }

  // A record that does not decode is reported, parked in its dead-letter
  // topic and its offset stored. False when it cannot be parked: the caller
  // rewinds it (with whatever was fetched along) and pauses.
  bool ParkUndecodable(Route& route, rd_kafka_message_t* record,
                       const Metadata& metadata, const absl::Status& why) {
    ReportUndecodable(record, metadata, why);
    if (!DeadLetter(route, record, metadata, why, 0)) return false;
    StoreOffset(record);
    return true;
  }

  // One record: a failed attempt pauses only its partition (the record is
  // fetched again after the backoff) so that other partitions and topics go
  // on — an event may be waiting for one on another topic.
  void ProcessOne(Route& route, Decoded& d) {
    int attempt = 1;
    if (!attempts_.empty()) {
      auto it = attempts_.find(
          AttemptKey{route.topic, d.record->partition, d.record->offset});
      if (it != attempts_.end()) attempt = it->second + 1;
    }
    absl::Status status;
    if (route.metrics.latency != nullptr) {
      absl::Time start = absl::Now();
      status = route.handler(*d.event, d.metadata);
      route.metrics.latency->Observe(
          absl::ToDoubleSeconds(absl::Now() - start));
    } else {
      status = route.handler(*d.event, d.metadata);
    }
    const AttemptKey key{route.topic, d.record->partition, d.record->offset};
    if (status.ok()) {
      if (attempt > 1) attempts_.erase(key);
      StoreOffset(d.record);
      handled_++;
      if (route.metrics.handled != nullptr) route.metrics.handled->Increment();
      return;
    }
    failed_++;
    if (route.metrics.failed != nullptr) route.metrics.failed->Increment();
    if (IsPermanent(status) || attempt >= retry_.max_attempts) {
      attempts_.erase(key);
      LOG(WARNING) << "handler for " << route.topic << "/"
                   << d.record->partition << "@" << d.record->offset
                   << " failed after " << attempt << " attempt(s): " << status;
      std::vector<Decoded> one;
      one.push_back(std::move(d));
      Settle(route, one, status, attempt);
      return;
    }
    VLOG(1) << "handler for " << route.topic << " failed (attempt " << attempt
            << "), retrying: " << status;
    attempts_[key] = attempt;
    retries_++;
    if (route.metrics.retries != nullptr) route.metrics.retries->Increment();
    PausePartition(d.record, absl::Now() + BackoffFor(retry_, attempt));
  }

  // Rewinds the record's partition to it and pauses fetching it until
  // `until`; ResumeDuePartitions() lets it go on.
  void PausePartition(rd_kafka_message_t* record, absl::Time until) {
    Rewind({record});
    std::string topic = rd_kafka_topic_name(record->rkt);
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), record->partition);
    rd_kafka_pause_partitions(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    paused_[{topic, record->partition}] = until;
  }

  void ResumeDuePartitions() {
    if (paused_.empty()) return;
    absl::Time now = absl::Now();
    for (auto it = paused_.begin(); it != paused_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      rd_kafka_topic_partition_list_t* list =
          rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(list, it->first.first.c_str(),
                                        it->first.second);
      rd_kafka_resume_partitions(rk_, list);
      rd_kafka_topic_partition_list_destroy(list);
      it = paused_.erase(it);
    }
  }

  absl::Status Call(Route& route, std::vector<Decoded>& batch) {
    if (!route.batch_handler) {
      return route.handler(*batch[0].event, batch[0].metadata);
    }
    std::vector<Received<Message>> received;
    received.reserve(batch.size());
    for (Decoded& d : batch) received.push_back({d.event, &d.metadata});
    return route.batch_handler(received);
  }

  // The last attempt failed: dead-letter every record, or rewind.
  void Settle(Route& route, std::vector<Decoded>& batch,
              const absl::Status& status, int attempts) {
    std::vector<rd_kafka_message_t*> unsettled;
    for (Decoded& d : batch) {
      if (DeadLetter(route, d.record, d.metadata, status, attempts)) {
        StoreOffset(d.record);
      } else {
        unsettled.push_back(d.record);
      }
    }
    if (!unsettled.empty()) {
      Rewind(unsettled);
      Pause(retry_.max_backoff);
    }
  }

  // Publishes to `<topic>.dlq` and waits for the broker's acknowledgement.
  bool DeadLetter(Route& route, rd_kafka_message_t* record,
                  const Metadata& metadata, const absl::Status& error,
                  int attempts) {
    if (!config_.consumer.dead_letter) return false;
    if (dlq_producer_ == nullptr) {
      Config producer_config = config_;
      producer_config.producer.delivery_timeout_ms = 30000;
      absl::StatusOr<std::unique_ptr<Producer>> producer =
          Producer::Create(producer_config);
      if (!producer.ok()) {
        LOG(ERROR) << "cannot create the dead-letter producer: "
                   << producer.status();
        return false;
      }
      dlq_producer_ = *std::move(producer);
    }
    FailedRecord failed;
    failed.topic = route.topic;
    failed.partition = record->partition;
    failed.offset = record->offset;
    rd_kafka_timestamp_type_t ts_type;
    failed.timestamp_ms = rd_kafka_message_timestamp(record, &ts_type);
    failed.log_append_time = ts_type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
    failed.consumer_group = config_.consumer.group_id;
    failed.key = std::string(metadata.key);
    if (record->payload != nullptr) {
      failed.value.assign(static_cast<const char*>(record->payload),
                          record->len);
    }
    failed.headers = metadata.AllHeaders();
    failed.error = error;
    failed.attempts = attempts;
    DeliveryResult sent =
        dlq_producer_->Publish(DeadLetterRecord(failed)).get();
    if (!sent.ok()) {
      LOG(ERROR) << "cannot dead-letter " << route.topic << "/"
                 << record->partition << "@" << record->offset << ": "
                 << sent.status();
      return false;
    }
    LOG(WARNING) << "dead-lettered " << route.topic << "/" << record->partition
                 << "@" << record->offset << " to " << sent->topic << ": "
                 << error.message();
    dead_lettered_++;
    if (route.metrics.dead_lettered != nullptr) {
      route.metrics.dead_lettered->Increment();
    }
    return true;
  }

  void ReportUndecodable(rd_kafka_message_t* record, const Metadata& metadata,
                         const absl::Status& reason) {
    UndecodableRecord bad;
    bad.topic = metadata.topic;
    bad.partition = record->partition;
    bad.offset = record->offset;
    bad.key = metadata.key;
    bad.value = absl::string_view(static_cast<const char*>(record->payload),
                                  record->len);
    bad.reason = reason;
    bad.metadata = &metadata;
    (on_undecodable_ ? on_undecodable_ : LogUndecodable)(bad);
  }

  // Seeks each partition back to its earliest record in `records`, so they
  // are fetched (and handled) again; their offsets stay uncommitted.
  void Rewind(const std::vector<rd_kafka_message_t*>& records) {
    std::map<std::pair<std::string, int32_t>, int64_t> earliest;
    for (rd_kafka_message_t* r : records) {
      auto key = std::make_pair(std::string(rd_kafka_topic_name(r->rkt)),
                                r->partition);
      auto it = earliest.find(key);
      if (it == earliest.end() || r->offset < it->second) {
        earliest[key] = r->offset;
      }
    }
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(earliest.size()));
    for (const auto& [tp, offset] : earliest) {
      rd_kafka_topic_partition_list_add(list, tp.first.c_str(), tp.second)
          ->offset = offset;
    }
    rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list, 5000);
    if (error != nullptr) {
      LOG(WARNING) << "cannot rewind: " << rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(list);
  }

  // Sleeps for `d` unless Stop() comes first; false when stopping.
  bool Pause(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), d);
    return !stop_;
  }

  void StoreOffset(rd_kafka_message_t* record) {
    // Stores offset + 1: the next record to read.
    rd_kafka_resp_err_t err =
        rd_kafka_offset_store(record->rkt, record->partition, record->offset);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Typically the partition was just revoked: it will be redelivered.
      VLOG(1) << "offset store: " << rd_kafka_err2str(err);
    }
  }

  absl::Status Close() {
    // Buffered records were never started: drop them, uncommitted.
    for (auto& [topic, route] : routes_) route.buffered.clear();
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, nullptr, /*async=*/0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR &&
        err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      LOG(WARNING) << "final commit failed (records may be redelivered): "
                   << rd_kafka_err2str(err);
    }
    err = rd_kafka_consumer_close(rk_);
    closed_ = true;
    dlq_producer_.reset();
    LOG(INFO) << "consumer group " << config_.consumer.group_id
              << " left after handling " << handled_.load() << " records";
    return kafka_internal::ToStatus(err, "close");
  }

  const Config config_;
  RetryPolicy retry_;
  rd_kafka_t* rk_ = nullptr;
  absl::flat_hash_map<std::string, Route> routes_;
  UndecodableCallback on_undecodable_;
  metrics::Registry* registry_ = nullptr;
  std::unique_ptr<Producer> dlq_producer_;
  // Single-record retries in progress: attempts made per record, and the
  // partitions paused until their next attempt.
  using AttemptKey = std::tuple<std::string, int32_t, int64_t>;
  std::map<AttemptKey, int> attempts_;
  std::map<std::pair<std::string, int32_t>, absl::Time> paused_;
  int64_t buffered_total_ = 0;  // records waiting in batch routes
  bool running_ = false;
  bool closed_ = false;
  std::atomic<int64_t> handled_{0}, failed_{0}, retries_{0}, dead_lettered_{0};
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;  // wakes Pause()
  std::atomic<bool> stop_requested_{false};
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

absl::Status Consumer::Run() { return impl_->Run(); }

void Consumer::Stop() { impl_->Stop(); }

int64_t Consumer::handled_count() const { return impl_->Stats().handled; }

std::vector<std::string> Consumer::Assignment() const {
  return impl_->Assignment();
}

}  // namespace herald
