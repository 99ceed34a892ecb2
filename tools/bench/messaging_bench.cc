// Typed Send<T>/Subscribe<T> against raw librdkafka, side by side on the same
// mock cluster, with the same records (value bytes, key, the six CloudEvents
// headers) and the same client settings, in the same process.
//
// "Raw" is the same job written by hand against librdkafka's C API, with the
// same client settings as Herald's (RawConf: those messaging/internal/kafka.cc
// derives from the same Config, e.g. acks=all, idempotence, linger.ms, the
// murmur2_random partitioner; group, commit interval, fetch wait):
//
//   produce  raw: encode the event, take its key with the compiled getter,
//                 stamp a fresh ce_id and ce_time, add the six CloudEvents
//                 headers, produce a copy; a counting delivery callback;
//                 reports served every 1,024 sends and in the flush.
//          typed: producer->Send(topic, event, callback): the same record
//                 from the contract (key field, type name), a delivery
//                 report per record (topic, partition, offset, event id)
//                 to a callback that counts it.
//   consume  raw: poll, check ce_type against the event's type name, decode
//                 into a reused event, use it, store the offset.
//          typed: Subscribe<PaymentCreated> with a handler that uses the
//                 event (concurrency 1: handlers run on the polling
//                 thread); Herald adds the handler's Metadata (CloudEvents
//                 attributes, trace context, timestamp), commit only past
//                 settled records, per-partition order, the retry and
//                 dead-letter bookkeeping (idle while handlers succeed).
//
// The ratio is what Herald's typed layer costs on top of that.
//
//   bazel run -c opt //tools/bench:messaging_bench -- --pairs=20
//
// Both sides run in one process in alternating short slices (--pairs pairs
// of --messages records each; raw first in even pairs, typed first in odd
// ones), so that both see the same machine, heap and broker state; each
// pair gives a typed/raw ratio. Prints every pair's figures and, per clock
// (wall, the process's CPU time, the working thread's CPU time), the median
// of the pair ratios with their quartiles and range. On a machine shared
// with other work the wall clock varies most; the CPU clocks much less.
// Targets: produce >= 0.95, consume >= 0.90 per CPU-second. For counts
// that hardly move with the machine's load, see messaging_instructions.sh.
//
// The consumers' topic is filled evenly over enough partitions for the mock
// broker (which keeps ~5 MiB per partition) to keep every record; the bench
// checks that it did, and stops with a message if a consumer gets nothing
// for a minute, instead of waiting forever.
#include <glog/logging.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/usage.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/cloudevents.h"
#include "messaging/consumer.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"

// Under valgrind --tool=callgrind (tools/bench/messaging_instructions.sh),
// each slice's instructions, every thread's, are dumped on their own.
// Without valgrind (or its header) these do nothing.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(label)
#endif

ABSL_FLAG(int, messages, 20000, "messages per slice");
ABSL_FLAG(int, pairs, 20, "pairs of slices, raw and typed (medians reported)");
ABSL_FLAG(int, partitions, 16, "partitions per topic (at least)");
ABSL_FLAG(int, fetch_wait_ms, 10, "consumer fetch.wait.max.ms (both sides)");
ABSL_FLAG(int, settle_seconds, 2,
          "seconds the consumers prefetch before the timed slices");
ABSL_FLAG(bool, produce_only, false, "skip the consume phase (profiling)");
ABSL_FLAG(std::string, broker_topics, "",
          "internal: run as the broker process with these topics");

