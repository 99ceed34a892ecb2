// Typed Send<T>/Subscribe<T> against raw librdkafka, side by side on the same
// in-process mock cluster, with the same records (value bytes, key, the six
// CloudEvents headers) and the same client settings, in the same run.
//
// "Raw" is the same job written by hand against librdkafka's C API: the
// producer encodes each event and stamps its CloudEvents headers (fresh id
// and time); the consumer checks ce_type, decodes and stores the offset after
// success. The ratio is what Herald's typed layer costs on top of that.
//
//   bazel run -c opt //tools/bench:messaging_bench -- --messages=200000
//
// Prints messages/s for each side, per round and the median, and the ratio
// typed/raw: of the medians, and the median of the per-round ratios with
// their spread. Targets: produce >= 0.95, consume >= 0.90.
#include <dirent.h>
#include <glog/logging.h>
#include <librdkafka/rdkafka.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/usage.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/cloudevents.h"
#include "messaging/consumer.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"

ABSL_FLAG(int, messages, 200000, "messages per side per round");
ABSL_FLAG(int, rounds, 5, "rounds (the median is reported)");
ABSL_FLAG(int, partitions, 16, "partitions per topic");
ABSL_FLAG(int, fetch_wait_ms, 10, "consumer fetch.wait.max.ms (both sides)");
ABSL_FLAG(bool, produce_only, false, "skip the consume phases (profiling)");
ABSL_FLAG(std::string, broker_topics, "",
          "internal: run as the broker process with these topics");
ABSL_FLAG(std::string, measure, "",
          "internal: run one side (raw_produce, typed_produce, raw_consume, "
          "typed_consume) as a client process and print its rates");
ABSL_FLAG(std::string, brokers, "", "internal: the broker, with --measure");
ABSL_FLAG(std::string, group, "", "internal: the group, with --measure");

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

const std::map<std::string, std::string> kQueueProperties = {
    {"queued.max.messages.kbytes", "1048576"},
    {"queue.buffering.max.messages", "2000000"},
};

// Throughput by the wall clock and per CPU-second of the measuring process:
// the client, its librdkafka threads and Herald's own threads; the mock
// broker runs in a process of its own. The mock stalls at random for about a
// second now and then, on either side; a stall burns no CPU, so the CPU-based
// figure is the stable one to compare.
struct Rate {
  double wall = 0;
  double cpu = 0;
  double app_cpu = 0;
};

double CpuSeconds() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// CPU time of this process's threads other than librdkafka's own ("rdk:*"):
// the sending or polling thread, which runs the typed layer (encoding,
// headers, callbacks), and Herald's delivery-report thread. librdkafka's
// threads do the same work for both sides (same records, same settings),
// but how much varies threefold from run to run with the mock broker's
// batching, which swamps the difference the typed layer makes.
double AppThreadCpuSeconds() {
  double ticks = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::FILE* f = std::fopen(
        absl::StrCat("/proc/self/task/", entry->d_name, "/stat").c_str(), "r");
    if (f == nullptr) continue;
    char line[1024];
    size_t len = std::fread(line, 1, sizeof(line) - 1, f);
    std::fclose(f);
    line[len] = '\0';
    // "tid (comm) state ppid ...": comm may hold spaces; fields after it
    // count from the closing parenthesis. utime and stime are fields 14, 15.
    char* open = std::strchr(line, '(');
    char* close = std::strrchr(line, ')');
    if (open == nullptr || close == nullptr) continue;
    if (std::strncmp(open + 1, "rdk:", 4) == 0) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(absl::string_view(close + 2), ' ');
    double utime = 0, stime = 0;
    if (fields.size() > 12 && absl::SimpleAtod(fields[11], &utime) &&
        absl::SimpleAtod(fields[12], &stime)) {
      ticks += utime + stime;
    }
  }
  closedir(dir);
  return ticks / sysconf(_SC_CLK_TCK);
}

class Stopwatch {
 public:
  Stopwatch()
      : wall_(absl::Now()), cpu_(CpuSeconds()), app_(AppThreadCpuSeconds()) {}
  Rate RateOf(int n) const {
    return {n / absl::ToDoubleSeconds(absl::Now() - wall_),
            n / (CpuSeconds() - cpu_),
            n / std::max(0.01, AppThreadCpuSeconds() - app_)};
  }

