// The workers end to end: gateway -> Kafka (mock cluster) -> each worker,
// with SQLite and with PostgreSQL; the workers' database going away mid-stream
// (nothing dead-lettered, every effect once); a batch with bad and headerless
// records (no good neighbour dead-lettered); and workers killed with SIGKILL
// while handling, then restarted: nothing lost, nothing counted twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/testing/free_port.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "database/database.h"
#include "database/testing/backends.h"
#include "database/testing/sqlite_lock.h"
#include "devbroker/dev_broker.h"
#include "gateway/gateway.h"
#include "gateway/schema.h"
#include "messaging/cloudevents.h"
#include "messaging/consumer.h"
#include "messaging/dead_letter.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "web/json.h"
#include "workers/analytics/analytics.h"
#include "workers/crm/crm.h"
#include "workers/email/email_worker.h"
#include "workers/runtime/worker.h"

namespace herald {
namespace workers {
namespace {

namespace fs = std::filesystem;
using db::testing::Backend;
using herald::MockCluster;
using herald::testing::RunningConsumer;
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
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains(key)) return "";
  return std::string(v.as_object().at(key).as_string());
}

// Reads (never a write lock a worker could wait for); -1 on any error.
int64_t QueryInt(db::Database& db, const std::string& sql) {
  auto rows = db.ReadValue<std::vector<db::Row>>(
      [&](db::Transaction& tx) { return tx.Query(sql); });
  if (!rows.ok() || rows->empty()) return -1;
  return (*rows)[0].Int(0);
}

std::string QueryString(db::Database& db, const std::string& sql) {
  auto rows = db.ReadValue<std::vector<db::Row>>(
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

// A worker's /healthz "status" ("ok", "waiting"), or "" when it does not
// answer 200 with one; `body` gets the whole answer.
std::string HealthStatus(int admin_port, std::string* body = nullptr) {
  web::HttpClient admin("127.0.0.1", admin_port);
  auto answer = admin.Send("GET", "/healthz");
  if (!answer.ok() || answer->status != 200) return "";
  if (body != nullptr) *body = answer->body;
  return JsonString(answer->body, "status");
}

// A record read back from a dead-letter topic, with its provenance.
struct DeadLetter {
  std::string key;
  std::string original;  // "<topic>/<partition>@<offset>"
  std::string group;     // the consumer group that gave up on it
  std::string error;     // why
  std::string attempts;  // handler attempts made ("0": undecodable)
};

// Reads `<topic>.dlq` from its start, in a consumer group of its own, and
// keeps every record, whether it decodes as `prototype` or not.
class DeadLetterReader {
 public:
  DeadLetterReader(MockCluster& cluster, const std::string& topic,
                   std::unique_ptr<google::protobuf::Message> prototype) {
    const std::string dlq = absl::StrCat(topic, dlt::kTopicSuffix);
    // The reader dead-letters what it cannot decode itself (the sentinels).
    cluster.CreateTopic(absl::StrCat(dlq, dlt::kTopicSuffix), 1).IgnoreError();
    auto consumer =
        Consumer::Create(TestConfig(cluster, absl::StrCat("reader-", dlq)));
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    if (!consumer.ok()) return;
    (*consumer)->OnUndecodable(
        [this](const UndecodableRecord& r) { Keep(*r.metadata); });
    EXPECT_TRUE((*consumer)
                    ->SubscribeMessage(dlq, std::move(prototype),
                                       [this](const google::protobuf::Message&,
                                              const Metadata& metadata) {
                                         Keep(metadata);
                                         return absl::OkStatus();
                                       })
                    .ok());
    running_ = std::make_unique<RunningConsumer>(*std::move(consumer));
  }

  // What was read so far, in dead-letter topic order.
  std::vector<DeadLetter> Records() const {
    absl::MutexLock lock(&mu_);
    std::vector<DeadLetter> out;
    for (const auto& [offset, record] : records_) out.push_back(record);
    return out;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return records_.size();
  }

 private:
  void Keep(const Metadata& metadata) {
    Headers headers = metadata.AllHeaders();
    auto header = [&](const char* name) {
      const std::string* value = FindHeader(headers, name);
      return value != nullptr ? *value : std::string("<none>");
    };
    DeadLetter record;
    record.key = std::string(metadata.key);
    record.original =
        absl::StrCat(header(dlt::kOriginalTopic), "/",
                     DecodeBigEndian32(header(dlt::kOriginalPartition)), "@",
                     DecodeBigEndian64(header(dlt::kOriginalOffset)));
    record.group = header(dlt::kOriginalConsumerGroup);
    record.error = header(dlt::kExceptionMessage);
    record.attempts = header(dlt::kAttempts);
    absl::MutexLock lock(&mu_);
    records_[metadata.offset] = record;  // one partition; a redelivery
                                         // replaces its first reading
  }

  mutable absl::Mutex mu_;
  std::map<int64_t, DeadLetter> records_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RunningConsumer> running_;  // last: stops first
};

std::string Describe(const std::vector<DeadLetter>& records) {
  std::string out;
  for (const DeadLetter& r : records) {
    absl::StrAppend(&out, "\n  key=", r.key, " from ", r.original,
                    " group=", r.group, " attempts=", r.attempts,
                    " error=", r.error);
  }
  return out;
}

// Sends records no handler can decode (their value is not Protobuf) to
// `topic`, after everything sent before, until each of its `partitions` has
// one; returns their keys. A worker dead-letters each as soon as it reads it
// (an undecodable record waits for nobody, so it may overtake a record
// still being retried): once a worker has dead-lettered them all it has read
// everything before them, and once it also holds nothing unsettled
// (Settled() below) its dead-letter count is final. So "nothing else was
// dead-lettered" is checked without sleeping and asserting an absence.
std::set<std::string> SendSentinels(Producer& producer,
                                    const std::string& topic, int partitions) {
  std::set<int32_t> covered;
  std::set<std::string> keys;
  for (int i = 0; static_cast<int>(covered.size()) < partitions && i < 200;
       ++i) {
    OutgoingMessage sentinel;
    sentinel.topic = topic;
    sentinel.key = absl::StrCat("sentinel-", i);
    sentinel.value = std::string(11, '\xff');  // a varint too long to be one
    DeliveryResult sent = producer.Publish(sentinel).get();
    EXPECT_TRUE(sent.ok()) << sent.status();
    if (!sent.ok()) break;
    covered.insert(sent->partition);
    keys.insert(sentinel.key);
  }
  EXPECT_EQ(static_cast<int>(covered.size()), partitions);
  return keys;
}

// Sends `make(0)`, `make(1)`, ... (events of one contract) behind everything
// sent before, until each of their topic's `partitions` has one; returns how
// many were sent.
template <typename MakeEvent>
int SendToEachPartition(Producer& producer, int partitions, MakeEvent make) {
  std::set<int32_t> covered;
  int sent = 0;
  while (static_cast<int>(covered.size()) < partitions && sent < 200) {
    DeliveryResult result = producer.Send(make(sent++)).get();
    EXPECT_TRUE(result.ok()) << result.status();
    if (!result.ok()) break;
    covered.insert(result->partition);
  }
  EXPECT_EQ(static_cast<int>(covered.size()), partitions);
  return sent;
}

// True once none of `workers` holds a record it read and has not settled
// (handled, or its dead-letter copy acknowledged).
bool Settled(const std::vector<Worker*>& workers) {
  for (Worker* w : workers) {
    if (w->consumer().Health().in_flight != 0) return false;
  }
  return true;
}

// Dead letters whose key is one of `keys`.
size_t CountKeys(const std::vector<DeadLetter>& records,
                 const std::set<std::string>& keys) {
  size_t n = 0;
  for (const DeadLetter& r : records) n += keys.count(r.key);
  return n;
}

class EndToEndTest : public db::testing::ForEachBackend {
 protected:
  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    CreateTopics(*cluster_);
    tmp_ = absl::StrCat(getenv("TEST_TMPDIR"), "/e2e_", counter_++);
    fs::create_directories(tmp_);
  }

  // Each service its own database.
  std::string DbFor(const std::string& name) { return DatabaseUrl(name); }

  Config WorkerConfig(const WorkerSpec& spec) {
    Config config = TestConfig(*cluster_, spec.group);
    config.service = spec.name;
    return config;
  }

  WorkerSettings SettingsFor(const WorkerSpec& spec) {
    WorkerSettings settings;
    settings.database.url = DbFor(spec.name);
    settings.admin_port = 0;
    settings.batch.max_wait = absl::Milliseconds(20);
    return settings;
  }

  // The email worker, writing into this test's Maildir.
  WorkerSpec EmailSpec() {
    EmailSettings email;
    email.maildir = tmp_ + "/maildir";
    return EmailWorkerSpec(email);
  }

  static int counter_;
  std::unique_ptr<MockCluster> cluster_;
  std::string tmp_;
};

int EndToEndTest::counter_ = 0;

TEST_P(EndToEndTest, GatewayToEveryWorker) {
  Config gateway_config = TestConfig(*cluster_);
  gateway_config.service = "gateway";
  gateway::GatewaySettings gateway_settings;
  gateway_settings.database.url = DbFor("gateway");
  gateway_settings.http_address = "127.0.0.1";
  gateway_settings.http_port = 0;
  gateway_settings.admin_port = 0;
  auto key = gateway::CreateApiKeyIn(gateway_settings.database.url, "e2e",
                                     gateway::auth::ScopeSet::All());
  ASSERT_TRUE(key.ok()) << key.status();
  const web::HeaderList auth = {{"Authorization", "Bearer " + *key}};
  auto gw = gateway::Gateway::Start(gateway_config, gateway_settings);
  ASSERT_TRUE(gw.ok()) << gw.status();

  std::vector<std::unique_ptr<Worker>> workers;
  for (const WorkerSpec& spec :
       {EmailSpec(), AnalyticsWorkerSpec(), CrmWorkerSpec()}) {
    auto worker = Worker::Start(WorkerConfig(spec), SettingsFor(spec), spec);
    ASSERT_TRUE(worker.ok()) << spec.name << ": " << worker.status();
    workers.push_back(*std::move(worker));
  }

  web::HttpClient client("127.0.0.1", (*gw)->port());
  auto user = client.Send("POST", "/api/v1/users",
                          R"({"email":"ada@example.com","name":"Ada"})", auth);
  ASSERT_TRUE(user.ok() && user->status == 201) << user->body;
  std::string user_id = JsonString(user->body, "user_id");
  auto payment =
      client.Send("POST", "/api/v1/payments",
                  absl::StrCat(R"({"user_id":")", user_id,
                               R"(","amount":1999,"currency":"EUR"})"),
                  auth);
  ASSERT_TRUE(payment.ok() && payment->status == 201) << payment->body;
  std::string payment_id = JsonString(payment->body, "payment_id");
  auto status =
      client.Send("POST", "/api/v1/payments/" + payment_id + "/status",
                  R"({"status":"succeeded","reason":"captured"})", auth);
  ASSERT_TRUE(status.ok() && status->status == 200) << status->body;
  ASSERT_EQ(client
                .Send("POST", "/api/v1/notifications/email",
                      R"({"to":"bob@example.com","subject":"Hi Bob",)"
                      R"("body":"Plain <text>"})",
                      auth)
                ->status,
            202);
  ASSERT_EQ(client
                .Send("POST", "/api/v1/notifications/email",
                      R"({"to":"cy@example.com","template":"welcome",)"
                      R"("variables":{"name":"Cy"}})",
                      auth)
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

// The workers' database goes away in the middle of a stream for about 5 s
// (PostgreSQL stopped; SQLite locked by another connection) and comes back:
// not the records' fault. The workers wait without using attempts, say so on
// /healthz, dead-letter nothing, and every effect happens exactly once.
TEST_P(EndToEndTest, DatabaseOutageMidStreamDeadLettersNothing) {
  constexpr int kUsers = 40;
  constexpr absl::Duration kOutage = absl::Seconds(5);
  const bool postgres = GetParam() == Backend::kPostgres;
  DeadLetterReader dead(*cluster_, "user.registered",
                        std::make_unique<contracts::v1::UserRegistered>());
  std::vector<std::unique_ptr<Worker>> workers;
  for (const WorkerSpec& spec : {EmailSpec(), AnalyticsWorkerSpec()}) {
    WorkerSettings settings = SettingsFor(spec);
    // A locked SQLite file is an outage after this long (default 5 s).
    if (!postgres) {
      absl::StrAppend(&settings.database.url, "?busy_timeout_ms=100");
    }
    auto worker = Worker::Start(WorkerConfig(spec), settings, spec);
    ASSERT_TRUE(worker.ok()) << spec.name << ": " << worker.status();
    workers.push_back(*std::move(worker));
  }
  auto email_db = db::Database::Open(DbFor("email-worker"));
  ASSERT_TRUE(email_db.ok()) << email_db.status();
  auto analytics_db = db::Database::Open(DbFor("analytics-worker"));
  ASSERT_TRUE(analytics_db.ok()) << analytics_db.status();
  const std::string maildir = tmp_ + "/maildir";
  auto logged = [&] {
    return QueryInt(**email_db, "SELECT COUNT(*) FROM email_log");
  };
  auto registered = [&] {
    return QueryInt(**analytics_db,
                    "SELECT COALESCE(SUM(registrations), 0)"
                    " FROM analytics_registrations_daily");
  };

  auto producer = Producer::Create(TestConfig(*cluster_));
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto send_users = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      contracts::v1::UserRegistered user;
      user.set_user_id(absl::StrCat("u", i));
      user.set_email(absl::StrCat("user", i, "@example.com"));
      user.set_name(absl::StrCat("User ", i));
      (*producer)->Send(user,
                        [](const DeliveryResult& r) { ASSERT_TRUE(r.ok()); });
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  };

  // Half the stream; once the workers are into it (some of it handled,
  // perhaps all), the outage starts.
  send_users(0, kUsers / 2);
  ASSERT_TRUE(WaitFor([&] { return logged() > 0 && registered() > 0; }))
      << logged() << " emails logged, " << registered() << " registrations";
  const absl::Time outage_start = absl::Now();
  std::vector<std::unique_ptr<db::testing::SqliteWriteLock>> locks;
  if (postgres) {
    ASSERT_TRUE(postgres_server()->Stop().ok());
  } else {
    for (const char* name : {"email-worker", "analytics-worker"}) {
      const std::string path = DbFor(name).substr(std::strlen("sqlite:"));
      auto lock = db::testing::SqliteWriteLock::Take(path);
      ASSERT_TRUE(lock.ok()) << lock.status();
      locks.push_back(*std::move(lock));
    }
  }
  // The rest arrives during the outage, then the sentinels the workers
  // dead-letter (they never touch the database) behind it.
  send_users(kUsers / 2, kUsers);
  const std::set<std::string> sentinels =
      SendSentinels(**producer, "user.registered", 3);
  for (const auto& worker : workers) {
    std::string health;
    EXPECT_TRUE(WaitFor([&] {
      return HealthStatus(worker->admin_port(), &health) == "waiting";
    })) << "last /healthz: "
        << health;
    EXPECT_THAT(health, HasSubstr("\"waiting_on\""));
    // Nothing dead-lettered because of the outage: at most the sentinels,
    // which need no database and go at once when they were fetched before
    // their partition paused (which ones are good records is checked at
    // the end, against the dead-letter topic itself).
    EXPECT_LE(worker->consumer().Stats().dead_lettered,
              static_cast<int64_t>(sentinels.size()));
  }
  absl::SleepFor(outage_start + kOutage - absl::Now());  // the outage lasts
  if (postgres) {
    ASSERT_TRUE(postgres_server()->StartAgain().ok());
  } else {
    locks.clear();
  }

  // Every effect there, each sentinel back from both workers, nothing left
  // unsettled: the workers' dead-letter counts are final.
  const size_t expected_dead = 2 * sentinels.size();
  ASSERT_TRUE(WaitFor(
      [&] {
        return logged() == kUsers && registered() == kUsers &&
               Emails(maildir).size() == static_cast<size_t>(kUsers) &&
               CountKeys(dead.Records(), sentinels) == expected_dead &&
               Settled({workers[0].get(), workers[1].get()});
      },
      absl::Seconds(60)))
      << logged() << " emails logged, " << Emails(maildir).size()
      << " in the maildir, " << registered() << " registrations counted, "
      << dead.size() << " dead letters:" << Describe(dead.Records());
  for (const auto& worker : workers) {
    EXPECT_EQ(worker->consumer().Stats().dead_lettered,
              static_cast<int64_t>(sentinels.size()));
  }
  std::vector<DeadLetter> dead_letters = dead.Records();
  EXPECT_EQ(dead_letters.size(), expected_dead) << Describe(dead_letters);
  for (const DeadLetter& d : dead_letters) {
    EXPECT_EQ(sentinels.count(d.key), 1u)
        << "a good record was dead-lettered:" << Describe({d});
    EXPECT_EQ(d.attempts, "0") << Describe({d});  // undecodable, not tried
  }
  // Exactly once: one email per user, one log row each, each counted once.
  std::set<std::string> recipients;
  for (const std::string& email : Emails(maildir)) {
    size_t to = email.find("\nTo: ");
    if (to == std::string::npos) continue;
    recipients.insert(
        email.substr(to + 5, email.find_first_of("\r\n", to + 5) - (to + 5)));
  }
  EXPECT_EQ(recipients.size(), static_cast<size_t>(kUsers));
  EXPECT_EQ(
      QueryInt(**email_db, "SELECT COUNT(DISTINCT recipient) FROM email_log"),
      kUsers);
  EXPECT_EQ(logged(), kUsers);
  EXPECT_EQ(registered(), kUsers);
  for (const auto& worker : workers) {
    std::string health;
    EXPECT_TRUE(WaitFor([&] {
      return HealthStatus(worker->admin_port(), &health) == "ok";
    })) << "last /healthz: "
        << health;
    web::HttpClient admin("127.0.0.1", worker->admin_port());
    auto metrics = admin.Send("GET", "/metrics");
    ASSERT_TRUE(metrics.ok());
    EXPECT_THAT(metrics->body,
                HasSubstr("herald_consumer_dependency_outages_total{topic="
                          "\"user.registered\"}"));
  }
  for (auto& w : workers) EXPECT_TRUE(w->Stop().ok());
}

// One bad record does not take its neighbours with it. A backlog of 100
// valid payments, 6 valid ones published without CloudEvents headers (no
// ce_id: the inbox claims them by where they were written), one whose amount
// is outside the contract (the largest int64; contracts/v1/limits.h: the
// worker refuses it as Permanent, so it is dead-lettered at its first
// attempt), and last the undecodable sentinels; the analytics worker reads
// it in batches of up to 100. Every good payment is counted once, and the
// dead-letter topic holds the failing payment and the sentinels, nothing else.
TEST_P(EndToEndTest, BatchKeepsEveryGoodPaymentAroundBadAndHeaderless) {
  constexpr int kWithHeaders = 100;
  constexpr int kHeaderless = 6;
  constexpr int64_t kDay = 1764000000;  // 2025-11-24
  auto producer = Producer::Create(TestConfig(*cluster_));
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeadLetterReader dead(*cluster_, "payment.created",
                        std::make_unique<contracts::v1::PaymentCreated>());
  auto payment = [&](const std::string& id, const std::string& currency,
                     int64_t amount) {
    contracts::v1::PaymentCreated p;
    p.set_payment_id(id);
    p.set_user_id("u1");
    p.set_amount(amount);
    p.set_currency(currency);
    p.mutable_created_at()->set_seconds(kDay);
    return p;
  };
  auto sent = [](const DeliveryResult& r) { ASSERT_TRUE(r.ok()); };
  int64_t total = 0;
  int headerless = 0;
  for (int i = 0; i < kWithHeaders; ++i) {
    (*producer)->Send(payment(absl::StrCat("pay_", i), "EUR", 100 + i), sent);
    total += 100 + i;
    if (i % 16 == 7 && headerless < kHeaderless) {
      // Topic, key and value only, as a producer that knows nothing of
      // CloudEvents writes them.
      const std::string id = absl::StrCat("pay_bare_", headerless++);
      OutgoingMessage bare;
      bare.topic = "payment.created";
      bare.key = id;
      bare.value = payment(id, "EUR", 1000).SerializeAsString();
      (*producer)->Publish(std::move(bare), sent);
      total += 1000;
    }
    if (i == kWithHeaders / 2) {
      (*producer)->Send(
          payment("pay_huge", "XXX", std::numeric_limits<int64_t>::max()),
          sent);
    }
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  ASSERT_EQ(headerless, kHeaderless);
  const std::set<std::string> sentinels =
      SendSentinels(**producer, "payment.created", 3);

  WorkerSettings settings = SettingsFor(AnalyticsWorkerSpec());
  settings.batch.max_size = 100;
  auto worker = Worker::Start(WorkerConfig(AnalyticsWorkerSpec()), settings,
                              AnalyticsWorkerSpec());
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto db = db::Database::Open(DbFor("analytics-worker"));
  ASSERT_TRUE(db.ok()) << db.status();
  auto counted = [&] {
    return QueryInt(**db,
                    "SELECT COALESCE(SUM(payments), 0) FROM"
                    " analytics_payments_daily WHERE currency = 'EUR'");
  };
  // Every good payment counted, the sentinels and the failing payment
  // back, nothing left unsettled: the worker's dead-letter count is final.
  const size_t expected_dead = sentinels.size() + 1;
  const std::set<std::string> failing = {"pay_huge"};
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<DeadLetter> records = dead.Records();
        return counted() == kWithHeaders + kHeaderless &&
               CountKeys(records, sentinels) == sentinels.size() &&
               CountKeys(records, failing) == failing.size() &&
               Settled({worker->get()});
      },
      absl::Seconds(60)))
      << counted() << " payments counted, " << dead.size()
      << " dead letters:" << Describe(dead.Records());
  EXPECT_EQ((*worker)->consumer().Stats().dead_lettered,
            static_cast<int64_t>(expected_dead));

  std::vector<DeadLetter> dead_letters = dead.Records();
  EXPECT_EQ(dead_letters.size(), expected_dead) << Describe(dead_letters);
  int failed_payments = 0;
  for (const DeadLetter& d : dead_letters) {
    EXPECT_EQ(d.group, "analytics-worker-group");
    if (sentinels.count(d.key) == 1) {
      EXPECT_EQ(d.attempts, "0") << Describe({d});
      EXPECT_THAT(d.error, HasSubstr("not a valid")) << Describe({d});
      continue;
    }
    ++failed_payments;
    EXPECT_EQ(d.key, "pay_huge")
        << "a good payment was dead-lettered:" << Describe({d});
    EXPECT_EQ(d.attempts, "1") << Describe({d});  // Permanent: no retries
    EXPECT_THAT(d.error, HasSubstr("out of range")) << Describe({d});
  }
  EXPECT_EQ(failed_payments, 1);

  // Each good payment counted once, the headerless ones included.
  EXPECT_EQ(counted(), kWithHeaders + kHeaderless);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT amount FROM analytics_payments_daily"
                     " WHERE currency = 'EUR' AND day = '2025-11-24'"),
            total);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT payments FROM analytics_payment_status"
                     " WHERE status = 'pending'"),
            kWithHeaders + kHeaderless);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT COUNT(*) FROM analytics_payments_daily"
                     " WHERE currency = 'XXX'"),
            0);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT COUNT(*) FROM inbox WHERE consumer = 'analytics'"
                     " AND event_id LIKE 'kafka:payment.created/%'"),
            kHeaderless);
  EXPECT_EQ(
      QueryInt(**db, "SELECT COUNT(*) FROM inbox WHERE consumer = 'analytics'"),
      kWithHeaders + kHeaderless);
  EXPECT_TRUE((*worker)->Stop().ok());
}