namespace herald {
namespace {

using contracts::v1::PaymentCreated;

PaymentCreated SamplePayment(int i) {
  PaymentCreated p;
  p.set_payment_id(absl::StrCat("pay_", 1000000 + i % 1000));
  p.set_user_id("user_5f2c9a7e-3b1d-4c8e-9f0a-1b2c3d4e5f60");
  p.set_amount(1999 + i);
  p.set_currency("EUR");
  p.mutable_created_at()->set_seconds(1764000000);
  return p;
}

std::vector<PaymentCreated> SampleEvents() {
  std::vector<PaymentCreated> events(1000);
  for (int i = 0; i < 1000; ++i) events[i] = SamplePayment(i);
  return events;
}

const std::map<std::string, std::string> kQueueProperties = {
    {"queued.max.messages.kbytes", "1048576"},
    {"queue.buffering.max.messages", "2000000"},
};

// CPU time of the whole process (every thread: the sender or handler,
// Herald's and librdkafka's threads; the mock broker runs in a process of its
// own) and of the calling thread, precise to the nanosecond.
double CpuSeconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// What one slice of records cost, as records per second of each clock.
struct Rate {
  double wall = 0;
  double cpu = 0;         // per CPU-second of the process
  double thread_cpu = 0;  // per CPU-second of the sending/handling thread
};

// Started and read on the thread that does the slice's work.
class Stopwatch {
 public:
  void Start() {
    wall_ = absl::Now();
    cpu_ = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    thread_ = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  }
  Rate RateOf(int n) const {
    return {n / absl::ToDoubleSeconds(absl::Now() - wall_),
            n / (CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_),
            n / (CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - thread_)};
  }

 private:
  absl::Time wall_;
  double cpu_ = 0;
  double thread_ = 0;
};

Config BenchConfig(const std::string& brokers, const std::string& group) {
  Config config;
  config.service = "bench";
  config.brokers = brokers;
  config.consumer.group_id = group;
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.commit_interval_ms = 5000;
  config.consumer.fetch_wait_max_ms = absl::GetFlag(FLAGS_fetch_wait_ms);
  // librdkafka 2.0.2 stops fetching for a fixed 1 s once a consumer's local
  // queue passes queued.max.messages.kbytes (64 MiB), and a producer returns
  // QUEUE_FULL past queue.buffering.max.messages: size both above one
  // round's data so that neither side measures those pauses.
  config.kafka_properties = kQueueProperties;
  return config;
}

void SetOrDie(rd_kafka_conf_t* conf, const char* name, const std::string& v) {
  char error[512];
  CHECK_EQ(rd_kafka_conf_set(conf, name, v.c_str(), error, sizeof(error)),
           RD_KAFKA_CONF_OK)
      << name << ": " << error;
}

// --- raw librdkafka -------------------------------------------------------

std::atomic<int64_t> raw_delivered{0};

void RawDelivered(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  CHECK_EQ(m->err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(m->err);
  raw_delivered.fetch_add(1, std::memory_order_relaxed);
}

// The client settings Herald's clients get from `config`
// (messaging/internal/kafka.cc NewConf), set by hand: the same librdkafka
// behaviour on both sides. `role` adds the producer's or the consumer's.
rd_kafka_conf_t* RawConf(const Config& config,
                         const std::map<std::string, std::string>& role) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  SetOrDie(conf, "bootstrap.servers", config.brokers);
  SetOrDie(conf, "client.id", config.client_id);
  for (const auto& [name, value] : role) SetOrDie(conf, name.c_str(), value);
  for (const auto& [name, value] : config.kafka_properties) {
    SetOrDie(conf, name.c_str(), value);
  }
  return conf;
}

// The same job as Send<T>, written by hand against librdkafka: encode the
// event, take its key (the compiled getter), stamp a fresh id and time, add
// the six headers, produce with a copy of key and value; a delivery report
// callback counts the deliveries; the sending thread serves reports every
// 1,024 sends and in the final flush.
class RawProducer {
 public:
  RawProducer(const Config& config, std::string topic)
      : topic_(std::move(topic)), events_(SampleEvents()) {
    const ProducerConfig& p = config.producer;
    rd_kafka_conf_t* conf = RawConf(
        config, {{"acks", "all"},
                 {"enable.idempotence", "true"},
                 {"compression.codec", "none"},
                 {"linger.ms", absl::StrCat(p.linger_ms)},
                 {"message.timeout.ms", absl::StrCat(p.delivery_timeout_ms)},
                 {"partitioner", p.partitioner}});
    CHECK(p.compression == Compression::kNone);
    rd_kafka_conf_set_dr_msg_cb(conf, RawDelivered);
    char error[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    CHECK(rk_ != nullptr) << error;
    // As Herald's producer does when it starts (messaging/producer.cc): the
    // cluster's topics fetched at once, else the first send waits for
    // librdkafka's once-a-second scan of unknown topics, up to a second.
    const rd_kafka_metadata_t* metadata = nullptr;
    CHECK_EQ(rd_kafka_metadata(rk_, 1, nullptr, &metadata, 10000),
             RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_metadata_destroy(metadata);
  }
  ~RawProducer() { rd_kafka_destroy(rk_); }

  // Sends `n` records and waits for their delivery reports.
  void Send(int n) {
    SendTo(n, [](rd_kafka_t* rk, const char* topic, const std::string& key,
                 const std::string& value, rd_kafka_headers_t* headers) {
      return rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_END);
    });
  }

  // The same records, over `partitions` partitions in turn rather than by
  // key (untimed: fills the consumers' topic evenly; by key, 1,000 keys
  // over a hundred partitions load some twice as much as others, past what
  // the mock broker keeps).
  void SendEvenly(int n, int partitions) {
    int32_t next = 0;
    SendTo(n, [&](rd_kafka_t* rk, const char* topic, const std::string& key,
                  const std::string& value, rd_kafka_headers_t* headers) {
      return rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic),
          RD_KAFKA_V_PARTITION(next++ % partitions),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_END);
    });
  }