 private:
  absl::Time wall_;
  double cpu_;
  double app_;
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

Rate RawProduce(const Config& config, const std::string& topic, int n) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  SetOrDie(conf, "bootstrap.servers", config.brokers);
  SetOrDie(conf, "acks", "all");
  SetOrDie(conf, "enable.idempotence", "true");
  SetOrDie(conf, "linger.ms", absl::StrCat(config.producer.linger_ms));
  for (const auto& [name, value] : config.kafka_properties) {
    SetOrDie(conf, name.c_str(), value);
  }
  rd_kafka_conf_set_dr_msg_cb(conf, RawDelivered);
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  CHECK(rk != nullptr) << error;
  // As Herald's producer does when it starts (messaging/producer.cc): the
  // cluster's topics fetched at once, else the first send waits for
  // librdkafka's once-a-second scan of unknown topics, up to a second.
  const rd_kafka_metadata_t* metadata = nullptr;
  CHECK_EQ(rd_kafka_metadata(rk, 1, nullptr, &metadata, 10000),
           RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_metadata_destroy(metadata);
  // The same job as Send<T>, written by hand against librdkafka: encode the
  // event, take its key, stamp a fresh id and time, add the six headers.
  std::vector<PaymentCreated> events(1000);
  for (int i = 0; i < 1000; ++i) events[i] = SamplePayment(i);
  const std::string type = PaymentCreated::descriptor()->full_name();
  std::string value;
  raw_delivered = 0;
  Stopwatch watch;
  for (int i = 0; i < n; ++i) {
    const PaymentCreated& event = events[i % 1000];
    event.SerializeToString(&value);
    const std::string& key = event.payment_id();
    char id[kEventIdSize];
    WriteEventId(id);
    char time[kEventTimeMaxSize];
    size_t time_size = WriteEventTime(absl::Now(), time);
    rd_kafka_headers_t* headers = rd_kafka_headers_new(6);
    rd_kafka_header_add(headers, "ce_specversion", -1, "1.0", 3);
    rd_kafka_header_add(headers, "ce_id", -1, id, kEventIdSize);
    rd_kafka_header_add(headers, "ce_type", -1, type.data(), type.size());
    rd_kafka_header_add(headers, "ce_source", -1, "bench", 5);
    rd_kafka_header_add(headers, "ce_time", -1, time, time_size);
    rd_kafka_header_add(headers, "content-type", -1, "application/protobuf",
                        20);
    while (true) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      CHECK_EQ(err, RD_KAFKA_RESP_ERR__QUEUE_FULL);
      rd_kafka_poll(rk, 1);
    }
    if (i % 1024 == 0) rd_kafka_poll(rk, 0);
  }
  CHECK_EQ(rd_kafka_flush(rk, 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
  Rate rate = watch.RateOf(n);
  CHECK_EQ(raw_delivered.load(), n);
  rd_kafka_destroy(rk);
  return rate;
}

Rate RawConsume(const Config& config, const std::string& topic, int n) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  SetOrDie(conf, "bootstrap.servers", config.brokers);
  SetOrDie(conf, "group.id", config.consumer.group_id);
  SetOrDie(conf, "enable.auto.commit", "true");
  SetOrDie(conf, "enable.auto.offset.store", "false");
  SetOrDie(conf, "auto.offset.reset", "earliest");
  SetOrDie(conf, "session.timeout.ms", "6000");
  SetOrDie(conf, "heartbeat.interval.ms", "1000");
  SetOrDie(conf, "fetch.wait.max.ms",
           absl::StrCat(config.consumer.fetch_wait_max_ms));
  for (const auto& [name, value] : config.kafka_properties) {
    SetOrDie(conf, name.c_str(), value);
  }
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  CHECK(rk != nullptr) << error;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(),
                                    RD_KAFKA_PARTITION_UA);
  CHECK_EQ(rd_kafka_subscribe(rk, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  int count = 0;
  int64_t amount = 0;
  std::optional<Stopwatch> watch;
  Rate rate;
  // The same job as the typed handler, by hand: decode the value, use it,
  // store the offset after success.
  PaymentCreated event;
  while (count < n) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (count == 0) watch.emplace();  // group join excluded
      // Check the declared type, as Subscribe<T> does, then decode.
      rd_kafka_headers_t* headers = nullptr;
      const void* type = nullptr;
      size_t type_size = 0;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_header_get_last(headers, "ce_type", &type, &type_size);
      }
      CHECK(type_size == PaymentCreated::descriptor()->full_name().size());
      CHECK(event.ParseFromArray(m->payload, static_cast<int>(m->len)));
      amount += event.amount();
      rd_kafka_offset_store(m->rkt, m->partition, m->offset);
      ++count;
    }
    rd_kafka_message_destroy(m);
  }
  rate = watch->RateOf(n - 1);
  CHECK_GT(amount, 0);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rate;
}

// --- typed Herald -----------------------------------------------------------