// Records without CloudEvents headers (from a producer that knows nothing of
// them) have no ce_id; the inbox claims each by where it was written. The
// email worker must then still mail and log each under a name of its own.

TEST_P(EndToEndTest, EmailWorkerMailsEveryRecordWithoutCloudEventsHeaders) {
  constexpr int kUsers = 3;
  auto producer = Producer::Create(TestConfig(*cluster_));
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeadLetterReader dead(*cluster_, "user.registered",
                        std::make_unique<contracts::v1::UserRegistered>());
  for (int i = 0; i < kUsers; ++i) {
    contracts::v1::UserRegistered user;
    user.set_user_id(absl::StrCat("bare", i));
    user.set_email(absl::StrCat("bare", i, "@example.com"));
    user.set_name(absl::StrCat("Bare ", i));
    OutgoingMessage bare;  // topic, key and value only
    bare.topic = "user.registered";
    bare.key = user.user_id();
    bare.value = user.SerializeAsString();
    DeliveryResult sent = (*producer)->Publish(std::move(bare)).get();
    ASSERT_TRUE(sent.ok()) << sent.status();
  }
  const std::set<std::string> sentinels =
      SendSentinels(**producer, "user.registered", 3);
  auto worker = Worker::Start(WorkerConfig(EmailSpec()),
                              SettingsFor(EmailSpec()), EmailSpec());
  ASSERT_TRUE(worker.ok()) << worker.status();
  ASSERT_TRUE(WaitFor(
      [&] {
        return CountKeys(dead.Records(), sentinels) == sentinels.size() &&
               Settled({worker->get()});
      },
      absl::Seconds(60)))
      << dead.size() << " dead letters:" << Describe(dead.Records());

  EXPECT_EQ((*worker)->consumer().Stats().dead_lettered,
            static_cast<int64_t>(sentinels.size()))
      << Describe(dead.Records());
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp_ + "/maildir/new", ec)) {
    names.insert(entry.path().filename().string());
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kUsers));
  for (const std::string& name : names) {
    EXPECT_NE(name.front(), '.') << "mail readers skip " << name;
  }
  std::string all;
  for (const std::string& email : Emails(tmp_ + "/maildir")) all += email;
  for (int i = 0; i < kUsers; ++i) {
    EXPECT_THAT(all, HasSubstr(absl::StrCat("To: bare", i, "@example.com")));
  }
  auto db = db::Database::Open(DbFor("email-worker"));
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(QueryInt(**db, "SELECT COUNT(*) FROM email_log"), kUsers);
  EXPECT_TRUE((*worker)->Stop().ok());
}