  // The records the broker holds in `partitions` partitions of the topic.
  int64_t RecordsOnBroker(int partitions) {
    int64_t records = 0;
    for (int32_t p = 0; p < partitions; ++p) {
      int64_t low = 0, high = 0;
      CHECK_EQ(rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &low,
                                                &high, 10000),
               RD_KAFKA_RESP_ERR_NO_ERROR);
      records += high - low;
    }
    return records;
  }

 private:
  template <typename Produce>
  void SendTo(int n, Produce produce) {
    const std::string& type = PaymentCreated::descriptor()->full_name();
    const int64_t expected = raw_delivered.load() + n;
    for (int i = 0; i < n; ++i) {
      const PaymentCreated& event = events_[next_++ % events_.size()];
      event.SerializeToString(&value_);
      const std::string& key = event.payment_id();
      char id[kEventIdSize];
      WriteEventId(id);
      char time[kEventTimeMaxSize];
      size_t time_size = WriteEventTime(absl::Now(), time);
      rd_kafka_headers_t* headers = rd_kafka_headers_new(6);
      rd_kafka_header_add(headers, "ce_specversion", 14, "1.0", 3);
      rd_kafka_header_add(headers, "ce_id", 5, id, kEventIdSize);
      rd_kafka_header_add(headers, "ce_type", 7, type.data(), type.size());
      rd_kafka_header_add(headers, "ce_source", 9, "bench", 5);
      rd_kafka_header_add(headers, "ce_time", 7, time, time_size);
      rd_kafka_header_add(headers, "content-type", 12, "application/protobuf",
                          20);
      while (true) {
        rd_kafka_resp_err_t err =
            produce(rk_, topic_.c_str(), key, value_, headers);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        CHECK_EQ(err, RD_KAFKA_RESP_ERR__QUEUE_FULL);
        rd_kafka_poll(rk_, 1);
      }
      if (i % 1024 == 0) rd_kafka_poll(rk_, 0);
    }
    CHECK_EQ(rd_kafka_flush(rk_, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
    CHECK_EQ(raw_delivered.load(), expected);
  }

  std::string topic_;
  std::vector<PaymentCreated> events_;
  size_t next_ = 0;
  std::string value_;
  rd_kafka_t* rk_ = nullptr;
};

// The same job as the typed handler, by hand: poll a record, check the
// declared type (ce_type) against the event's, as Subscribe<T> does, decode
// the value into a reused event, use it, store the offset after success
// (committed in the background every commit interval, as Herald's are).
// What Herald does on top: the CloudEvents attributes and trace context a
// handler sees (one pass over the headers), the record's timestamp, the
// offset tracker (commit only past settled records), retries and
// dead-lettering when a handler fails, per-key order, metrics.
class RawConsumer {
 public:
  RawConsumer(const Config& config, const std::string& topic) {
    const ConsumerConfig& c = config.consumer;
    CHECK(c.auto_offset_reset == OffsetReset::kEarliest);
    rd_kafka_conf_t* conf = RawConf(
        config,
        {{"group.id", c.group_id},
         {"enable.auto.commit", "true"},
         {"enable.auto.offset.store", "false"},
         {"auto.commit.interval.ms", absl::StrCat(c.commit_interval_ms)},
         {"auto.offset.reset", "earliest"},
         {"session.timeout.ms", absl::StrCat(c.session_timeout_ms)},
         {"heartbeat.interval.ms", absl::StrCat(c.heartbeat_interval_ms)},
         {"fetch.wait.max.ms", absl::StrCat(c.fetch_wait_max_ms)}});
    char error[512];
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
    CHECK(rk_ != nullptr) << error;
    rd_kafka_poll_set_consumer(rk_);
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic.c_str(),
                                      RD_KAFKA_PARTITION_UA);
    CHECK_EQ(rd_kafka_subscribe(rk_, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(topics);
  }
  ~RawConsumer() {
    CHECK_GT(amount_, 0);
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }

  // Consumes the next `n` records.
  void Consume(int n) {
    int idle_polls = 0;
    for (int count = 0; count < n;) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
      if (m == nullptr) {
        CHECK_LT(++idle_polls, 600) << "raw consumer: no record for a minute "
                                    << "(" << count << " of " << n << ")";
        continue;
      }
      idle_polls = 0;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_t* headers = nullptr;
        const void* type = nullptr;
        size_t type_size = 0;
        if (rd_kafka_message_headers(m, &headers) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
          rd_kafka_header_get_last(headers, "ce_type", &type, &type_size);
        }
        CHECK(absl::string_view(static_cast<const char*>(type), type_size) ==
              type_);
        CHECK(event_.ParseFromArray(m->payload, static_cast<int>(m->len)));
        amount_ += event_.amount();
        rd_kafka_offset_store(m->rkt, m->partition, m->offset);
        ++count;
      }
      rd_kafka_message_destroy(m);
    }
  }

 private:
  rd_kafka_t* rk_ = nullptr;
  const std::string& type_ = PaymentCreated::descriptor()->full_name();
  PaymentCreated event_;
  int64_t amount_ = 0;
};

// --- typed Herald -----------------------------------------------------------

class TypedProducer {
 public:
  TypedProducer(const Config& config, std::string topic)
      : topic_(std::move(topic)), events_(SampleEvents()) {
    auto producer = Producer::Create(config);
    CHECK(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
  }

  // Sends `n` records and waits for their delivery reports.
  void Send(int n) {
    const int64_t expected = delivered_.load() + n;
    for (int i = 0; i < n; ++i) {
      producer_->Send(topic_, events_[next_++ % events_.size()],
                      [this](const DeliveryResult& r) {
                        CHECK(r.ok()) << r.status();
                        delivered_.fetch_add(1, std::memory_order_relaxed);
                      });
    }
    CHECK(producer_->Flush(absl::Minutes(1)).ok());
    CHECK_EQ(delivered_.load(), expected);
  }

 private:
  std::string topic_;
  std::vector<PaymentCreated> events_;
  size_t next_ = 0;
  std::atomic<int64_t> delivered_{0};
  std::unique_ptr<Producer> producer_;
};

// Subscribe<T> on a consumer running on a thread of its own; the handler
// waits between slices (blocking the consumer's loop, as consumer.
// concurrency=1 runs handlers on it), so that only one side works at a time.
class TypedConsumer {
 public:
  TypedConsumer(const Config& config, const std::string& topic) {
    auto consumer = Consumer::Create(config);
    CHECK(consumer.ok()) << consumer.status();
    consumer_ = *std::move(consumer);
    CHECK(consumer_
              ->Subscribe<PaymentCreated>(
                  topic, [this](const PaymentCreated& p,
                                const Metadata&) { return Handle(p); })
              .ok());
    thread_ = std::thread([this] { CHECK(consumer_->Run().ok()); });
  }
  ~TypedConsumer() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    consumer_->Stop();
    thread_.join();
    CHECK_GT(amount_, 0);
  }

