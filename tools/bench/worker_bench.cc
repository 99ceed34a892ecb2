// Worker benchmarks, on the in-process mock cluster and SQLite files with
// durable commits:
//
// 1. Events per second through the analytics worker, whose handler does the
//    real database write (inbox claim + upsert), with batches of 1 and of
//    100, side by side in the same run.
// 2. Emails per second through the email worker to a Maildir (every email
//    and its inbox claim durable before its record is settled): batches of
//    consumer.batch_size (100) against one record per transaction, the
//    email worker before batching, rounds alternating; and SMTP delivery to
//    a sink on loopback: a connection per email (as before) against groups
//    on a few reused connections.
// 3. The gateway paced at --paced_rate payments/s for --paced_seconds with
//    the email worker behind it: how far the worker falls behind (lag, in
//    emails) and how long it takes to drain once the load stops.
// 4. End-to-end latency from the gateway's 201 to the email worker's .eml
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
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/usage.h"
#include "contracts/v1/payments.pb.h"
#include "database/database.h"
#include "database/migrations.h"
#include "devbroker/dev_broker.h"
#include "gateway/gateway.h"
#include "gateway/schema.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "web/client.h"
#include "workers/analytics/analytics.h"
#include "workers/email/email_message.h"
#include "workers/email/email_worker.h"
#include "workers/email/mailer.h"
#include "workers/runtime/worker.h"
#include "workers/testing/smtp_sink.h"

ABSL_FLAG(int, events, 5000, "events per throughput run");
ABSL_FLAG(int, emails, 200, "payments timed end to end");
ABSL_FLAG(int, email_events, 5000, "emails per batched email worker run");
ABSL_FLAG(int, baseline_emails, 300,
          "emails per one-record-per-transaction run (about 100/s)");
ABSL_FLAG(
    int, email_batch_size, 0,
    "batch size of the batched email worker runs (0: consumer.batch_size's "
    "default)");
ABSL_FLAG(int, rounds, 3, "rounds of each email worker run");
ABSL_FLAG(int, paced_rate, 5000, "payments/s sent to the gateway (0: skip)");
ABSL_FLAG(int, paced_seconds, 10, "how long the paced load lasts");
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

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// "median M (min A, max B)" of per-round figures.
std::string MedianAndSpread(const std::vector<double>& v, const char* unit) {
  return absl::StrFormat("%8.0f %s (rounds %.0f..%.0f)", Percentile(v, 0.5),
                         unit, Percentile(v, 0.0), Percentile(v, 1.0));
}

// The development broker's topics (devbroker/dev_broker.h), created before
// anyone writes, as the development broker does.
void CreateTopics(MockCluster& cluster) {
  for (const std::string& topic : devbroker::DefaultTopics()) {
    CHECK(cluster.CreateTopic(topic, 6).ok());
  }
}

void SendPayments(const std::string& brokers, int n, const std::string& user) {
  auto producer = Producer::Create(BaseConfig(brokers));
  CHECK(producer.ok());
  for (int i = 0; i < n; ++i) {
    contracts::v1::PaymentCreated p;
    p.set_payment_id(absl::StrCat("pay_", i));
    p.set_user_id(user.empty() ? absl::StrCat("user_", i % 100) : user);
    p.set_amount(100 + i);
    p.set_currency(i % 2 ? "EUR" : "USD");
    p.mutable_created_at()->set_seconds(1764000000 + i);
    (*producer)->Send(p, [](const DeliveryResult& r) { CHECK(r.ok()); });
  }
  CHECK((*producer)->Flush(absl::Minutes(1)).ok());
}

// Waits until `worker` has handled its first record, then returns how many
// it handles a second up to `n` records in all.
double HandledPerSecond(workers::Worker& worker, int n) {
  Consumer& consumer = worker.consumer();
  while (consumer.Stats().handled == 0) absl::SleepFor(absl::Milliseconds(1));
  absl::Time start = absl::Now();
  int64_t first = consumer.Stats().handled;
  while (consumer.Stats().handled < n) absl::SleepFor(absl::Milliseconds(1));
  return (n - first) / absl::ToDoubleSeconds(absl::Now() - start);
}