Rate TypedProduce(const Config& config, const std::string& topic, int n) {
  auto producer = Producer::Create(config);
  CHECK(producer.ok()) << producer.status();
  std::vector<PaymentCreated> events(1000);
  for (int i = 0; i < 1000; ++i) events[i] = SamplePayment(i);
  std::atomic<int64_t> delivered{0};
  Stopwatch watch;
  for (int i = 0; i < n; ++i) {
    (*producer)->Send(topic, events[i % 1000],
                      [&delivered](const DeliveryResult& r) {
                        CHECK(r.ok()) << r.status();
                        delivered.fetch_add(1, std::memory_order_relaxed);
                      });
  }
  CHECK((*producer)->Flush(absl::Minutes(1)).ok());
  Rate rate = watch.RateOf(n);
  CHECK_EQ(delivered.load(), n);
  return rate;
}

Rate TypedConsume(const Config& config, const std::string& topic, int n) {
  auto consumer = Consumer::Create(config);
  CHECK(consumer.ok()) << consumer.status();
  int count = 0;
  int64_t amount = 0;
  std::optional<Stopwatch> watch;
  Rate rate;
  Consumer* c = consumer->get();
  CHECK((*consumer)
            ->Subscribe<PaymentCreated>(
                topic,
                [&](const PaymentCreated& p, const Metadata&) {
                  if (count == 0) watch.emplace();
                  amount += p.amount();
                  if (++count == n) {
                    rate = watch->RateOf(n - 1);  // closing excluded
                    c->Stop();
                  }
                  return absl::OkStatus();
                })
            .ok());
  CHECK((*consumer)->Run().ok());
  CHECK_GT(amount, 0);
  return rate;
}

// A mock cluster in a child process (this binary run again with
// --broker_topics), so that the CPU figures count the client and not the
// broker, and so that each side gets a fresh broker: the mock keeps every
// record in memory, and a broker already holding a round's data is slower.
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

// One measured side in a process of its own (this binary run again with
// --measure): every side starts from a fresh heap, so none inherits another
// side's allocator state (glibc's varies a lot with what ran before).
Rate MeasureInChild(const std::string& what, const std::string& brokers,
                    const std::string& group, int n) {
  auto [pid, fd] = SpawnSelf(
      {absl::StrCat("--measure=", what), absl::StrCat("--brokers=", brokers),
       absl::StrCat("--group=", group), absl::StrCat("--messages=", n),
       absl::StrCat("--fetch_wait_ms=", absl::GetFlag(FLAGS_fetch_wait_ms))});
  std::string out;
  char buf[256];
  ssize_t got;
  while ((got = read(fd, buf, sizeof(buf))) > 0) out.append(buf, got);
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << what << " failed (status " << status << ")";
  Rate rate;
  CHECK_EQ(std::sscanf(out.c_str(), "%lf %lf %lf", &rate.wall, &rate.cpu,
                       &rate.app_cpu),
           3)
      << what << " printed: " << out;
  return rate;
}