  // Consumes the next `n` records; the rate as measured on the handler's
  // thread, from the slice's start to its last record.
  Rate Consume(int n) {
    absl::MutexLock lock(&mu_);
    budget_ = n;
    done_ = false;
    CHECK(mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Minutes(5)))
        << "typed consumer: a slice of " << n << " not done in 5 minutes";
    return rate_;
  }

 private:
  absl::Status Handle(const PaymentCreated& p) {
    if (left_ == 0) {  // between slices: wait for the next one
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](TypedConsumer* self) {
            return self->budget_ > 0 || self->stopping_;
          },
          this));
      if (stopping_) return absl::OkStatus();
      left_ = slice_ = budget_;
      budget_ = 0;
      watch_.Start();
    }
    amount_ += p.amount();
    if (--left_ == 0) {
      Rate rate = watch_.RateOf(slice_);
      absl::MutexLock lock(&mu_);
      rate_ = rate;
      done_ = true;
    }
    return absl::OkStatus();
  }

  std::unique_ptr<Consumer> consumer_;
  std::thread thread_;
  // The handler's own (one thread: concurrency=1).
  int left_ = 0;
  int slice_ = 0;
  int64_t amount_ = 0;
  Stopwatch watch_;
  absl::Mutex mu_;
  int budget_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Rate rate_ ABSL_GUARDED_BY(mu_);
};

