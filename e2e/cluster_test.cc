// The multi-instance harness, bounded for CI: on one throwaway PostgreSQL
// and the development broker (the mock cluster, hosted here), 3 gateways, 2
// email workers and 2 analytics workers run as processes on loopback. Load
// goes through all gateways (a request a gateway cannot answer is retried on
// the next with its Idempotency-Key); mid-load one gateway and one email
// worker are killed with SIGKILL and later restarted. Then an audit, printed
// as a table: every accepted event published (by ce_id), duplicates,
// per-key order at a consumer, emails per event, analytics totals.
//
// Asserted: every accepted event published; per-key order kept; exactly one
// email per event; analytics counts each payment once. (Duplicates on Kafka
// are allowed only because an instance was killed: the relay is at least
// once across a crash; the workers' shared inbox absorbs them.)
//
// CLUSTER_PAYMENTS scales the load (default 1500).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/testing/free_port.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "database/database.h"
#include "database/testing/backends.h"
#include "e2e/processes.h"
#include "messaging/consumer.h"
#include "messaging/contract_topics.h"
#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "web/json.h"

namespace herald {
namespace {

namespace fs = std::filesystem;
using contracts::v1::PaymentCreated;
using contracts::v1::RealtimeMessage;
using e2e::Process;
using herald::testing::RunningConsumer;
using herald::testing::TestConfig;
using herald::testing::WaitFor;

constexpr int kPartitions = 3;
constexpr int kClients = 3;

int64_t QueryInt(db::Database& db, const std::string& sql) {
  auto rows = db.ReadValue<std::vector<db::Row>>(
      [&](db::Transaction& tx) { return tx.Query(sql); });
  return rows.ok() && !rows->empty() ? (*rows)[0].Int(0) : -1;
}

std::string JsonField(const std::string& body, const char* key) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains(key)) return "";
  const json::value& field = v.as_object().at(key);
  return field.is_string() ? std::string(field.as_string()) : "";
}

