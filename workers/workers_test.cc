// The workers end to end: gateway -> Kafka (mock cluster) -> each worker,
// with SQLite and with PostgreSQL; and workers killed with SIGKILL while
// handling, then restarted: nothing lost, nothing counted twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "database/database.h"
#include "database/testing/postgres_server.h"
#include "gateway/gateway.h"
#include "messaging/dev/dev_broker.h"
#include "messaging/producer.h"
#include "messaging/testing/mock_cluster.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "workers/analytics/analytics.h"
#include "workers/crm/crm.h"
#include "workers/email/email_worker.h"
#include "workers/runtime/worker.h"

namespace herald {
namespace workers {
namespace {

namespace fs = std::filesystem;
using herald::testing::MockCluster;
using herald::testing::TestConfig;
using herald::testing::WaitFor;
using ::testing::HasSubstr;

std::vector<std::string> Emails(const std::string& maildir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(maildir + "/new", ec)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

std::string JsonString(const std::string& body, const char* key) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains(key)) return "";
  return std::string(v.as_object().at(key).as_string());
}

int64_t QueryInt(db::Database& db, const std::string& sql) {
  auto rows = db.TransactValue<std::vector<db::Row>>(
      [&](db::Transaction& tx) { return tx.Query(sql); });
  if (!rows.ok() || rows->empty()) return -1;
  return (*rows)[0].Int(0);
}

std::string QueryString(db::Database& db, const std::string& sql) {
  auto rows = db.TransactValue<std::vector<db::Row>>(
      [&](db::Transaction& tx) { return tx.Query(sql); });
  if (!rows.ok() || rows->empty()) return "<none>";
  return (*rows)[0].String(0);
}

void CreateTopics(MockCluster& cluster) {
  for (const char* t : {"payment.created", "payment.updated", "user.registered",
                        "notification.email"}) {
    ASSERT_TRUE(cluster.CreateTopic(t, 3).ok());
    ASSERT_TRUE(cluster.CreateTopic(absl::StrCat(t, ".dlq"), 1).ok());
  }
}

enum class Backend { kSqlite, kPostgres };

class EndToEndTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    CreateTopics(*cluster_);
    tmp_ = absl::StrCat(getenv("TEST_TMPDIR"), "/e2e_", counter_++);
    fs::create_directories(tmp_);
    if (GetParam() == Backend::kPostgres) {
      if (!db::testing::PostgresAvailable()) {
        GTEST_SKIP() << "PostgreSQL is not installed (tools/setup.sh)";
      }
      auto server = db::testing::PostgresServer::Start();
      ASSERT_TRUE(server.ok()) << server.status();
      pg_ = *std::move(server);
    }
  }

  // Each service its own database (schema per component would also do).
  std::string DbFor(const std::string& name) {
    if (pg_ != nullptr) return pg_->url();  // one database, distinct tables
    return absl::StrCat("sqlite:", tmp_, "/", name, ".db");
  }

  Config WorkerConfig(const WorkerSpec& spec) {
    Config config = TestConfig(*cluster_, spec.group);
    config.service = spec.name;
    config.db = DbFor(spec.name);
    config.admin_port = 0;
    config.maildir = tmp_ + "/maildir";
    config.consumer.batch_wait_ms = 20;
    return config;
  }

  static int counter_;
  std::unique_ptr<db::testing::PostgresServer> pg_;
  std::unique_ptr<MockCluster> cluster_;
  std::string tmp_;
};

int EndToEndTest::counter_ = 0;

