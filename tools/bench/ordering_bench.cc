// Partition ordering against key ordering, side by side in the same run, on
// the in-process mock cluster: the same records, on ONE partition, read by two
// consumer groups with consumer.concurrency handler threads each, one group
// with consumer.ordering=partition and one with consumer.ordering=key.
//
// The handler sleeps --handler_ms (standing for an SMTP call). With partition
// ordering the records of a partition are handled one at a time, so one
// partition moves at about 1000 / handler_ms records/s whatever the
// concurrency; with key ordering records of different keys run in parallel,
// and --keys distinct keys keep the handler threads busy.
//
//   bazel run -c opt //tools/bench:ordering_bench -- --rounds=3
//
// Each round starts a fresh mock broker, produces --records PaymentCreated
// events with Producer::Send (key payment_id = "key-<k>", amount = the
// record's sequence number within its key), and consumes them with both
// groups, alternating which goes first. The handler checks per-key order: a
// record of a key that starts before an earlier record of that key, or while
// another record of that key is still being handled, is a violation (both
// modes must show 0).
//
// Rates count the time from the start of the first handler call to the end
// of the handler call that completes the last record (first-to-last record),
// so the group join before the first record is excluded.
//
// Prints records/s for each side and their ratio per round, the medians with
// their spread (min-max), and last `speedup <x>`: the median of the per-round
// ratios key/partition. Target: >= 10 with the defaults.
#include <glog/logging.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/usage.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/consumer.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"

ABSL_FLAG(int, records, 20000, "records per round (both groups read them)");
ABSL_FLAG(int, keys, 1000, "distinct keys (payment ids)");
ABSL_FLAG(int, handler_ms, 2, "how long the handler sleeps per record");
ABSL_FLAG(int, concurrency, 16, "consumer.concurrency of both groups");
ABSL_FLAG(int, rounds, 3, "rounds (the median is reported)");
ABSL_FLAG(int, partitions, 1, "partitions of the topic");
ABSL_FLAG(int, fetch_wait_ms, 10,
          "consumer fetch.wait.max.ms (the mock answers fetches only then)");

namespace herald {
namespace {

using contracts::v1::PaymentCreated;

// The mock cluster keeps at most this much per partition and silently drops
// older records (shared/notes/kafka-mock.md).
constexpr int64_t kMockRetentionBytes = 5 << 20;

// Record i is the (i / keys)-th record of key i % keys.
PaymentCreated Record(int i, int keys) {
  PaymentCreated p;
  p.set_payment_id(absl::StrCat("key-", i % keys));
  p.set_amount(i / keys);  // sequence number within the key
  p.set_currency("EUR");
  return p;
}

Config BenchConfig(const std::string& brokers, const std::string& group) {
  Config config;
  config.service = "ordering-bench";
  config.brokers = brokers;
  config.consumer.group_id = group;
  // The mock answers joins and leaves after session.timeout - 1 s.
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.fetch_wait_max_ms = absl::GetFlag(FLAGS_fetch_wait_ms);
  config.consumer.concurrency = absl::GetFlag(FLAGS_concurrency);
  config.producer.linger_ms = 1;
  return config;
}

void Produce(const std::string& brokers, int n, int keys) {
  auto producer = Producer::Create(BenchConfig(brokers, ""));
  CHECK(producer.ok()) << producer.status();
  for (int i = 0; i < n; ++i) {
    (*producer)->Send(Record(i, keys), [](const DeliveryResult& r) {
      CHECK(r.ok()) << r.status();
    });
  }
  CHECK((*producer)->Flush(absl::Minutes(1)).ok());
}

// Checks that the broker still holds every record produced (from offset 0 of
// each partition), so that neither group waits for records the mock dropped.
void CheckAllRetained(const std::string& brokers, const std::string& topic,
                      int partitions, int n) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  CHECK_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), error,
                             sizeof(error)),
           RD_KAFKA_CONF_OK)
      << error;
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  CHECK(rk != nullptr) << error;
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = -1, high = -1;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        rk, topic.c_str(), p, &low, &high, 10000);
    CHECK_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(err);
    CHECK_EQ(low, 0) << topic << "/" << p << ": the mock dropped the oldest "
                     << low << " records (it keeps 5 MiB per partition): use "
                     << "fewer --records or more --partitions";
    total += high;
  }
  CHECK_EQ(total, n) << "records on the broker";
  rd_kafka_destroy(rk);
}