// The email worker through the payments backlog: `n` emails in batches of
// `batch_size` (1: one record per transaction), into a Maildir of its own.
// The payer is known already (as if registered before).
double EmailsPerSecond(const std::string& brokers, const std::string& dir,
                       int batch_size, int n, int round) {
  const std::string name = absl::StrCat("email_", batch_size, "_", round);
  workers::WorkerSettings settings = WorkerSettingsIn(dir, name + ".db");
  settings.batch.max_size = batch_size;
  {
    auto db = db::Database::Open(settings.database.url);
    CHECK(db.ok()) << db.status();
    CHECK(db::Migrate(**db, "email", workers::EmailMigrations()).ok());
    CHECK((*db)
              ->Transact([](db::Transaction& tx) {
                return tx
                    .Execute("INSERT INTO email_contacts VALUES (?, ?, ?)",
                             {"user_bench", "ada@example.com", "Ada"})
                    .status();
              })
              .ok());
  }
  Config config = BaseConfig(brokers);
  config.consumer.group_id = "bench-" + name;
  workers::EmailSettings email_settings;
  email_settings.maildir = absl::StrCat(dir, "/", name);
  auto worker = workers::Worker::Start(
      config, settings, workers::EmailWorkerSpec(email_settings));
  CHECK(worker.ok()) << worker.status();
  double rate = HandledPerSecond(**worker, n);
  CHECK((*worker)->Stop().ok());
  fs::remove_all(email_settings.maildir);
  return rate;
}

