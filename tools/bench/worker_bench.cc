// Worker benchmarks, on the in-process mock cluster and SQLite files with
// durable commits:
//
// 1. Events per second through the analytics worker, whose handler does the
//    real database write (inbox claim + upsert), with batches of 1 and of
//    100, side by side in the same run.
// 2. End-to-end latency from the gateway's 201 to the email worker's .eml
//    file in the Maildir, p50/p99.
//
//   bazel run -c opt //tools/bench:worker_bench -- --events=5000 --emails=200
#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/usage.h"
#include "contracts/v1/payments.pb.h"
#include "gateway/gateway.h"
#include "gateway/schema.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "web/client.h"
#include "workers/analytics/analytics.h"
#include "workers/email/email_worker.h"
#include "workers/runtime/worker.h"

ABSL_FLAG(int, events, 5000, "events per throughput run");
ABSL_FLAG(int, emails, 200, "payments timed end to end");
ABSL_FLAG(int, fetch_wait_ms, 10,
          "consumer fetch.wait.max.ms (the mock answers fetches only then)");

namespace herald {
namespace {

namespace fs = std::filesystem;

Config BaseConfig(const std::string& brokers) {
  Config config;
  config.brokers = brokers;
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.fetch_wait_max_ms = absl::GetFlag(FLAGS_fetch_wait_ms);
  config.producer.linger_ms = 1;
  return config;
}

workers::WorkerSettings WorkerSettingsIn(const std::string& dir,
                                         const std::string& db) {
  workers::WorkerSettings settings;
  settings.admin_port = 0;
  settings.batch.max_wait = absl::Milliseconds(20);
  settings.database.url = absl::StrCat("sqlite:", dir, "/", db);
  return settings;
}

double Throughput(const std::string& brokers, const std::string& dir,
                  int batch_size, int n) {
  Config config = BaseConfig(brokers);
  config.consumer.group_id = absl::StrCat("bench-analytics-", batch_size);
  workers::WorkerSettings settings =
      WorkerSettingsIn(dir, absl::StrCat("analytics_", batch_size, ".db"));
  settings.batch.max_size = batch_size;
  auto worker =
      workers::Worker::Start(config, settings, workers::AnalyticsWorkerSpec());
  CHECK(worker.ok()) << worker.status();
  Consumer& consumer = (*worker)->consumer();
  while (consumer.Stats().handled == 0) absl::SleepFor(absl::Milliseconds(1));
  absl::Time start = absl::Now();
  int64_t first = consumer.Stats().handled;
  while (consumer.Stats().handled < n) absl::SleepFor(absl::Milliseconds(1));
  double rate = (n - first) / absl::ToDoubleSeconds(absl::Now() - start);
  CHECK((*worker)->Stop().ok());
  return rate;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis = "worker_bench [--events=N] [--emails=N]";
  usage.description =
      "Analytics worker throughput (batches of 1 and 100) and "
      "gateway-to-email\nlatency.\n";
  herald::HandleHelp(argc, argv, usage);
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 2;
  using namespace herald;
  namespace fs = std::filesystem;
  const int n = absl::GetFlag(FLAGS_events);
  char pattern[] = "/tmp/herald-worker-bench-XXXXXX";
  const std::string dir = mkdtemp(pattern);

  auto cluster = MockCluster::Start(1);
  CHECK(cluster.ok());
  for (const char* t : {"payment.created", "payment.updated", "user.registered",
                        "notification.email"}) {
    CHECK((*cluster)->CreateTopic(t, 6).ok());
    CHECK((*cluster)->CreateTopic(absl::StrCat(t, ".dlq"), 1).ok());
  }
  const std::string brokers = (*cluster)->bootstrap_servers();

  // 1. Throughput: one backlog, read by two groups.
  {
    auto producer = Producer::Create(BaseConfig(brokers));
    CHECK(producer.ok());
    for (int i = 0; i < n; ++i) {
      contracts::v1::PaymentCreated p;
      p.set_payment_id(absl::StrCat("pay_", i));
      p.set_user_id(absl::StrCat("user_", i % 100));
      p.set_amount(100 + i);
      p.set_currency(i % 2 ? "EUR" : "USD");
      p.mutable_created_at()->set_seconds(1764000000 + i);
      (*producer)->Send(p, [](const DeliveryResult& r) { CHECK(r.ok()); });
    }
    CHECK((*producer)->Flush(absl::Minutes(1)).ok());
  }
  double one = Throughput(brokers, dir, 1, n);
  double hundred = Throughput(brokers, dir, 100, n);
  std::printf(
      "worker_bench: analytics worker, %d events, SQLite synchronous=FULL\n"
      "  batch of 1:   %8.0f events/s\n"
      "  batch of 100: %8.0f events/s  (%.1fx)\n",
      n, one, hundred, hundred / one);
  std::fflush(stdout);

  // 2. End-to-end latency: gateway 201 -> .eml file, on a fresh cluster
  // (the email worker must not first wade through part 1's backlog).
  cluster->reset();
  cluster = MockCluster::Start(1);
  CHECK(cluster.ok());
  for (const char* t : {"payment.created", "payment.updated", "user.registered",
                        "notification.email"}) {
    CHECK((*cluster)->CreateTopic(t, 6).ok());
    CHECK((*cluster)->CreateTopic(absl::StrCat(t, ".dlq"), 1).ok());
  }
  const std::string brokers2 = (*cluster)->bootstrap_servers();
  Config gateway_config = BaseConfig(brokers2);
  gateway_config.service = "gateway";
  gateway::GatewaySettings gateway_settings;
  gateway_settings.database.url = absl::StrCat("sqlite:", dir, "/gateway.db");
  gateway_settings.http_address = "127.0.0.1";
  gateway_settings.http_port = 0;
  gateway_settings.admin_port = 0;
  auto key = gateway::CreateApiKeyIn(gateway_settings.database.url, "bench",
                                     gateway::auth::ScopeSet::All());
  CHECK(key.ok()) << key.status();
  const web::HeaderList auth = {{"Authorization", "Bearer " + *key}};
  auto gw = gateway::Gateway::Start(gateway_config, gateway_settings);
  CHECK(gw.ok()) << gw.status();
  Config email_config = BaseConfig(brokers2);
  email_config.consumer.group_id = "bench-email";
  workers::EmailSettings email_settings;
  email_settings.maildir = dir + "/maildir";
  auto email =
      workers::Worker::Start(email_config, WorkerSettingsIn(dir, "email.db"),
                             workers::EmailWorkerSpec(email_settings));
  CHECK(email.ok()) << email.status();

  web::HttpClient client("127.0.0.1", (*gw)->port());
  auto user = client.Send("POST", "/api/v1/users",
                          R"({"email":"ada@example.com","name":"Ada"})", auth);
  CHECK(user.ok() && user->status == 201);
  std::string user_id =
      user->body.substr(user->body.find("\"user_id\":\"") + 11, 37);
  const std::string new_dir = dir + "/maildir/new";
  while (!fs::exists(new_dir) || fs::is_empty(new_dir)) {
    absl::SleepFor(absl::Milliseconds(5));  // the welcome email: group joined
  }

  absl::Mutex mu;
  std::map<std::string, absl::Time> seen;  // payment id -> file time
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    std::set<std::string> files;
    while (!stop) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(new_dir, ec)) {
        std::string name = entry.path().filename();
        if (!files.insert(name).second) continue;
        absl::Time now = absl::Now();
        std::ifstream in(entry.path());
        std::stringstream text;
        text << in.rdbuf();
        std::string body = text.str();
        size_t at = body.find("pay_");
        if (at == std::string::npos) continue;
        absl::MutexLock lock(&mu);
        seen[body.substr(at, 36)] = now;
      }
      absl::SleepFor(absl::Microseconds(500));
    }
  });
  std::map<std::string, absl::Time> answered;
  const int emails = absl::GetFlag(FLAGS_emails);
  for (int i = 0; i < emails; ++i) {
    auto r = client.Send("POST", "/api/v1/payments",
                         absl::StrCat(R"({"user_id":")", user_id,
                                      R"(","amount":1999,"currency":"EUR"})"),
                         auth);
    CHECK(r.ok() && r->status == 201) << r->body;
    answered[r->body.substr(r->body.find("pay_"), 36)] = absl::Now();
    absl::SleepFor(absl::Milliseconds(20));  // one at a time, not a backlog
  }
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    absl::MutexLock lock(&mu);
    if (seen.size() >= answered.size()) break;
    mu.Unlock();
    absl::SleepFor(absl::Milliseconds(10));
    mu.Lock();
  }
  stop = true;
  watcher.join();
  std::vector<double> latencies;
  {
    absl::MutexLock lock(&mu);
    for (const auto& [id, t] : answered) {
      auto it = seen.find(id);
      if (it != seen.end()) {
        latencies.push_back(absl::ToDoubleMilliseconds(it->second - t));
      }
    }
  }
  CHECK(!latencies.empty());
  std::printf(
      "end to end (gateway 201 -> email file), %zu of %d payments, "
      "fetch.wait.max.ms=%d:\n  p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      latencies.size(), emails, absl::GetFlag(FLAGS_fetch_wait_ms),
      Percentile(latencies, 0.5), Percentile(latencies, 0.99),
      Percentile(latencies, 1.0));
  CHECK((*email)->Stop().ok());
  (*gw)->Stop();
  fs::remove_all(dir);
  return 0;
}