TEST_P(EndToEndTest, GatewayToEveryWorker) {
  Config gateway_config = TestConfig(*cluster_);
  gateway_config.service = "gateway";
  gateway_config.db = DbFor("gateway");
  gateway_config.http_port = 0;
  gateway::GatewayOptions options;
  options.http_address = "127.0.0.1";
  auto gw = gateway::Gateway::Start(gateway_config, options);
  ASSERT_TRUE(gw.ok()) << gw.status();

  std::vector<std::unique_ptr<Worker>> workers;
  for (const WorkerSpec& spec :
       {EmailWorkerSpec(), AnalyticsWorkerSpec(), CrmWorkerSpec()}) {
    auto worker = Worker::Start(WorkerConfig(spec), spec);
    ASSERT_TRUE(worker.ok()) << spec.name << ": " << worker.status();
    workers.push_back(*std::move(worker));
  }

  web::HttpClient client("127.0.0.1", (*gw)->port());
  auto user = client.Send("POST", "/api/v1/users",
                          R"({"email":"ada@example.com","name":"Ada"})");
  ASSERT_TRUE(user.ok() && user->status == 201) << user->body;
  std::string user_id = JsonString(user->body, "user_id");
  auto payment =
      client.Send("POST", "/api/v1/payments",
                  absl::StrCat(R"({"user_id":")", user_id,
                               R"(","amount":1999,"currency":"EUR"})"));
  ASSERT_TRUE(payment.ok() && payment->status == 201) << payment->body;
  std::string payment_id = JsonString(payment->body, "payment_id");
  auto status =
      client.Send("POST", "/api/v1/payments/" + payment_id + "/status",
                  R"({"status":"succeeded","reason":"captured"})");
  ASSERT_TRUE(status.ok() && status->status == 200) << status->body;
  ASSERT_EQ(client
                .Send("POST", "/api/v1/notifications/email",
                      R"({"to":"bob@example.com","subject":"Hi Bob",)"
                      R"("body":"Plain <text>"})")
                ->status,
            202);
  ASSERT_EQ(client
                .Send("POST", "/api/v1/notifications/email",
                      R"({"to":"cy@example.com","template":"welcome",)"
                      R"("variables":{"name":"Cy"}})")
                ->status,
            202);

  const std::string maildir = tmp_ + "/maildir";
  ASSERT_TRUE(
      WaitFor([&] { return Emails(maildir).size() == 5; }, absl::Seconds(60)))
      << Emails(maildir).size() << " emails";
  std::string all;
  for (const std::string& e : Emails(maildir)) all += e;
  EXPECT_THAT(all, HasSubstr("Subject: Welcome to Herald, Ada!"));
  EXPECT_THAT(all, HasSubstr("Subject: We received your payment of 19.99 EUR"));
  EXPECT_THAT(all, HasSubstr("Subject: Your payment is now succeeded"));
  EXPECT_THAT(all, HasSubstr("Subject: Hi Bob"));
  EXPECT_THAT(all, HasSubstr("&lt;text&gt;"));  // HTML part escaped
  EXPECT_THAT(all, HasSubstr("Subject: Welcome to Herald, Cy!"));
  EXPECT_THAT(all, HasSubstr("To: ada@example.com"));

  auto analytics_db = db::Database::Open(DbFor("analytics-worker"));
  ASSERT_TRUE(analytics_db.ok());
  // Topics are not ordered against each other: the update may be counted
  // before the creation, so wait for the state both of them leave.
  ASSERT_TRUE(WaitFor([&] {
    return QueryInt(**analytics_db,
                    "SELECT payments FROM analytics_payment_status"
                    " WHERE status = 'succeeded'") == 1 &&
           QueryInt(**analytics_db,
                    "SELECT SUM(payments) FROM analytics_payments_daily") ==
               1 &&
           QueryInt(**analytics_db,
                    "SELECT SUM(registrations) FROM"
                    " analytics_registrations_daily") == 1;
  }));
  EXPECT_EQ(QueryInt(**analytics_db,
                     "SELECT amount FROM analytics_payments_daily"
                     " WHERE currency = 'EUR'"),
            1999);
  EXPECT_EQ(QueryInt(**analytics_db,
                     "SELECT payments FROM analytics_payment_status"
                     " WHERE status = 'pending'"),
            0);
  EXPECT_EQ(QueryInt(**analytics_db,
                     "SELECT SUM(registrations) FROM"
                     " analytics_registrations_daily"),
            1);

  auto crm_db = db::Database::Open(DbFor("crm-worker"));
  ASSERT_TRUE(crm_db.ok());
  // Same here: the payment may reach the CRM before the registration.
  ASSERT_TRUE(WaitFor([&] {
    return QueryString(**crm_db, "SELECT stage FROM crm_contacts") ==
               "customer" &&
           QueryString(**crm_db, "SELECT email FROM crm_contacts") ==
               "ada@example.com" &&
           QueryInt(**crm_db, "SELECT SUM(payments) FROM crm_spend") == 1;
  }));
  EXPECT_EQ(QueryString(**crm_db, "SELECT email FROM crm_contacts"),
            "ada@example.com");
  EXPECT_EQ(
      QueryInt(**crm_db, "SELECT total FROM crm_spend WHERE currency = 'EUR'"),
      1999);

  web::HttpClient admin("127.0.0.1", workers[0]->admin_port());
  auto metrics = admin.Send("GET", "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(
      metrics->body,
      HasSubstr("herald_consumer_handled_total{topic=\"user.registered\"} 1"));
  EXPECT_THAT(metrics->body, HasSubstr("herald_consumer_lag{"));
  EXPECT_EQ(admin.Send("GET", "/healthz")->status, 200);
  for (auto& w : workers) EXPECT_TRUE(w->Stop().ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, EndToEndTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         [](const auto& info) {
                           return info.param == Backend::kSqlite ? "Sqlite"
                                                                 : "Postgres";
                         });