// The email worker handles notifications in batches; the few no retry can
// help (an unknown template, a recipient that is no address) are
// dead-lettered at once, each on its own, and every other email of their
// batches is delivered and logged once.
TEST_P(EndToEndTest, EmailBatchDeadLettersOnlyItsBadNotifications) {
  constexpr int kGood = 120;
  auto producer = Producer::Create(TestConfig(*cluster_));
  ASSERT_TRUE(producer.ok()) << producer.status();
  DeadLetterReader dead(*cluster_, "notification.email",
                        std::make_unique<contracts::v1::EmailNotification>());
  std::set<std::string> bad_keys;
  auto sent = [](const DeliveryResult& r) { ASSERT_TRUE(r.ok()); };
  for (int i = 0; i < kGood; ++i) {
    contracts::v1::EmailNotification n;
    n.set_to(absl::StrCat("user", i, "@example.com"));
    n.set_subject(absl::StrCat("Note ", i));
    n.set_body("hello");
    (*producer)->Send(n, sent);
    if (i % 40 == 20) {
      contracts::v1::EmailNotification unknown;
      unknown.set_to("ada@example.com");
      unknown.set_template_name(absl::StrCat("no_such_template_", i));
      (*producer)->Send(unknown, sent);
      contracts::v1::EmailNotification bad_to;
      bad_to.set_to(absl::StrCat("not an address ", i));
      bad_to.set_subject("x");
      (*producer)->Send(bad_to, sent);
    }
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  const std::set<std::string> sentinels =
      SendSentinels(**producer, "notification.email", 3);

  WorkerSettings settings = SettingsFor(EmailSpec());
  settings.batch.max_size = 100;
  auto worker = Worker::Start(WorkerConfig(EmailSpec()), settings, EmailSpec());
  ASSERT_TRUE(worker.ok()) << worker.status();
  const size_t expected_dead = sentinels.size() + 6;
  ASSERT_TRUE(WaitFor(
      [&] {
        return dead.size() == expected_dead &&
               CountKeys(dead.Records(), sentinels) == sentinels.size() &&
               Settled({worker->get()});
      },
      absl::Seconds(60)))
      << dead.size() << " dead letters:" << Describe(dead.Records());
  int unknown_templates = 0, bad_recipients = 0;
  for (const DeadLetter& d : dead.Records()) {
    if (sentinels.count(d.key) == 1) continue;
    EXPECT_EQ(d.attempts, "1") << Describe({d});  // Permanent: no retries
    if (absl::StrContains(d.error, "template")) ++unknown_templates;
    if (absl::StrContains(d.error, "address")) ++bad_recipients;
  }
  EXPECT_EQ(unknown_templates, 3) << Describe(dead.Records());
  EXPECT_EQ(bad_recipients, 3) << Describe(dead.Records());
  EXPECT_EQ(Emails(tmp_ + "/maildir").size(), static_cast<size_t>(kGood));
  auto db = db::Database::Open(DbFor("email-worker"));
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(QueryInt(**db, "SELECT COUNT(*) FROM email_log"), kGood);
  EXPECT_EQ(QueryInt(**db, "SELECT COUNT(*) FROM inbox"), kGood);
  EXPECT_TRUE((*worker)->Stop().ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, EndToEndTest,
                         ::testing::ValuesIn(db::testing::AllBackends()),
                         db::testing::BackendParamName);

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

  // Runs workers/<name> with `flags`, and `env` (HERALD_* settings) over
  // the defaults below.
  pid_t Launch(const std::string& name, std::vector<std::string> flags,
               const std::map<std::string, std::string>& env = {}) {
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
      for (const auto& [key, value] : env)
        setenv(key.c_str(), value.c_str(), 1);
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
                              " analytics_payments_daily"
                              " WHERE currency = 'EUR'")
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
  // Then, behind everything, sentinels on every partition: payments in GBP
  // (each of its own day and amount) and registrations. Once both workers
  // have handled all of them, they have read every record before them,
  // redeliveries included, so the counts below are final without sleeping.
  const int sentinel_payments = SendToEachPartition(**producer, 3, [](int i) {
    contracts::v1::PaymentCreated p;
    p.set_payment_id(absl::StrCat("sentinel_", i));
    p.set_user_id("u1");
    p.set_amount(101 + i);
    p.set_currency("GBP");
    p.mutable_created_at()->set_seconds(1764000000 + 86400 * (i + 1));
    return p;
  });
  const int sentinel_users = SendToEachPartition(**producer, 3, [](int i) {
    contracts::v1::UserRegistered u;
    u.set_user_id(absl::StrCat("sentinel_", i));
    u.set_email(absl::StrCat("sentinel", i, "@example.com"));
    u.set_name("Sentinel");
    return u;
  });
  auto email_log = db::Database::Open(email_db);
  ASSERT_TRUE(email_log.ok()) << email_log.status();
  auto db = db::Database::Open(analytics_db);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(WaitFor(
      [&] {
        return QueryInt(**db,
                        "SELECT COUNT(*) FROM analytics_payments_daily"
                        " WHERE currency = 'GBP'") == sentinel_payments &&
               QueryInt(**email_log,
                        "SELECT COUNT(DISTINCT subject) FROM email_log"
                        " WHERE subject LIKE '% GBP'") == sentinel_payments &&
               QueryInt(**email_log,
                        "SELECT COUNT(DISTINCT recipient) FROM email_log"
                        " WHERE recipient LIKE 'sentinel%'") == sentinel_users;
      },
      absl::Seconds(60)))
      << "the sentinels were not all handled";
  // Exactly once: no payment counted twice, one email per event.
  EXPECT_EQ(counted(), kPayments);
  EXPECT_EQ(mailed(), kPayments + 1 + sentinel_payments + sentinel_users);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT SUM(amount) FROM analytics_payments_daily"
                     " WHERE currency = 'EUR'"),
            kPayments * 100);
  EXPECT_EQ(QueryInt(**db,
                     "SELECT SUM(payments) FROM analytics_payments_daily"
                     " WHERE currency = 'GBP'"),
            sentinel_payments);
  // A clean stop still works after all that.
  kill(analytics, SIGTERM);
  int status = 0;
  waitpid(analytics, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  Kill(email);
}

