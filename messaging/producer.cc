#include "messaging/producer.h"

#include <glog/logging.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstring>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "messaging/cloudevents.h"
#include "messaging/contract.h"
#include "messaging/internal/kafka.h"

namespace herald {

using kafka_internal::ToStatus;

namespace {

// Owned by librdkafka from produce until the delivery report. Kept small
// and flat: one allocation per send (librdkafka copies key and value).
struct PendingDelivery {
  explicit PendingDelivery(DeliveryCallback cb) : callback(std::move(cb)) {}
  void set_event_id(absl::string_view id) {
    event_id_size = std::min(id.size(), sizeof(event_id));
    std::memcpy(event_id, id.data(), event_id_size);
  }
  absl::string_view id() const { return {event_id, event_id_size}; }

  char event_id[64];
  size_t event_id_size = 0;
  DeliveryCallback callback;
};

// PendingDelivery objects recycled: a send takes one on the sending thread,
// and its report (served on the sending thread, mostly) gives it back there.
// Saves an allocation per send, which counts when the allocator is busy with
// librdkafka's own per-record allocations. Reports served on another thread
// (the producer's poller) hand their objects back through a shared list, in
// batches, so that the senders still find them.
class PendingPool {
 public:
  static PendingDelivery* New(DeliveryCallback&& callback) {
    std::vector<PendingDelivery*>& free = Free();
    if (free.empty()) TakeShared(free);
    if (free.empty()) return new PendingDelivery(std::move(callback));
    PendingDelivery* pending = free.back();
    free.pop_back();
    pending->callback.swap(callback);  // (its own is empty: cheaper than =)
    return pending;
  }
  static void Delete(PendingDelivery* pending) {
    pending->callback = nullptr;
    std::vector<PendingDelivery*>& free = Free();
    free.push_back(pending);
    if (free.size() >= kMaxFree) GiveShared(free);
  }

 private:
  static constexpr size_t kMaxFree = 4096;
  static constexpr size_t kBatch = kMaxFree / 2;
  struct FreeList {
    std::vector<PendingDelivery*> items;
    ~FreeList() {
      for (PendingDelivery* p : items) delete p;
    }
  };
  static std::vector<PendingDelivery*>& Free() {
    // (A plain pointer: a thread_local with a destructor costs a guard check
    // at each use.)
    thread_local std::vector<PendingDelivery*>* items = nullptr;
    if (items == nullptr) {
      thread_local FreeList list;
      list.items.reserve(kMaxFree);
      items = &list.items;
    }
    return *items;
  }
  // (Lists of fixed capacity, so that moving objects allocates nothing.)
  struct Shared {
    Shared() { items.reserve(4 * kMaxFree); }
    absl::Mutex mu;
    std::vector<PendingDelivery*> items ABSL_GUARDED_BY(mu);
  };
  static Shared& shared() {
    static auto* shared = new Shared;
    return *shared;
  }
  // Moves half of a full list to the shared one (or frees it, when that
  // already holds plenty).
  static void GiveShared(std::vector<PendingDelivery*>& free) {
    auto batch = free.end() - kBatch;
    {
      absl::MutexLock lock(&shared().mu);
      if (shared().items.size() + kBatch <= shared().items.capacity()) {
        shared().items.insert(shared().items.end(), batch, free.end());
        batch = free.end();
      }
    }
    for (auto it = batch; it != free.end(); ++it) delete *it;
    free.resize(free.size() - kBatch);
  }
  static void TakeShared(std::vector<PendingDelivery*>& free) {
    absl::MutexLock lock(&shared().mu);
    std::vector<PendingDelivery*>& items = shared().items;
    auto batch = items.end() - std::min(kBatch, items.size());
    free.insert(free.end(), batch, items.end());
    items.erase(batch, items.end());
  }
};

// Tells producers apart for the threads' caches (see TopicHandle).
uint64_t NextProducerId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// librdkafka's copy of (name, value) pairs (strings or string views).
template <typename Pairs>
rd_kafka_headers_t* NewHeaders(const Pairs& pairs) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(std::size(pairs));
  for (const auto& [name, value] : pairs) {
    rd_kafka_header_add(headers, name.data(), name.size(), value.data(),
                        value.size());
  }
  return headers;
}

// Adapts a callback-style send to a future.
template <typename SendFn>
std::future<DeliveryResult> AsFuture(SendFn send) {
  auto promise = std::make_shared<std::promise<DeliveryResult>>();
  std::future<DeliveryResult> future = promise->get_future();
  send([promise](const DeliveryResult& result) { promise->set_value(result); });
  return future;
}

}  // namespace