// A worker binary killed with SIGKILL while it works through a backlog, then
// restarted: every event has exactly one effect.
class KillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    CreateTopics(*cluster_);
    tmp_ = absl::StrCat(getenv("TEST_TMPDIR"), "/kill");
    fs::create_directories(tmp_);
  }

  pid_t Launch(const std::string& name, std::vector<std::string> flags) {
    std::string binary =
        absl::StrCat(getenv("TEST_SRCDIR"), "/herald/workers/", name);
    flags.insert(
        flags.begin(),
        {binary, absl::StrCat("--brokers=", cluster_->bootstrap_servers()),
         "--admin_port=0"});
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& f : flags) argv.push_back(f.data());
      argv.push_back(nullptr);
      // Tuned for the mock cluster, as in TestConfig.
      setenv("HERALD_CONSUMER_SESSION_TIMEOUT_MS", "6000", 1);
      setenv("HERALD_CONSUMER_HEARTBEAT_INTERVAL_MS", "1000", 1);
      setenv("HERALD_CONSUMER_FETCH_WAIT_MAX_MS", "10", 1);
      setenv("HERALD_CONSUMER_BATCH_SIZE", "2", 1);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    return pid;
  }

  void Kill(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }

  std::unique_ptr<MockCluster> cluster_;
  std::string tmp_;
};