// The child's side of MeasureInChild.
int MeasureOneSide() {
  const std::string what = absl::GetFlag(FLAGS_measure);
  const std::string topic = "bench.events";
  const int n = absl::GetFlag(FLAGS_messages);
  Config config =
      BenchConfig(absl::GetFlag(FLAGS_brokers), absl::GetFlag(FLAGS_group));
  Rate rate;
  if (what == "raw_produce") {
    rate = RawProduce(config, topic, n);
  } else if (what == "typed_produce") {
    rate = TypedProduce(config, topic, n);
  } else if (what == "raw_consume") {
    rate = RawConsume(config, topic, n);
  } else if (what == "typed_consume") {
    rate = TypedConsume(config, topic, n);
  } else {
    LOG(ERROR) << "unknown --measure=" << what;
    return 2;
  }
  std::printf("%f %f %f\n", rate.wall, rate.cpu, rate.app_cpu);
  std::fflush(stdout);
  return 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis =
      "messaging_bench [--messages=N] [--rounds=N] [--partitions=N]";
  usage.description =
      "Typed Send/Subscribe against raw librdkafka on the same mock "
      "cluster,\nside by side in the same run.\n";
  herald::HandleHelp(argc, argv, usage);
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;
  using namespace herald;
  if (!absl::GetFlag(FLAGS_broker_topics).empty()) return ServeBroker();
  if (!absl::GetFlag(FLAGS_measure).empty()) return MeasureOneSide();
  char resolved[PATH_MAX];
  program_path = realpath(argv[0], resolved) != nullptr ? resolved : argv[0];
  const int n = absl::GetFlag(FLAGS_messages);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  absl::StatusOr<OutgoingMessage> sample =
      EncodeEvent(SamplePayment(0), "bench");
  size_t header_bytes = 0;
  for (const auto& [k, v] : sample->headers)
    header_bytes += k.size() + v.size();
  // The mock keeps at most 5 MiB per partition and silently drops older
  // data: spread each round over enough partitions to keep all of it.
  const size_t record_bytes =
      sample->value.size() + sample->key.size() + header_bytes + 64;
  const int partitions = std::max<int>(
      absl::GetFlag(FLAGS_partitions),
      static_cast<int>(static_cast<size_t>(n) * record_bytes / (3 << 20)) + 1);
  std::printf(
      "messaging_bench: %d messages per side per round, %d rounds, "
      "value %zu B + key %zu B + 6 headers %zu B, 1 mock broker in its own "
      "process, %d partitions\n",
      n, rounds, sample->value.size(), sample->key.size(), header_bytes,
      partitions);
  std::vector<Rate> raw_p, typed_p, raw_c, typed_c;
  for (int r = 0; r < rounds; ++r) {
    const std::string topic = "bench.events";
    // Each producer gets a fresh broker; the order alternates per round.
    auto produce = [&](bool typed) {
      BrokerProcess broker({topic}, partitions);
      return MeasureInChild(typed ? "typed_produce" : "raw_produce",
                            broker.address(), "unused", n);
    };
    if (r % 2 == 0) {
      raw_p.push_back(produce(false));
      typed_p.push_back(produce(true));
    } else {
      typed_p.push_back(produce(true));
      raw_p.push_back(produce(false));
    }
    // Both consumers read the same records from one broker (each in its own
    // group), so that both see the same batches.
    std::optional<BrokerProcess> broker;
    if (!absl::GetFlag(FLAGS_produce_only)) {
      broker.emplace(std::vector<std::string>{topic}, partitions);
      RawProduce(BenchConfig(broker->address(), "unused"), topic, n);
    }
    const std::string brokers = broker ? broker->address() : "";
    Config config = BenchConfig(brokers, absl::StrCat("bench-raw-", r));
    Config typed_config = BenchConfig(brokers, absl::StrCat("bench-typed-", r));
    if (absl::GetFlag(FLAGS_produce_only)) {
      raw_c.push_back({1, 1, 1});
      typed_c.push_back({1, 1, 1});
    } else {
      auto consume = [&](bool typed) {
        return MeasureInChild(
            typed ? "typed_consume" : "raw_consume", brokers,
            typed ? typed_config.consumer.group_id : config.consumer.group_id,
            n);
      };
      if (r % 2 == 0) {
        raw_c.push_back(consume(false));
        typed_c.push_back(consume(true));
      } else {
        typed_c.push_back(consume(true));
        raw_c.push_back(consume(false));
      }
    }
    for (auto [label, field] :
         {std::pair{"wall clock", &Rate::wall},
          std::pair{"per CPU-second", &Rate::cpu},
          std::pair{"per app-thread CPU-second", &Rate::app_cpu}}) {
      std::printf(
          "%s produce raw %.0f/s typed %.0f/s (%.3f) | consume raw %.0f/s "
          "typed %.0f/s (%.3f)   %s\n",
          field == &Rate::wall ? absl::StrCat("round ", r, ":").c_str()
                               : "        ",
          raw_p.back().*field, typed_p.back().*field,
          typed_p.back().*field / raw_p.back().*field, raw_c.back().*field,
          typed_c.back().*field, typed_c.back().*field / raw_c.back().*field,
          label);
    }
    std::fflush(stdout);
  }
  auto median = [](const std::vector<Rate>& rates, double Rate::*field) {
    std::vector<double> v;
    for (const Rate& r : rates) v.push_back(r.*field);
    return Median(v);
  };
  for (auto [label, field] :
       {std::pair{"wall clock", &Rate::wall},
        std::pair{"per CPU-second", &Rate::cpu},
        std::pair{"per app-thread CPU-second", &Rate::app_cpu}}) {
    double rp = median(raw_p, field), tp = median(typed_p, field);
    double rc = median(raw_c, field), tc = median(typed_c, field);
    std::printf(
        "median %s: produce raw %.0f msg/s, typed %.0f msg/s, ratio %.3f "
        "(target >= 0.95); consume raw %.0f msg/s, typed %.0f msg/s, ratio "
        "%.3f (target >= 0.90)\n",
        label, rp, tp, tp / rp, rc, tc, tc / rc);
    // Each round's typed/raw pair ran back to back on the same machine
    // state: the median of the per-round ratios, and their spread, say more
    // than the ratio of two medians taken from different rounds.
    auto ratios = [&](const std::vector<Rate>& typed,
                      const std::vector<Rate>& raw) {
      std::vector<double> v;
      for (size_t i = 0; i < typed.size(); ++i) {
        v.push_back(typed[i].*field / raw[i].*field);
      }
      std::sort(v.begin(), v.end());
      return v;
    };
    std::vector<double> produce = ratios(typed_p, raw_p);
    std::vector<double> consume = ratios(typed_c, raw_c);
    std::printf(
        "  per-round ratios %s: produce median %.3f (rounds %.3f..%.3f), "
        "consume median %.3f (rounds %.3f..%.3f)\n",
        label, Median(produce), produce.front(), produce.back(),
        Median(consume), consume.front(), consume.back());
  }
  return 0;
}