// File names in `dir` (none if it does not exist).
std::set<std::string> FileNames(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    names.insert(entry.path().filename());
  }
  return names;
}

// The email worker delivers a batch's emails (many files written, flushed
// and moved into new/ together) before the batch's inbox transaction
// commits. Killed with SIGKILL again and again while it works through a
// backlog in batches of 200, at seeded random moments (in the middle of a
// batch: files in new/ whose claims never committed), then restarted: one
// .eml per event all the same, each logged once, nothing left in tmp/.
TEST_F(KillTest, EmailWorkerKilledMidBatchSendsEachEmailOnce) {
  constexpr int kPayments = 4000;
  const uint32_t seed = static_cast<uint32_t>(absl::ToUnixMicros(absl::Now()));
  std::printf("seed %u\n", seed);
  std::mt19937 random(seed);
  auto producer = Producer::Create(TestConfig(*cluster_));
  ASSERT_TRUE(producer.ok());
  contracts::v1::UserRegistered user;
  user.set_user_id("u1");
  user.set_email("ada@example.com");
  user.set_name("Ada");
  ASSERT_TRUE((*producer)->Send(user).get().ok());
  for (int i = 0; i < kPayments; ++i) {
    contracts::v1::PaymentCreated p;
    p.set_payment_id(absl::StrCat("pay_", i));
    p.set_user_id("u1");
    p.set_amount(100);
    p.set_currency("EUR");
    (*producer)->Send(p, [](const DeliveryResult& r) { ASSERT_TRUE(r.ok()); });
  }
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());

  const std::string email_db = absl::StrCat("sqlite:", tmp_, "/mid.db");
  const std::string maildir = tmp_ + "/mid_maildir";
  const std::map<std::string, std::string> batches = {
      {"HERALD_CONSUMER_BATCH_SIZE", "200"},
      {"HERALD_CONSUMER_BATCH_WAIT_MS", "20"}};
  auto launch = [&] {
    return Launch("email", {"--db=" + email_db, "--maildir=" + maildir},
                  batches);
  };
  auto files = [&] { return FileNames(maildir + "/new").size(); };
  auto logged = [&]() -> int64_t {
    auto db = db::Database::Open(email_db);
    if (!db.ok()) return -1;
    auto rows = (*db)->TransactValue<int64_t>(
        [](db::Transaction& tx) -> absl::StatusOr<int64_t> {
          auto r = tx.Query("SELECT COUNT(*) FROM email_log");
          if (!r.ok()) return r.status();
          return (*r)[0].Int(0);
        });
    return rows.ok() ? *rows : -1;
  };
  int caught_mid_batch = 0;
  for (int kill = 0; kill < 3; ++kill) {
    const size_t before = files();
    pid_t email = launch();
    // Some way into the backlog (50 to 650 emails after the last kill), the
    // moment the files reach it: while a batch is being moved into new/, or
    // just after, before its commit.
    const size_t target = before + 50 + random() % 600;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (files() < target && absl::Now() < deadline) {
      absl::SleepFor(absl::Microseconds(200));
    }
    Kill(email);
    ASSERT_GE(files(), target);
    const size_t on_disk = files();
    const int64_t committed = logged();
    std::printf("kill %d: %zu emails in new/, %lld logged\n", kill, on_disk,
                static_cast<long long>(committed));
    if (static_cast<int64_t>(on_disk) > committed) ++caught_mid_batch;
    ASSERT_LT(on_disk, static_cast<size_t>(kPayments + 1));
  }
  std::printf("%d of 3 kills between the files and their commit\n",
              caught_mid_batch);

  pid_t email = launch();
  // Behind everything, a sentinel payment on every partition: once each has
  // its email, every record before it was handled, redeliveries included.
  const int sentinels = SendToEachPartition(**producer, 3, [](int i) {
    contracts::v1::PaymentCreated p;
    p.set_payment_id(absl::StrCat("sentinel_", i));
    p.set_user_id("u1");
    p.set_amount(100);
    p.set_currency("GBP");
    return p;
  });
  const int64_t expected = kPayments + 1 + sentinels;
  ASSERT_TRUE(WaitFor([&] { return logged() == expected; }, absl::Seconds(90)))
      << logged() << " logged, " << files() << " files";
  Kill(email);

  // One .eml per event: each payment's id in exactly one email.
  std::map<std::string, int> emails_per_payment;
  int welcomes = 0;
  for (const std::string& eml : Emails(maildir)) {
    size_t at = eml.find("pay_");
    if (at == std::string::npos) at = eml.find("sentinel_");
    if (at == std::string::npos) {
      ++welcomes;
      continue;
    }
    size_t end =
        eml.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789", at);
    ++emails_per_payment[eml.substr(at, end - at)];
  }
  EXPECT_EQ(welcomes, 1);
  EXPECT_EQ(static_cast<int64_t>(emails_per_payment.size()),
            kPayments + sentinels);
  for (const auto& [payment, count] : emails_per_payment) {
    ASSERT_EQ(count, 1) << payment;
  }
  EXPECT_EQ(static_cast<int64_t>(files()), expected);
  EXPECT_EQ(logged(), expected);
  EXPECT_THAT(FileNames(maildir + "/tmp"), ::testing::IsEmpty());
}