TEST_F(KillTest, AnalyticsAndEmailCountEveryEventOnceAcrossSigkill) {
  constexpr int kPayments = 3000;
  auto producer = Producer::Create(TestConfig(*cluster_));
  ASSERT_TRUE(producer.ok());
  contracts::v1::UserRegistered user;
  user.set_user_id("u1");
  user.set_email("ada@example.com");
  user.set_name("Ada");
  ASSERT_TRUE((*producer)->Send(user).get().ok());
  int produced = 0;
  // Payments arrive while the workers run, in bursts of 100.
  auto produce = [&](int count) {
    for (int i = 0; i < count; ++i, ++produced) {
      contracts::v1::PaymentCreated p;
      p.set_payment_id(absl::StrCat("pay_", produced));
      p.set_user_id("u1");
      p.set_amount(100);
      p.set_currency("EUR");
      p.mutable_created_at()->set_seconds(1764000000);
      (*producer)->Send(p,
                        [](const DeliveryResult& r) { ASSERT_TRUE(r.ok()); });
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  };

  const std::string analytics_db = absl::StrCat("sqlite:", tmp_, "/a.db");
  const std::string email_db = absl::StrCat("sqlite:", tmp_, "/e.db");
  const std::string maildir = tmp_ + "/maildir";
  auto counted = [&] {
    auto db = db::Database::Open(analytics_db);
    return db.ok() ? QueryInt(**db,
                              "SELECT COALESCE(SUM(payments), 0) FROM"
                              " analytics_payments_daily")
                   : -1;
  };
  auto mailed = [&] { return static_cast<int>(Emails(maildir).size()); };

  // Kill each worker while payments are still streaming in: part of them is
  // handled, a batch may be in flight, the rest has not arrived yet.
  pid_t analytics = Launch("analytics", {"--db=" + analytics_db});
  pid_t email = Launch("email", {"--db=" + email_db, "--maildir=" + maildir});
  produce(100);
  ASSERT_TRUE(WaitFor([&] { return counted() > 0; }, absl::Seconds(60)));
  produce(400);
  Kill(analytics);
  ASSERT_TRUE(WaitFor([&] { return mailed() > 1; }, absl::Seconds(60)));
  produce(400);
  Kill(email);
  int counted_at_kill = counted(), mailed_at_kill = mailed();
  produce(kPayments - produced);
  ASSERT_EQ(produced, kPayments);
  EXPECT_LT(counted_at_kill, kPayments);
  EXPECT_LT(mailed_at_kill, kPayments + 1);

  analytics = Launch("analytics", {"--db=" + analytics_db});
  email = Launch("email", {"--db=" + email_db, "--maildir=" + maildir});
  ASSERT_TRUE(
      WaitFor([&] { return counted() >= kPayments; }, absl::Seconds(90)))
      << counted() << " (at kill: " << counted_at_kill << ")";
  ASSERT_TRUE(
      WaitFor([&] { return mailed() >= kPayments + 1; }, absl::Seconds(90)))
      << mailed() << " (at kill: " << mailed_at_kill << ")";
  absl::SleepFor(absl::Seconds(1));
  // Exactly once: no payment counted twice, one email per event.
  EXPECT_EQ(counted(), kPayments);
  EXPECT_EQ(mailed(), kPayments + 1);
  auto db = db::Database::Open(analytics_db);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(QueryInt(**db, "SELECT SUM(amount) FROM analytics_payments_daily"),
            kPayments * 100);
  // A clean stop still works after all that.
  kill(analytics, SIGTERM);
  int status = 0;
  waitpid(analytics, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Kill(email);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A worker started while its broker is not there yet keeps trying, and
// handles what arrives once the broker is up.
TEST(WorkerStartTest, StartsBeforeTheBrokerThenCatchesUp) {
  const int port = FreePort();
  std::string tmp = absl::StrCat(getenv("TEST_TMPDIR"), "/late");
  fs::create_directories(tmp);
  Config config;
  config.brokers = absl::StrCat("127.0.0.1:", port);
  config.db = absl::StrCat("sqlite:", tmp, "/crm.db");
  config.admin_port = 0;
  config.consumer.group_id = "late-crm";
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.fetch_wait_max_ms = 10;
  config.kafka_properties["reconnect.backoff.max.ms"] = "500";
  auto worker = Worker::Start(config, CrmWorkerSpec());
  ASSERT_TRUE(worker.ok()) << worker.status();
  web::HttpClient admin("127.0.0.1", (*worker)->admin_port());
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(admin.Send("GET", "/healthz")->status, 200);  // alive, waiting

  dev::DevBrokerOptions options;
  options.port = port;
  auto broker = dev::DevBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  Config producer_config = config;
  auto producer = Producer::Create(producer_config);
  ASSERT_TRUE(producer.ok());
  contracts::v1::UserRegistered user;
  user.set_user_id("late-user");
  user.set_email("late@example.com");
  ASSERT_TRUE((*producer)->Send(user).get().ok());
  auto db = db::Database::Open(config.db);
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryString(**db, "SELECT stage FROM crm_contacts") == "lead";
      },
      absl::Seconds(60)));
  EXPECT_TRUE((*worker)->Stop().ok());
}

// Claims older than consumer.inbox_retention_hours are deleted in the
// background; younger ones stay (they still deduplicate).
TEST(WorkerMaintenanceTest, ForgetsInboxClaimsPastTheirRetention) {
  std::string tmp = absl::StrCat(getenv("TEST_TMPDIR"), "/janitor");
  fs::create_directories(tmp);
  Config config;
  config.brokers = absl::StrCat("127.0.0.1:", FreePort());  // none needed
  config.db = absl::StrCat("sqlite:", tmp, "/crm.db");
  config.admin_port = 0;
  config.consumer.group_id = "janitor-crm";
  WorkerSpec spec = CrmWorkerSpec();
  spec.maintenance_every = absl::Milliseconds(100);
  auto worker = Worker::Start(config, spec);
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto db = db::Database::Open(config.db);
  ASSERT_TRUE(db.ok());
  const int64_t now = absl::ToUnixMillis(absl::Now());
  ASSERT_TRUE((*db)
                  ->Transact([&](db::Transaction& tx) {
                    return tx
                        .Execute(
                            "INSERT INTO inbox(consumer, event_id, handled_at)"
                            " VALUES ('crm', 'old', ?), ('crm', 'fresh', ?)",
                            {now - 169 * 3600 * 1000LL, now})
                        .status();
                  })
                  .ok());
  EXPECT_TRUE(WaitFor([&] {
    return QueryString(**db, "SELECT group_concat(event_id) FROM inbox") ==
           "fresh";
  }));
  EXPECT_TRUE((*worker)->Stop().ok());
}

}  // namespace
}  // namespace workers
}  // namespace herald