// One group's pass over the records.
struct Pass {
  double rate = 0;           // records/s, first-to-last record
  double join_seconds = 0;   // Run() start to the first handler call
  int64_t out_of_order = 0;  // started before an earlier record of its key
  int64_t overlapping = 0;   // started while another of its key was running
  int64_t duplicates = 0;    // redelivered (not counted as violations)
  int64_t violations() const { return out_of_order + overlapping; }
};

Pass Consume(const std::string& brokers, const std::string& group,
             Ordering ordering, int n, int keys) {
  Config config = BenchConfig(brokers, group);
  config.consumer.ordering = ordering;
  auto consumer = Consumer::Create(config);
  CHECK(consumer.ok()) << consumer.status();
  const absl::Duration handler_time =
      absl::Milliseconds(absl::GetFlag(FLAGS_handler_ms));

  absl::Mutex mu;
  std::vector<int64_t> started(keys, -1);  // highest sequence started per key
  std::vector<int> running(keys, 0);       // handler calls running per key
  std::vector<bool> done(n, false);        // per record index
  int handled = 0;                         // distinct records handled
  std::optional<absl::Time> first;
  absl::Time last;
  absl::Notification all_handled;
  Pass pass;

  CHECK((*consumer)
            ->Subscribe<PaymentCreated>(
                [&](const PaymentCreated& p, const Metadata&) {
                  int k = -1;
                  CHECK(absl::SimpleAtoi(
                            absl::StripPrefix(p.payment_id(), "key-"), &k) &&
                        k >= 0 && k < keys)
                      << p.payment_id();
                  const int64_t seq = p.amount();
                  const int64_t index = seq * keys + k;
                  CHECK(seq >= 0 && index < n) << p.ShortDebugString();
                  bool duplicate;
                  {
                    absl::MutexLock lock(&mu);
                    if (!first.has_value()) first = absl::Now();
                    duplicate = done[index];
                    if (duplicate) {
                      ++pass.duplicates;
                    } else {
                      if (seq <= started[k]) ++pass.out_of_order;
                      if (running[k] > 0) ++pass.overlapping;
                      started[k] = std::max(started[k], seq);
                    }
                    ++running[k];
                  }
                  absl::SleepFor(handler_time);  // the SMTP call
                  absl::MutexLock lock(&mu);
                  --running[k];
                  if (!duplicate && !done[index]) {
                    done[index] = true;
                    if (++handled == n) {
                      last = absl::Now();
                      all_handled.Notify();
                    }
                  }
                  return absl::OkStatus();
                })
            .ok());

  const absl::Time run_start = absl::Now();
  absl::Status run_status;
  Consumer* c = consumer->get();
  std::thread runner([&] { run_status = c->Run(); });
  // Serial handling at twice the handler time, plus joins, is plenty.
  const absl::Duration timeout = absl::Seconds(60) + 2 * n * handler_time;
  const bool finished = all_handled.WaitForNotificationWithTimeout(timeout);
  if (!finished) {
    absl::MutexLock lock(&mu);
    LOG(FATAL) << group << ": handled " << handled << " of " << n
               << " records in " << timeout;
  }
  c->Stop();
  runner.join();
  CHECK(run_status.ok()) << run_status;
  absl::MutexLock lock(&mu);
  pass.rate = n / absl::ToDoubleSeconds(last - *first);
  pass.join_seconds = absl::ToDoubleSeconds(*first - run_start);
  return pass;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// "<median><unit> (<min>-<max>)".
std::string Spread(const std::vector<double>& v, const char* format,
                   const char* unit) {
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  char buf[128];
  std::snprintf(
      buf, sizeof(buf),
      absl::StrCat(format, unit, " (", format, "-", format, ")").c_str(),
      Median(v), *lo, *hi);
  return buf;
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis =
      "ordering_bench [--records=N] [--keys=N] [--handler_ms=N] "
      "[--concurrency=N]";
  usage.description =
      "consumer.ordering=partition against key on one partition, side by "
      "side\nin the same run.\n";
  herald::HandleHelp(argc, argv, usage);
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;
  using namespace herald;
  const int n = absl::GetFlag(FLAGS_records);
  const int keys = absl::GetFlag(FLAGS_keys);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const int partitions = absl::GetFlag(FLAGS_partitions);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  CHECK_GT(n, 0);
  CHECK_GT(keys, 0);
  CHECK_GT(rounds, 0);
  CHECK_GT(partitions, 0);
  const std::string topic = "payment.created";

  // Estimated bytes per partition against the mock's retention (the exact
  // check, on the broker, follows each round's produce).
  absl::StatusOr<OutgoingMessage> sample =
      EncodeEvent(Record(n - 1, keys), "ordering-bench");
  CHECK(sample.ok()) << sample.status();
  size_t header_bytes = 0;
  for (const auto& [k, v] : sample->headers) {
    header_bytes += k.size() + v.size() + 2;
  }
  const size_t record_bytes =
      sample->value.size() + sample->key.size() + header_bytes + 10;
  std::printf(
      "ordering_bench: %d records on %d partition(s), %d keys, handler sleeps "
      "%d ms, concurrency %d, %d rounds; about %zu B per record, %.1f MiB per "
      "partition (the mock keeps %lld MiB)\n"
      "rate = records / (start of the first handler call -> end of the last "
      "record's), group join excluded\n",
      n, partitions, keys, absl::GetFlag(FLAGS_handler_ms), concurrency, rounds,
      record_bytes, n * record_bytes / partitions / 1048576.0,
      static_cast<long long>(kMockRetentionBytes >> 20));
  std::fflush(stdout);

  std::vector<double> partition_rates, key_rates, ratios;
  int64_t violations = 0;
  for (int r = 0; r < rounds; ++r) {
    // A fresh broker per round: the same records for both groups.
    auto cluster = MockCluster::Start(1);
    CHECK(cluster.ok()) << cluster.status();
    CHECK((*cluster)->CreateTopic(topic, partitions).ok());
    CHECK((*cluster)->CreateTopic(topic + ".dlq", 1).ok());
    const std::string brokers = (*cluster)->bootstrap_servers();
    Produce(brokers, n, keys);
    CheckAllRetained(brokers, topic, partitions, n);

    auto consume = [&](Ordering ordering) {
      return Consume(
          brokers,
          absl::StrCat("ordering-bench-",
                       ordering == Ordering::kKey ? "key-" : "partition-", r),
          ordering, n, keys);
    };
    Pass by_partition, by_key;
    if (r % 2 == 0) {
      by_partition = consume(Ordering::kPartition);
      by_key = consume(Ordering::kKey);
    } else {
      by_key = consume(Ordering::kKey);
      by_partition = consume(Ordering::kPartition);
    }
    partition_rates.push_back(by_partition.rate);
    key_rates.push_back(by_key.rate);
    ratios.push_back(by_key.rate / by_partition.rate);
    violations += by_partition.violations() + by_key.violations();
    std::printf("round %d: partition %.1f/s key %.1f/s ratio %.2f\n", r,
                by_partition.rate, by_key.rate, ratios.back());
    std::printf(
        "         order violations: partition %lld (%lld out of order, %lld "
        "same key at once) key %lld (%lld out of order, %lld same key at "
        "once); redelivered: partition %lld key %lld; group join: partition "
        "%.1f s key %.1f s\n",
        static_cast<long long>(by_partition.violations()),
        static_cast<long long>(by_partition.out_of_order),
        static_cast<long long>(by_partition.overlapping),
        static_cast<long long>(by_key.violations()),
        static_cast<long long>(by_key.out_of_order),
        static_cast<long long>(by_key.overlapping),
        static_cast<long long>(by_partition.duplicates),
        static_cast<long long>(by_key.duplicates), by_partition.join_seconds,
        by_key.join_seconds);
    std::fflush(stdout);
  }
  std::printf(
      "median (min-max) of %d rounds: partition %s key %s ratio %s "
      "(target >= 10); order violations %lld (must be 0)\n",
      rounds, Spread(partition_rates, "%.1f", "/s").c_str(),
      Spread(key_rates, "%.1f", "/s").c_str(),
      Spread(ratios, "%.2f", "").c_str(), static_cast<long long>(violations));
  std::printf("speedup %.2f\n", Median(ratios));
  std::fflush(stdout);
  return violations == 0 ? 0 : 1;
}