// A mock cluster in a child process (this binary run again with
// --broker_topics), so that the CPU figures count the clients and not the
// broker.
// This program, for re-running it as the broker (not /proc/self/exe, which
// is the tool's own binary under valgrind).
std::string program_path;

// Runs this program again with `flags`; returns the child's pid and the
// read end of a pipe from its standard output.
std::pair<pid_t, int> SpawnSelf(std::vector<std::string> flags) {
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  pid_t pid = fork();
  CHECK_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    flags.insert(flags.begin(), "messaging_bench");
    std::vector<char*> argv;
    for (std::string& flag : flags) argv.push_back(flag.data());
    argv.push_back(nullptr);
    execv(program_path.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

class BrokerProcess {
 public:
  BrokerProcess(const std::vector<std::string>& topics, int partitions) {
    int out;
    std::tie(pid_, out) =
        SpawnSelf({absl::StrCat("--broker_topics=", absl::StrJoin(topics, ",")),
                   absl::StrCat("--partitions=", partitions)});
    char c;
    while (read(out, &c, 1) == 1 && c != '\n') address_.push_back(c);
    close(out);
    CHECK(!address_.empty()) << "the broker process did not start";
  }
  ~BrokerProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& address() const { return address_; }

 private:
  pid_t pid_;
  std::string address_;
};

// The child's side: serve until killed.
int ServeBroker() {
  auto cluster = MockCluster::Start(1);
  CHECK(cluster.ok()) << cluster.status();
  for (absl::string_view topic :
       absl::StrSplit(absl::GetFlag(FLAGS_broker_topics), ',')) {
    CHECK((*cluster)->CreateTopic(topic, absl::GetFlag(FLAGS_partitions)).ok());
  }
  std::printf("%s\n", (*cluster)->bootstrap_servers().c_str());
  std::fflush(stdout);
  while (true) pause();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Typed/raw ratios of the pairs, per clock: their median, quartiles and
// range, and each pair's figures. Each pair ran back to back on the same
// machine state, so its ratio is a fair one even when the machine is busy.
void Report(const char* what, const char* thread, const std::vector<Rate>& raw,
            const std::vector<Rate>& typed, double target) {
  const std::pair<const char*, double Rate::*> clocks[] = {
      {"wall clock", &Rate::wall},
      {"per CPU-second", &Rate::cpu},
      {thread, &Rate::thread_cpu}};
  std::printf("%s, msg/s raw/typed (typed/raw) per pair:\n", what);
  for (size_t i = 0; i < raw.size(); ++i) {
    std::printf("  pair %2zu (%s first):", i, i % 2 == 0 ? "raw" : "typed");
    for (const auto& [label, field] : clocks) {
      std::printf("  %s %.0f/%.0f (%.3f)", label, raw[i].*field,
                  typed[i].*field, typed[i].*field / raw[i].*field);
    }
    std::printf("\n");
  }
  for (const auto& [label, field] : clocks) {
    std::vector<double> ratios, raws, typeds;
    for (size_t i = 0; i < raw.size(); ++i) {
      ratios.push_back(typed[i].*field / raw[i].*field);
      raws.push_back(raw[i].*field);
      typeds.push_back(typed[i].*field);
    }
    std::sort(ratios.begin(), ratios.end());
    const size_t k = ratios.size();
    std::printf(
        "%s %s: typed/raw median of %zu pair ratios %.3f (quartiles "
        "%.3f..%.3f, range %.3f..%.3f)%s; median msg/s raw %.0f, typed "
        "%.0f\n",
        what, label, k, Median(ratios), ratios[k / 4], ratios[(3 * k) / 4],
        ratios.front(), ratios.back(),
        field == &Rate::thread_cpu
            ? ""
            : absl::StrFormat(" target >= %.2f", target).c_str(),
        Median(raws), Median(typeds));
  }
  std::fflush(stdout);
}

// Runs `pairs` pairs of slices of `n` records, raw and typed back to back,
// raw first in even pairs and typed first in odd ones (so that neither
// always follows the other); `raw_slice` and `typed_slice` each run one.
// Under callgrind, each slice's instructions are dumped as "<what> raw <p>"
// or "<what> typed <p>".
template <typename RawSlice, typename TypedSlice>
std::pair<std::vector<Rate>, std::vector<Rate>> Interleave(
    const char* what, int pairs, RawSlice raw_slice, TypedSlice typed_slice) {
  std::vector<Rate> raw, typed;
  auto run = [what](auto& slice, const char* side, int p) {
    CALLGRIND_ZERO_STATS;
    Rate rate = slice();
    CALLGRIND_DUMP_STATS_AT(absl::StrCat(what, " ", side, " ", p).c_str());
    return rate;
  };
  // (A dump also resets every thread's counts; CALLGRIND_ZERO_STATS only the
  // calling thread's, so the first slice would count the other threads' work
  // since the start.)
  CALLGRIND_DUMP_STATS_AT("untimed");
  for (int p = 0; p < pairs; ++p) {
    if (p % 2 == 0) {
      raw.push_back(run(raw_slice, "raw", p));
      typed.push_back(run(typed_slice, "typed", p));
    } else {
      typed.push_back(run(typed_slice, "typed", p));
      raw.push_back(run(raw_slice, "raw", p));
    }
  }
  return {raw, typed};
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis =
      "messaging_bench [--messages=N] [--pairs=N] [--partitions=N]";
  usage.description =
      "Typed Send/Subscribe against raw librdkafka on the same mock "
      "cluster,\nin alternating slices in the same process.\n";
  herald::HandleHelp(argc, argv, usage);
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;
  using namespace herald;
  if (!absl::GetFlag(FLAGS_broker_topics).empty()) return ServeBroker();
  char resolved[PATH_MAX];
  program_path = realpath(argv[0], resolved) != nullptr ? resolved : argv[0];
  const int n = absl::GetFlag(FLAGS_messages);
  const int pairs = absl::GetFlag(FLAGS_pairs);
  const std::string topic = "bench.events";
  absl::StatusOr<OutgoingMessage> sample =
      EncodeEvent(SamplePayment(0), "bench");
  size_t header_bytes = 0;
  for (const auto& [k, v] : sample->headers)
    header_bytes += k.size() + v.size();
  // The mock keeps at most 5 MiB per partition and silently drops older
  // data: the consumers' topic spreads its records over enough partitions to
  // keep all of them.
  const size_t record_bytes =
      sample->value.size() + sample->key.size() + header_bytes + 64;
  const int64_t consumed = static_cast<int64_t>(pairs + 1) * n;
  const int consume_partitions =
      std::max<int>(absl::GetFlag(FLAGS_partitions),
                    static_cast<int>(consumed * record_bytes / (3 << 20)) + 1);
  std::printf(
      "messaging_bench: %d pairs of slices of %d messages (raw and typed "
      "alternating in one process, after one untimed slice each), value %zu "
      "B + key %zu B + 6 headers %zu B, 1 mock broker in its own process\n",
      pairs, n, sample->value.size(), sample->key.size(), header_bytes);
  std::fflush(stdout);

  // Produce: both producers to one topic of one broker; each slice ends
  // when every delivery report of it has arrived.
  {
    BrokerProcess broker({topic}, absl::GetFlag(FLAGS_partitions));
    Config config = BenchConfig(broker.address(), "unused");
    RawProducer raw(config, topic);
    TypedProducer typed(config, topic);
    raw.Send(n);
    typed.Send(n);
    auto timed = [n](auto& producer) {
      return [n, &producer] {
        Stopwatch watch;
        watch.Start();
        producer.Send(n);
        return watch.RateOf(n);
      };
    };
    auto [raw_rates, typed_rates] =
        Interleave("produce", pairs, timed(raw), timed(typed));
    Report("produce", "per sending-thread CPU-second", raw_rates, typed_rates,
           0.95);
  }
  if (absl::GetFlag(FLAGS_produce_only)) return 0;

  // Consume: both consumers read the same records (each in its own group),
  // so that both see the same batches. The untimed first slice includes the
  // group join; then both local queues fill (fetching everything ahead), so
  // the slices measure the same client work on both sides, none of it done
  // by the other side's fetcher during a slice.
  BrokerProcess broker({topic}, consume_partitions);
  {
    RawProducer fill(BenchConfig(broker.address(), "unused"), topic);
    for (int i = 0; i <= pairs; ++i) fill.SendEvenly(n, consume_partitions);
    CHECK_EQ(fill.RecordsOnBroker(consume_partitions), consumed)
        << "the mock broker did not keep every record: raise --partitions";
  }
  RawConsumer raw(BenchConfig(broker.address(), "bench-raw"), topic);
  TypedConsumer typed(BenchConfig(broker.address(), "bench-typed"), topic);
  raw.Consume(n);
  typed.Consume(n);
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_settle_seconds)));
  auto [raw_rates, typed_rates] = Interleave(
      "consume", pairs,
      [&] {
        Stopwatch watch;
        watch.Start();
        raw.Consume(n);
        return watch.RateOf(n);
      },
      [&] { return typed.Consume(n); });
  Report("consume", "per handling-thread CPU-second", raw_rates, typed_rates,
         0.90);
  return 0;
}