class ClusterTest : public db::testing::ForEachBackend {
 protected:
  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    for (const std::string& t : ContractTopics()) {
      ASSERT_TRUE(cluster_->CreateTopic(t, kPartitions).ok());
      ASSERT_TRUE(cluster_->CreateTopic(absl::StrCat(t, ".dlq"), 1).ok());
    }
    gateway_db_ = DatabaseUrl("gateway");
    email_db_ = DatabaseUrl("email");
    analytics_db_ = DatabaseUrl("analytics");
    tmp_ = absl::StrCat(getenv("TEST_TMPDIR"), "/cluster");
    maildir_ = tmp_ + "/maildir";
    fs::create_directories(tmp_);
    if (const char* n = getenv("CLUSTER_PAYMENTS")) {
      ASSERT_TRUE(absl::SimpleAtoi(n, &payments_));
    }
  }

  // Logs of the processes, kept with the test's outputs.
  std::string LogPath(const std::string& name) {
    const char* outputs = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    return absl::StrCat(outputs != nullptr ? outputs : tmp_, "/", name, ".log");
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string Binary(const std::string& path) {
    return absl::StrCat(getenv("TEST_SRCDIR"), "/herald/", path);
  }

  // Gateway `i` on its ports (kept across restarts).
  void StartGateway(int i) {
    if (http_ports_.size() <= static_cast<size_t>(i)) {
      http_ports_.push_back(FreePort());
      admin_ports_.push_back(FreePort());
    }
    gateways_[i] = Process::Launch(
        Binary("gateway/gateway"),
        {absl::StrCat("--brokers=", cluster_->bootstrap_servers()),
         "--db=" + gateway_db_, absl::StrCat("--http_port=", http_ports_[i]),
         absl::StrCat("--admin_port=", admin_ports_[i])},
        {{"HERALD_HTTP_ADDRESS", "127.0.0.1"},
         {"HERALD_AUTH_ENABLED", "false"},
         {"HERALD_OUTBOX_LEASE_MS", "2000"},
         {"HERALD_SERVICE", absl::StrCat("gateway-", i)}},
        LogPath(absl::StrCat("gateway-", i)));
    ASSERT_TRUE(WaitFor(
        [&] {
          web::HttpClient admin("127.0.0.1", admin_ports_[i]);
          auto r = admin.Send("GET", "/readyz");
          return r.ok() && r->status == 200;
        },
        absl::Seconds(60)))
        << "gateway " << i << " not ready; its log:\n"
        << ReadFile(LogPath(absl::StrCat("gateway-", i)));
  }

  std::unique_ptr<Process> StartWorker(const std::string& name, int i) {
    std::vector<std::string> flags = {
        absl::StrCat("--brokers=", cluster_->bootstrap_servers()),
        "--admin_port=0"};
    if (name == "email") {
      flags.push_back("--db=" + email_db_);
      flags.push_back("--maildir=" + maildir_);
    } else {
      flags.push_back("--db=" + analytics_db_);
    }
    return Process::Launch(Binary("workers/" + name), flags,
                           {{"HERALD_CONSUMER_SESSION_TIMEOUT_MS", "6000"},
                            {"HERALD_CONSUMER_HEARTBEAT_INTERVAL_MS", "1000"},
                            {"HERALD_CONSUMER_FETCH_WAIT_MAX_MS", "10"}},
                           LogPath(absl::StrCat(name, "-", i)));
  }

  // POSTs `body` to `target`, starting at gateway `first` and moving to the
  // next on anything but `expect` (a gateway killed, or not ready yet), with
  // one Idempotency-Key throughout: accepted once. Returns the answer body.
  std::string Post(int first, const std::string& target,
                   const std::string& body, const std::string& key,
                   int expect) {
    for (int attempt = 0; attempt < 600; ++attempt) {
      const int g = (first + attempt) % 3;
      web::HttpClient client("127.0.0.1", http_ports_[g]);
      auto r = client.Send(
          "POST", target, body,
          {{"Content-Type", "application/json"}, {"Idempotency-Key", key}});
      if (r.ok() && r->status == expect) return r->body;
      if (attempt % 3 == 2) absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "no gateway accepted " << target << " " << key;
    return "";
  }

  std::unique_ptr<MockCluster> cluster_;
  std::string gateway_db_, email_db_, analytics_db_, tmp_, maildir_;
  int payments_ = 1500;
  std::vector<int> http_ports_, admin_ports_;
  std::unique_ptr<Process> gateways_[3];
};

TEST_P(ClusterTest, ThreeGatewaysFourWorkersSurviveSigkill) {
  const absl::Time started = absl::Now();
  // The first gateway migrates the database; the others join it.
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(StartGateway(i));
  std::unique_ptr<Process> email[2] = {StartWorker("email", 0),
                                       StartWorker("email", 1)};
  std::unique_ptr<Process> analytics[2] = {StartWorker("analytics", 0),
                                           StartWorker("analytics", 1)};

  // What reaches Kafka, by ce_id, and each realtime channel's sequence.
  absl::Mutex mu;
  std::map<std::string, int> published;  // ce_id -> times
  std::map<std::string, std::vector<int>> channel_order;
  std::set<int32_t> sentinel_partitions;
  int sentinels_seen = 0;
  Config config = TestConfig(*cluster_, "cluster-audit");
  auto consumer = Consumer::Create(config);
  ASSERT_TRUE(consumer.ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<PaymentCreated>(
                      [&](const PaymentCreated& p, const Metadata& meta) {
                        absl::MutexLock lock(&mu);
                        if (p.currency() == "GBP") {
                          sentinel_partitions.insert(meta.partition);
                          sentinels_seen++;
                        }
                        published[std::string(meta.event_id)]++;
                        return absl::OkStatus();
                      })
                  .ok());
  ASSERT_TRUE((*consumer)
                  ->Subscribe<RealtimeMessage>(
                      [&](const RealtimeMessage& m, const Metadata& meta) {
                        absl::MutexLock lock(&mu);
                        // A redelivery (a relay killed with rows in flight
                        // sends them again) is counted as a duplicate; the
                        // order is that of first deliveries.
                        if (published[std::string(meta.event_id)]++ > 0) {
                          return absl::OkStatus();
                        }
                        int n = 0;
                        absl::SimpleAtoi(m.data_json(), &n);
                        channel_order[m.channel()].push_back(n);
                        return absl::OkStatus();
                      })
                  .ok());
  RunningConsumer running(*std::move(consumer));

  const std::string user =
      Post(0, "/api/v1/users", R"({"email":"ada@example.com","name":"Ada"})",
           "user-ada", 201);
  const std::string user_id = JsonField(user, "user_id");
  ASSERT_FALSE(user_id.empty()) << user;
  {
    auto email_db = db::Database::Open(email_db_);
    ASSERT_TRUE(email_db.ok());
    ASSERT_TRUE(WaitFor(
        [&] {
          return QueryInt(**email_db, "SELECT COUNT(*) FROM email_log") == 1;
        },
        absl::Seconds(60)))
        << "no welcome email";
  }

  // Load: each client sends payments and, after each, the next number on a
  // realtime channel of its own (one key, sent in order: the consumer must
  // see them in that order), to its own gateway first.
  std::atomic<int> sent{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = c; i < payments_; i += kClients) {
        Post(c, "/api/v1/payments",
             absl::StrCat(R"({"user_id":")", user_id, R"(","amount":)", 100 + i,
                          R"(,"currency":"EUR"})"),
             absl::StrCat("pay-", i), 201);
        Post(c,
             absl::StrCat("/api/v1/realtime/channels/public.c", c, "/messages"),
             absl::StrCat(R"({"event":"n","data":)", i, "}"),
             absl::StrCat("rt-", i), 202);
        sent++;
      }
    });
  }
  // Mid-load: SIGKILL gateway 2 and email worker 1; restart them later.
  ASSERT_TRUE(
      WaitFor([&] { return sent >= payments_ / 3; }, absl::Seconds(120)));
  {
    // No instance crashed yet: nothing was published twice.
    absl::MutexLock lock(&mu);
    for (const auto& [id, times] : published) {
      ASSERT_EQ(times, 1) << id << " published twice before any crash";
    }
  }
  gateways_[2]->Kill();
  email[1]->Kill();
  const absl::Time killed = absl::Now();
  ASSERT_TRUE(
      WaitFor([&] { return sent >= 2 * payments_ / 3; }, absl::Seconds(120)));
  ASSERT_NO_FATAL_FAILURE(StartGateway(2));
  email[1] = StartWorker("email", 1);
  const absl::Duration down = absl::Now() - killed;
  for (std::thread& t : clients) t.join();

  // Sentinels behind everything (GBP payments), until each partition of
  // payment.created has one: once the email workers mailed them all, they
  // have read every payment before them.
  std::set<std::string> sentinels;
  for (int i = 0; i < 64; ++i) {
    {
      absl::MutexLock lock(&mu);
      if (static_cast<int>(sentinel_partitions.size()) == kPartitions) break;
    }
    const std::string body =
        Post(i, "/api/v1/payments",
             absl::StrCat(R"({"user_id":")", user_id,
                          R"(","amount":1,"currency":"GBP"})"),
             absl::StrCat("sentinel-", i), 201);
    sentinels.insert(JsonField(body, "payment_id"));
    ASSERT_TRUE(WaitFor([&] {
      absl::MutexLock lock(&mu);
      return sentinels_seen >= static_cast<int>(sentinels.size());
    }));
  }

  auto gateway_db = db::Database::Open(gateway_db_);
  auto email_db = db::Database::Open(email_db_);
  auto analytics_db = db::Database::Open(analytics_db_);
  ASSERT_TRUE(gateway_db.ok() && email_db.ok() && analytics_db.ok());
  // Accepted: every event the gateways committed (the outbox keeps rows for
  // outbox.retention_hours).
  std::set<std::string> accepted;
  {
    auto rows =
        (*gateway_db)->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
          return tx.Query(
              "SELECT event_id FROM outbox WHERE topic IN"
              " ('payment.created', 'realtime.messages')");
        });
    ASSERT_TRUE(rows.ok()) << rows.status();
    for (const db::Row& row : *rows) accepted.insert(row.String(0));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        for (const std::string& id : accepted) {
          if (published.count(id) == 0) return false;
        }
        return true;
      },
      absl::Seconds(60)))
      << "accepted events never published";
  const int64_t payments_accepted =
      QueryInt(**gateway_db,
               "SELECT COUNT(*) FROM outbox WHERE topic ="
               " 'payment.created'");
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(**email_db,
                        "SELECT COUNT(*) FROM email_log WHERE subject LIKE "
                        "'%GBP%'") >= static_cast<int64_t>(sentinels.size());
      },
      absl::Seconds(90)))
      << "sentinels not mailed";
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(**analytics_db,
                        "SELECT COALESCE(SUM(payments), 0) FROM"
                        " analytics_payments_daily") >= payments_accepted;
      },
      absl::Seconds(90)));
  running.Stop().IgnoreError();

  // The audit.
  int duplicates = 0, order_violations = 0;
  {
    absl::MutexLock lock(&mu);
    for (const auto& [id, times] : published) duplicates += times - 1;
    for (const auto& [channel, numbers] : channel_order) {
      int last = -1;
      for (int n : numbers) {
        if (n < last) order_violations++;
        last = std::max(last, n);
      }
    }
  }
  const int64_t emails = QueryInt(**email_db, "SELECT COUNT(*) FROM email_log");
  const int64_t email_events =
      QueryInt(**email_db, "SELECT COUNT(DISTINCT event_id) FROM email_log");
  int eml_files = 0;
  for (const auto& entry : fs::directory_iterator(maildir_ + "/new")) {
    (void)entry;
    eml_files++;
  }
  const int64_t counted = QueryInt(
      **analytics_db, "SELECT SUM(payments) FROM analytics_payments_daily");
  int published_accepted = 0;
  {
    absl::MutexLock lock(&mu);
    for (const std::string& id : accepted) {
      published_accepted += published.count(id);
    }
  }
  std::cout << absl::StrFormat(
      "\ncluster audit: 3 gateways, 2 email + 2 analytics workers on "
      "PostgreSQL; gateway 2 and email worker 1 killed (SIGKILL) for %s\n"
      "| what | value |\n|---|---|\n"
      "| events accepted (outbox rows: payments + realtime) | %d |\n"
      "| accepted and published (by ce_id) | %d |\n"
      "| duplicates on Kafka (a relay killed with rows in flight) | %d |\n"
      "| per-key order violations at the consumer | %d |\n"
      "| payments accepted | %d |\n"
      "| emails logged / distinct events / .eml files | %d / %d / %d |\n"
      "| emails expected (1 welcome + payments) | %d |\n"
      "| analytics payments counted | %d |\n"
      "| wall time | %s |\n",
      absl::FormatDuration(down), accepted.size(), published_accepted,
      duplicates, order_violations, payments_accepted, emails, email_events,
      eml_files, payments_accepted + 1, counted,
      absl::FormatDuration(absl::Now() - started));
  EXPECT_EQ(published_accepted, static_cast<int>(accepted.size()));
  EXPECT_EQ(order_violations, 0);
  EXPECT_EQ(emails, payments_accepted + 1);
  EXPECT_EQ(email_events, emails);
  EXPECT_EQ(eml_files, emails);
  EXPECT_EQ(counted, payments_accepted);
  EXPECT_GE(payments_accepted, payments_ + 1);  // and the sentinels
}

INSTANTIATE_TEST_SUITE_P(Backends, ClusterTest,
                         ::testing::Values(db::testing::Backend::kPostgres),
                         db::testing::BackendParamName);

}  // namespace
}  // namespace herald