class Producer::Impl {
 public:
  // A sending thread serves delivery reports at least this often (see
  // Enqueue), well within the 5 ms the poller leaves to senders.
  static constexpr int64_t kSenderPollNs = 2'000'000;
  // Records in flight from which sends count as bulk (see Enqueue).
  static constexpr int64_t kBulkInFlight = 64;

  Impl(const Config& config) : config_(config) {}

  ~Impl() {
    if (rk_ == nullptr) return;
    rd_kafka_resp_err_t err =
        rd_kafka_flush(rk_, config_.producer.close_timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      LOG(WARNING) << "producer closing with " << rd_kafka_outq_len(rk_)
                   << " undelivered messages; cancelling them";
      rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(rk_, 1000);
    }
    stop_ = true;
    if (warm_up_.joinable()) warm_up_.join();
    if (poller_.joinable()) poller_.join();
    rd_kafka_poll(rk_, 0);
    {
      absl::MutexLock lock(&topics_mu_);
      for (const auto& [name, handle] : topics_) {
        rd_kafka_topic_destroy(handle);
      }
    }
    rd_kafka_destroy(rk_);
  }

  absl::Status Start() {
    absl::StatusOr<kafka_internal::ConfPtr> conf =
        kafka_internal::NewConf(config_, kafka_internal::ClientKind::kProducer);
    if (!conf.ok()) return conf.status();
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &Impl::OnDelivery);
    rd_kafka_conf_set_error_cb(conf->get(), &Impl::OnError);
    char error[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), error, sizeof(error));
    if (rk_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot create Kafka producer: ",
                       kafka_internal::RedactKafkaText(error)));
    }
    conf->release();  // owned by rk_ now
    // The cluster's topics, fetched at once: a first send to a topic the
    // producer has not seen waited for librdkafka's once-a-second scan of
    // unknown topics (up to ~1 s); from the metadata cache it goes at once.
    // Every topic is asked for, so none is auto-created.
    warm_up_ = std::thread([this] {
      for (int attempt = 0; attempt < 10 && !stop_; ++attempt) {
        const rd_kafka_metadata_t* metadata = nullptr;
        if (rd_kafka_metadata(rk_, /*all_topics=*/1, nullptr, &metadata,
                              /*timeout_ms=*/500) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
          rd_kafka_metadata_destroy(metadata);
          return;
        }
      }
    });
    poller_ = std::thread([this] {
      int64_t bulk_send_seen = 0;
      while (!stop_) {
        // While senders serve reports themselves (see Enqueue and Flush),
        // stay out of their way; otherwise serve reports in batches (one
        // wake-up per millisecond instead of one per report), and block when
        // idle. Senders serve them while they polled within 5 ms, while
        // they flush, and while typed sends with many records in flight
        // go on (those serve reports by the clock, see Enqueue).
        int64_t since_senders_polled =
            absl::GetCurrentTimeNanos() -
            sender_polled_ns_.load(std::memory_order_relaxed);
        const int64_t bulk_send =
            last_bulk_send_ns_.load(std::memory_order_relaxed);
        const bool bulk_sending = bulk_send != bulk_send_seen;
        bulk_send_seen = bulk_send;
        if (since_senders_polled < 5'000'000 || bulk_sending ||
            flushing_.load(std::memory_order_relaxed) > 0) {
          absl::SleepFor(absl::Milliseconds(5));
        } else if (rd_kafka_poll(rk_, 100) > 0) {
          absl::SleepFor(absl::Milliseconds(1));
        }
      }
    });
    return absl::OkStatus();
  }

  void Publish(OutgoingMessage message, DeliveryCallback callback) {
    rd_kafka_headers_t* headers = NewHeaders(message.headers);
    PendingDelivery* pending = PendingPool::New(std::move(callback));
    pending->set_event_id(message.event_id);
    Enqueue(message.topic, message.key, message.value, headers, pending);
  }

  void Publish(const RecordView& record, DeliveryCallback callback) {
    rd_kafka_headers_t* headers = NewHeaders(record.headers);
    PendingDelivery* pending = PendingPool::New(std::move(callback));
    pending->set_event_id(record.event_id);
    thread_local std::string topic;  // NUL-terminated for librdkafka
    topic.assign(record.topic.data(), record.topic.size());
    Enqueue(topic, record.key, record.value, headers, pending);
  }

  // Encodes `event` straight into librdkafka's structures: the same record as
  // EncodeEvent + Publish, without the intermediate copies (hot path).
  // `type` and `reflection` are event's.
  void Send(const google::protobuf::Message& event,
            const google::protobuf::Descriptor* type,
            const google::protobuf::Reflection* reflection,
            const Contract* known_contract, absl::string_view topic,
            DeliveryCallback&& callback) {
    absl::StatusOr<const Contract*> contract =
        known_contract != nullptr ? known_contract : ContractOf(*type);
    if (!contract.ok() && topic.empty()) {
      callback(contract.status());
      return;
    }
    thread_local std::string value;  // reused: librdkafka copies it
    if (!event.SerializeToString(&value)) {
      callback(absl::InvalidArgumentError(
          absl::StrCat("cannot serialize ", type->full_name())));
      return;
    }
    PendingDelivery* pending = PendingPool::New(std::move(callback));
    std::string key_scratch;
    absl::string_view key;
    if (contract.ok() && (*contract)->key_field != nullptr) {
      const google::protobuf::FieldDescriptor& field = *(*contract)->key_field;
      if (!(*contract)->key_in_encoding ||
          !KeyFieldInEncoding(value, field.number(), &key)) {
        key = KeyFieldView(event, field, &key_scratch, reflection);
      }
    }
    WriteEventId(pending->event_id);
    pending->event_id_size = kEventIdSize;
    char time[kEventTimeMaxSize];
    const absl::Time now = absl::Now();
    size_t time_size = WriteEventTime(now, time);
    const std::string& type_name = type->full_name();
    rd_kafka_headers_t* headers = rd_kafka_headers_new(6);
    auto add = [headers](absl::string_view name, absl::string_view value) {
      rd_kafka_header_add(headers, name.data(), name.size(), value.data(),
                          value.size());
    };
    ForEachEventHeader(pending->id(), type_name, config_.service,
                       absl::string_view(time, time_size), add);
    if (topic.empty()) {
      Enqueue((*contract)->topic, key, value, headers, pending, now);
    } else {
      thread_local std::string named;  // NUL-terminated for librdkafka
      if (named != topic) named.assign(topic.data(), topic.size());
      Enqueue(named, key, value, headers, pending, now);
    }
  }

  // Hands a record to librdkafka, waiting up to enqueue_timeout_ms for room.
  // Takes ownership of `headers` and `pending` in every case. `sent_at`,
  // when the caller knows it, lets the sender serve reports by the clock.
  void Enqueue(const std::string& topic, absl::string_view key,
               absl::string_view value, rd_kafka_headers_t* headers,
               PendingDelivery* pending,
               absl::Time sent_at = absl::InfinitePast()) {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__FATAL;
    if (!has_fatal_error_.load(std::memory_order_relaxed)) {
      rd_kafka_vu_t record[6];
      // Typed sends name the topic by handle (see TopicHandle), published
      // records by name.
      rd_kafka_topic_t* handle =
          sent_at == absl::InfinitePast() ? nullptr : TopicHandle(topic);
      if (handle != nullptr) {
        record[0].vtype = RD_KAFKA_VTYPE_RKT;
        record[0].u.rkt = handle;
      } else {
        record[0].vtype = RD_KAFKA_VTYPE_TOPIC;
        record[0].u.cstr = topic.c_str();
      }
      record[1].vtype = RD_KAFKA_VTYPE_KEY;
      record[1].u.mem = {const_cast<char*>(key.empty() ? nullptr : key.data()),
                         key.size()};
      record[2].vtype = RD_KAFKA_VTYPE_VALUE;
      record[2].u.mem = {const_cast<char*>(value.data()), value.size()};
      record[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      record[3].u.i = RD_KAFKA_MSG_F_COPY;
      record[4].vtype = RD_KAFKA_VTYPE_HEADERS;
      record[4].u.headers = headers;
      record[5].vtype = RD_KAFKA_VTYPE_OPAQUE;
      record[5].u.ptr = pending;
      absl::Time deadline = absl::InfinitePast();
      while (true) {
        rd_kafka_error_t* error =
            rd_kafka_produceva(rk_, record, std::size(record));
        err = error == nullptr ? RD_KAFKA_RESP_ERR_NO_ERROR
                               : rd_kafka_error_code(error);
        if (error != nullptr) rd_kafka_error_destroy(error);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        // The local queue drains as deliveries complete.
        absl::Time now = absl::Now();
        if (deadline == absl::InfinitePast()) {
          deadline =
              now + absl::Milliseconds(config_.producer.enqueue_timeout_ms);
        }
        if (now >= deadline) break;
        absl::SleepFor(absl::Milliseconds(1));
      }
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // still ours on failure
      absl::Status fatal = FatalError();
      pending->callback(
          !fatal.ok()
              ? fatal
              : ToStatus(err, absl::StrCat("cannot enqueue to ", topic)));
      PendingPool::Delete(pending);
      return;
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    // Under load, the sending thread serves the delivery reports that are
    // ready now and then, as librdkafka's own examples do: librdkafka frees
    // each record's memory while serving its report, and memory freed on
    // the thread that allocated it is reused at once instead of crossing
    // over to another thread's heap (several times slower with glibc).
    // Every 1,024 sends; and a typed send (which took the time anyway)
    // with many records in flight, a bulk send, every kSenderPollNs and
    // tells the poller to stay out: however slowly the sender goes (a busy
    // machine, a profiler), its reports stay on its thread. (A sender that
    // waits for each report has few in flight: the poller serves those at
    // once.)
    thread_local uint32_t sends = 0;
    bool poll = (++sends & 1023) == 0;
    int64_t now_ns = 0;
    if (sent_at != absl::InfinitePast() &&
        in_flight_.load(std::memory_order_relaxed) >= kBulkInFlight) {
      now_ns = absl::ToUnixNanos(sent_at);
      last_bulk_send_ns_.store(now_ns, std::memory_order_relaxed);
      poll =
          poll || now_ns - sender_polled_ns_.load(std::memory_order_relaxed) >=
                      kSenderPollNs;
    }
    if (poll) {
      rd_kafka_poll(rk_, 0);
      sender_polled_ns_.store(
          now_ns != 0 ? now_ns : absl::GetCurrentTimeNanos(),
          std::memory_order_relaxed);
    }
  }

  // librdkafka's handle on `topic`, kept for the producer's life (null when
  // librdkafka refuses the name: send by name then, for its error): a send
  // by handle skips librdkafka's lookup of the topic by name, a lock and a
  // search. Each thread remembers the last one it used.
  rd_kafka_topic_t* TopicHandle(const std::string& topic) {
    struct Last {
      uint64_t producer = 0;  // id_: unlike addresses, never reused
      std::string topic;
      rd_kafka_topic_t* handle = nullptr;
    };
    thread_local Last last;
    if (last.producer == id_ && last.topic == topic) return last.handle;
    rd_kafka_topic_t* handle;
    {
      absl::MutexLock lock(&topics_mu_);
      auto it = topics_.find(topic);
      if (it != topics_.end()) {
        handle = it->second;
      } else {
        handle = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
        if (handle == nullptr) return nullptr;  // (nothing kept)
        topics_.emplace(topic, handle);
      }
    }
    last = {id_, topic, handle};
    return handle;
  }

  absl::Status Flush(absl::Duration timeout) {
    // rd_kafka_flush serves the reports on this thread as they arrive: the
    // poller stays out meanwhile, so that the records' memory is freed on
    // the thread that allocated it (see Enqueue).
    flushing_.fetch_add(1, std::memory_order_relaxed);
    rd_kafka_resp_err_t err =
        rd_kafka_flush(rk_, absl::ToInt64Milliseconds(timeout));
    flushing_.fetch_sub(1, std::memory_order_relaxed);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      return absl::DeadlineExceededError(absl::StrCat("flush timed out with ",
                                                      rd_kafka_outq_len(rk_),
                                                      " messages outstanding"));
    }
    return ToStatus(err, "flush");
  }

  int64_t InFlight() const { return in_flight_.load(); }
  bool BrokersReachable() const { return brokers_reachable_.load(); }

  void TriggerFatalError(const std::string& reason) {
    rd_kafka_test_fatal_error(rk_, RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
                              reason.c_str());
  }

  absl::Status FatalError() const {
    absl::MutexLock lock(&mu_);
    return fatal_;
  }

  const Config& config() const { return config_; }

 private:
  // Fills `report` with where `message` landed.
  static void Report(const rd_kafka_message_t& message,
                     const PendingDelivery& pending, DeliveryReport& report) {
    // (Most reports repeat the last one's topic: compare, copy if not.)
    absl::string_view topic = rd_kafka_topic_name(message.rkt);
    if (topic != report.topic) report.topic.assign(topic.data(), topic.size());
    report.partition = message.partition;
    report.offset = message.offset;
    absl::string_view id = pending.id();
    if (report.event_id.size() == id.size()) {  // (no _M_replace)
      std::memcpy(report.event_id.data(), id.data(), id.size());
    } else {
      report.event_id.assign(id.data(), id.size());
    }
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message,
                         void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    auto* pending = static_cast<PendingDelivery*>(message->_private);
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      pending->callback(
          ToStatus(message->err,
                   absl::StrCat("delivery to ",
                                rd_kafka_topic_name(message->rkt), " failed")));
    } else {
      // One report per thread, refilled: assigning into its strings reuses
      // their buffers (callbacks get it by const reference and copy what
      // they keep).
      // (A callback that sends may serve reports in turn: those nested
      // ones get a report of their own.)
      thread_local DeliveryResult reused = DeliveryReport();
      thread_local bool in_use = false;
      if (!self->brokers_reachable_.load(std::memory_order_relaxed)) {
        self->brokers_reachable_.store(true, std::memory_order_relaxed);
      }
      if (!in_use) {
        in_use = true;
        Report(*message, *pending, *reused);
        pending->callback(reused);
        in_use = false;
      } else {
        DeliveryResult nested = DeliveryReport();
        Report(*message, *pending, *nested);
        pending->callback(nested);
      }
    }
    PendingPool::Delete(pending);
    self->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512];
      rd_kafka_resp_err_t cause =
          rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
      const std::string shown = kafka_internal::RedactKafkaText(fatal);
      LOG(ERROR) << "Kafka producer fatal error: " << shown;
      absl::MutexLock lock(&self->mu_);
      self->fatal_ = absl::InternalError(absl::StrCat(
          "fatal producer error (", rd_kafka_err2name(cause), "): ", shown));
      self->has_fatal_error_ = true;
      return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
      self->brokers_reachable_ = false;
    }
    LOG(WARNING) << "Kafka producer: "
                 << rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))
                 << ": " << kafka_internal::RedactKafkaText(reason);
  }

  const Config config_;
  rd_kafka_t* rk_ = nullptr;
  std::thread poller_;
  std::thread warm_up_;  // fetches the topics' metadata once, at start
  std::atomic<bool> stop_{false};
  const uint64_t id_ = NextProducerId();
  absl::Mutex topics_mu_;
  absl::flat_hash_map<std::string, rd_kafka_topic_t*> topics_
      ABSL_GUARDED_BY(topics_mu_);
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> sender_polled_ns_{0};
  std::atomic<int64_t> last_bulk_send_ns_{0};  // see Enqueue (a plain store)
  std::atomic<int> flushing_{0};               // threads inside Flush
  std::atomic<bool> has_fatal_error_{false};
  std::atomic<bool> brokers_reachable_{true};
  mutable absl::Mutex mu_;
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(
    const Config& config) {
  auto impl = std::make_unique<Impl>(config);
  absl::Status started = impl->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Producer::~Producer() = default;

std::future<DeliveryResult> Producer::SendMessage(
    const google::protobuf::Message& event, absl::string_view topic) {
  return AsFuture([&](DeliveryCallback done) {
    SendMessage(event, topic, std::move(done));
  });
}

void Producer::SendMessage(const google::protobuf::Message& event,
                           absl::string_view topic,
                           DeliveryCallback on_delivery) {
  // (GetDescriptor and GetReflection are virtual calls through a once-flag:
  // ask once.)
  SendTyped(event, {event.GetDescriptor(), event.GetReflection()}, topic,
            std::move(on_delivery));
}

std::future<DeliveryResult> Producer::SendTyped(
    const google::protobuf::Message& event, const MessageType& type,
    absl::string_view topic) {
  return AsFuture([&](DeliveryCallback done) {
    SendTyped(event, type, topic, std::move(done));
  });
}

void Producer::SendTyped(const google::protobuf::Message& event,
                         const MessageType& type, absl::string_view topic,
                         DeliveryCallback&& on_delivery) {
  impl_->Send(event, type.descriptor, type.reflection, type.contract, topic,
              std::move(on_delivery));
}

const Contract* Producer::ContractOrNull(
    const google::protobuf::Descriptor& type) {
  absl::StatusOr<const Contract*> contract = ContractOf(type);
  return contract.ok() ? *contract : nullptr;
}

void Producer::Publish(OutgoingMessage message, DeliveryCallback on_delivery) {
  impl_->Publish(std::move(message), std::move(on_delivery));
}

void Producer::Publish(const RecordView& record, DeliveryCallback on_delivery) {
  impl_->Publish(record, std::move(on_delivery));
}

std::future<DeliveryResult> Producer::Publish(OutgoingMessage message) {
  return AsFuture([&](DeliveryCallback done) {
    impl_->Publish(std::move(message), std::move(done));
  });
}

absl::Status Producer::Flush(absl::Duration timeout) {
  return impl_->Flush(timeout);
}

int64_t Producer::InFlight() const { return impl_->InFlight(); }

absl::Status Producer::FatalError() const { return impl_->FatalError(); }

bool Producer::BrokersReachable() const { return impl_->BrokersReachable(); }

void Producer::TriggerFatalErrorForTesting(absl::string_view reason) {
  impl_->TriggerFatalError(std::string(reason));
}

}  // namespace herald