// SMTP delivery of `n` small emails to a sink on loopback, per second:
// a connection per email (the mailer before), or groups of 100 on
// `connections` reused connections.
double SmtpPerSecond(int n, bool reuse, int connections) {
  workers::SinkBehavior behavior;
  behavior.count_only = true;
  workers::SmtpSink sink(behavior);
  const std::string url = absl::StrCat("smtp://127.0.0.1:", sink.port());
  workers::Email email{"ada@example.com", "Hello", "body text", "<p>body</p>"};
  std::vector<workers::OutgoingEmail> group;
  for (int i = 0; i < n; ++i) {
    std::string id = absl::StrCat("evt-", i);
    group.push_back(
        {id, email.to, *workers::RenderRfc5322(email, id, absl::Now())});
  }
  absl::Time start = absl::Now();
  if (reuse) {
    auto mailer = workers::NewSmtpMailer(url, "<no-reply@herald.local>",
                                         absl::Seconds(30), connections);
    CHECK(mailer.ok());
    for (int i = 0; i < n; i += 100) {
      std::vector<workers::OutgoingEmail> part(
          group.begin() + i, group.begin() + std::min(n, i + 100));
      CHECK_EQ((*mailer)->DeliverAll(part).delivered, part.size());
    }
  } else {
    for (const workers::OutgoingEmail& e : group) {
      auto mailer = workers::NewSmtpMailer(url, "<no-reply@herald.local>",
                                           absl::Seconds(30), 1);
      CHECK(mailer.ok());
      CHECK((*mailer)->Deliver(e.id, e.to, e.rfc5322).ok());
    }
  }
  double rate = n / absl::ToDoubleSeconds(absl::Now() - start);
  CHECK_EQ(sink.message_count(), n);
  return rate;
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
  double rate = HandledPerSecond(**worker, n);
  CHECK((*worker)->Stop().ok());
  return rate;
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
  CreateTopics(**cluster);
  const std::string brokers = (*cluster)->bootstrap_servers();

  // 1. Throughput: one backlog, read by two groups.
  SendPayments(brokers, n, "");
  double one = Throughput(brokers, dir, 1, n);
  double hundred = Throughput(brokers, dir, 100, n);
  std::printf(
      "worker_bench: analytics worker, %d events, SQLite synchronous=FULL\n"
      "  batch of 1:   %8.0f events/s\n"
      "  batch of 100: %8.0f events/s  (%.1fx)\n",
      n, one, hundred, hundred / one);
  std::fflush(stdout);

  // 2. The email worker to a Maildir, durable: one backlog of payments,
  // read by a group per run, rounds alternating.
  {
    auto email_cluster = MockCluster::Start(1);
    CHECK(email_cluster.ok());
    CreateTopics(**email_cluster);
    const std::string email_brokers = (*email_cluster)->bootstrap_servers();
    const int batched_n = absl::GetFlag(FLAGS_email_events);
    const int single_n =
        std::min(batched_n, absl::GetFlag(FLAGS_baseline_emails));
    SendPayments(email_brokers, batched_n, "user_bench");
    const int batch_size = absl::GetFlag(FLAGS_email_batch_size) > 0
                               ? absl::GetFlag(FLAGS_email_batch_size)
                               : workers::WorkerSettings().batch.max_size;
    std::vector<double> single, batched, ratios;
    for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
      single.push_back(EmailsPerSecond(email_brokers, dir, 1, single_n, round));
      batched.push_back(
          EmailsPerSecond(email_brokers, dir, batch_size, batched_n, round));
      ratios.push_back(batched.back() / single.back());
    }
    std::printf(
        "email worker: %.0f emails/s (Maildir, every email and its inbox "
        "claim durable; batches of %d, %d emails; median of %zu rounds)\n"
        "  one record per transaction (before): %s  [%d emails]\n"
        "  batches of %d:                       %s  (median ratio %.1fx)\n",
        Percentile(batched, 0.5), batch_size, batched_n, batched.size(),
        MedianAndSpread(single, "emails/s").c_str(), single_n, batch_size,
        MedianAndSpread(batched, "emails/s").c_str(), Percentile(ratios, 0.5));
    std::fflush(stdout);
    std::vector<double> fresh, reused;
    for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
      fresh.push_back(SmtpPerSecond(500, false, 1));
      reused.push_back(SmtpPerSecond(5000, true, 4));
    }
    std::printf(
        "SMTP delivery to a sink on loopback (median of %zu rounds):\n"
        "  a connection per email (before):        %s\n"
        "  groups of 100 on 4 reused connections:  %s  (%.1fx)\n",
        fresh.size(), MedianAndSpread(fresh, "emails/s").c_str(),
        MedianAndSpread(reused, "emails/s").c_str(),
        Percentile(reused, 0.5) / Percentile(fresh, 0.5));
    std::fflush(stdout);
  }

  // 2. End-to-end latency: gateway 201 -> .eml file, on a fresh cluster
  // (the email worker must not first wade through part 1's backlog).
  cluster->reset();
  cluster = MockCluster::Start(1);
  CHECK(cluster.ok());
  CreateTopics(**cluster);
  const std::string brokers2 = (*cluster)->bootstrap_servers();
  Config gateway_config = BaseConfig(brokers2);
  gateway_config.service = "gateway";
  gateway::GatewaySettings gateway_settings;
  gateway_settings.database.url = absl::StrCat("sqlite:", dir, "/gateway.db");
  gateway_settings.http_address = "127.0.0.1";
  gateway_settings.http_port = 0;
  gateway_settings.admin_port = 0;
  gateway_settings.auth.rate_limit_per_second = 0;  // the paced load
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
  std::string first_id;
  const int emails = absl::GetFlag(FLAGS_emails);
  for (int i = 0; i < emails; ++i) {
    auto r = client.Send("POST", "/api/v1/payments",
                         absl::StrCat(R"({"user_id":")", user_id,
                                      R"(","amount":1999,"currency":"EUR"})"),
                         auth);
    CHECK(r.ok() && r->status == 201) << r->body;
    const std::string id = r->body.substr(r->body.find("pay_"), 36);
    answered[id] = absl::Now();
    if (i == 0) first_id = id;
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
  double first_latency = -1;
  {
    absl::MutexLock lock(&mu);
    auto it = seen.find(first_id);
    if (it != seen.end()) {
      first_latency =
          absl::ToDoubleMilliseconds(it->second - answered[first_id]);
    }
  }
  std::printf(
      "end to end (gateway 201 -> email file) from a cold start (gateway and "
      "email worker just started, the first payment sent once the worker has "
      "joined its group), %zu of %d payments, fetch.wait.max.ms=%d, "
      "batch wait %.0f ms:\n"
      "  first payment %.1f ms; p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      latencies.size(), emails, absl::GetFlag(FLAGS_fetch_wait_ms),
      absl::ToDoubleMilliseconds(WorkerSettingsIn(dir, "x").batch.max_wait),
      first_latency, Percentile(latencies, 0.5), Percentile(latencies, 0.99),
      Percentile(latencies, 1.0));
  std::fflush(stdout);

  // 3. The gateway paced at paced_rate payments/s, the email worker behind.
  const int rate = absl::GetFlag(FLAGS_paced_rate);
  if (rate > 0) {
    const int seconds = absl::GetFlag(FLAGS_paced_seconds);
    constexpr int kClients = 32;  // blocking clients, each paced
    Consumer& consumer = (*email)->consumer();
    const int64_t handled_before = consumer.Stats().handled;
    std::atomic<int64_t> accepted{0}, refused{0};
    std::atomic<bool> sending{true};
    const std::string body = absl::StrCat(
        R"({"user_id":")", user_id, R"(","amount":1999,"currency":"EUR"})");
    const absl::Time start = absl::Now();
    const absl::Time end = start + absl::Seconds(seconds);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        web::HttpClient http("127.0.0.1", (*gw)->port());
        const absl::Duration every = absl::Seconds(kClients) / rate;
        absl::Time next = start + every * c / kClients;
        while (next < end) {
          absl::Time now = absl::Now();
          if (next > now) absl::SleepFor(next - now);
          auto r = http.Send("POST", "/api/v1/payments", body, auth);
          (r.ok() && r->status == 201 ? accepted : refused)++;
          next += every;
        }
      });
    }
    // Lag: payments answered 201 whose email is not written yet.
    int64_t max_lag = 0, lag_at_stop = 0;
    std::thread sampler([&] {
      while (sending) {
        int64_t lag = accepted - (consumer.Stats().handled - handled_before);
        max_lag = std::max(max_lag, lag);
        absl::SleepFor(absl::Milliseconds(100));
      }
    });
    for (std::thread& t : clients) t.join();
    const absl::Time stopped = absl::Now();
    sending = false;
    sampler.join();
    lag_at_stop = accepted - (consumer.Stats().handled - handled_before);
    while (consumer.Stats().handled - handled_before < accepted &&
           absl::Now() - stopped < absl::Seconds(120)) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    const double drain = absl::ToDoubleSeconds(absl::Now() - stopped);
    std::printf(
        "gateway paced at %d payments/s for %d s, email worker behind it "
        "(Maildir, durable):\n"
        "  sent %.0f/s (%lld answered 201, %lld not), emails written %lld\n"
        "  lag (answered, email not yet written): max %lld, %lld when the "
        "load stopped; drained %.2f s after it stopped\n",
        rate, seconds,
        (accepted + refused) / absl::ToDoubleSeconds(stopped - start),
        static_cast<long long>(accepted.load()),
        static_cast<long long>(refused.load()),
        static_cast<long long>(consumer.Stats().handled - handled_before),
        static_cast<long long>(max_lag), static_cast<long long>(lag_at_stop),
        drain);
  }
  CHECK((*email)->Stop().ok());
  (*gw)->Stop();
  fs::remove_all(dir);
  return 0;
}