// A worker started while its broker is not there yet keeps trying, and
// handles what arrives once the broker is up.
TEST(WorkerStartTest, StartsBeforeTheBrokerThenCatchesUp) {
  const int port = FreePort();
  std::string tmp = absl::StrCat(getenv("TEST_TMPDIR"), "/late");
  fs::create_directories(tmp);
  Config config;
  config.brokers = absl::StrCat("127.0.0.1:", port);
  WorkerSettings settings;
  settings.database.url = absl::StrCat("sqlite:", tmp, "/crm.db");
  settings.admin_port = 0;
  config.consumer.group_id = "late-crm";
  config.consumer.session_timeout_ms = 6000;
  config.consumer.heartbeat_interval_ms = 1000;
  config.consumer.fetch_wait_max_ms = 10;
  config.kafka_properties["reconnect.backoff.max.ms"] = "500";
  auto worker = Worker::Start(config, settings, CrmWorkerSpec());
  ASSERT_TRUE(worker.ok()) << worker.status();
  web::HttpClient admin("127.0.0.1", (*worker)->admin_port());
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(admin.Send("GET", "/healthz")->status, 200);  // alive, waiting

  devbroker::DevBrokerOptions options;
  options.port = port;
  auto broker = devbroker::DevBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  Config producer_config = config;
  auto producer = Producer::Create(producer_config);
  ASSERT_TRUE(producer.ok());
  contracts::v1::UserRegistered user;
  user.set_user_id("late-user");
  user.set_email("late@example.com");
  ASSERT_TRUE((*producer)->Send(user).get().ok());
  auto db = db::Database::Open(settings.database.url);
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
  WorkerSettings settings;
  settings.database.url = absl::StrCat("sqlite:", tmp, "/crm.db");
  settings.admin_port = 0;
  config.consumer.group_id = "janitor-crm";
  WorkerSpec spec = CrmWorkerSpec();
  spec.maintenance_every = absl::Milliseconds(100);
  auto worker = Worker::Start(config, settings, spec);
  ASSERT_TRUE(worker.ok()) << worker.status();
  auto db = db::Database::Open(settings.database.url);
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
