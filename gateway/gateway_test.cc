// The gateway end to end: real HTTP on loopback, a real database (SQLite
// file; PostgreSQL server), and every event checked on the mock cluster.
#include "gateway/gateway.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/trace_context.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "contracts/v1/users.pb.h"
#include "database/migrations.h"
#include "database/testing/backends.h"
#include "gateway/auth/api_keys.h"
#include "gateway/schema.h"
#include "gateway/store.h"
#include "messaging/consumer.h"
#include "messaging/contract_topics.h"
#include "messaging/mock_cluster.h"
#include "messaging/realtime/token.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "web/json.h"
#include "web/server.h"

namespace herald {
namespace gateway {
namespace {

using contracts::v1::EmailNotification;
using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;
using contracts::v1::RealtimeMessage;
using contracts::v1::UserRegistered;
using herald::MockCluster;
using herald::testing::RunningConsumer;
using herald::testing::TestConfig;
using herald::testing::WaitFor;
using ::testing::HasSubstr;

// Every event seen on the cluster, by topic, as (key, decoded text). Events
// that mention "sentinel" are kept apart (GatewayTest::SendSentinels).
class EventLog {
 public:
  std::unique_ptr<RunningConsumer> Attach(const Config& config) {
    auto consumer = Consumer::Create(config);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    Add<PaymentCreated>(**consumer);
    Add<PaymentUpdated>(**consumer);
    Add<UserRegistered>(**consumer);
    Add<EmailNotification>(**consumer);
    Add<RealtimeMessage>(**consumer);
    return std::make_unique<RunningConsumer>(*std::move(consumer));
  }

  struct Event {
    std::string key;
    std::string text;  // DebugString of the decoded event
    std::string id;
    int32_t partition = -1;
    std::string traceparent;  // W3C trace context headers ("" when none)
    std::string tracestate;
  };

  // The events seen on `topic`, sentinels apart.
  std::vector<Event> On(const std::string& topic) {
    absl::MutexLock lock(&mu_);
    return events_[topic];
  }
  // The sentinels seen on `topic`.
  std::vector<Event> Sentinels(const std::string& topic) {
    absl::MutexLock lock(&mu_);
    return sentinels_[topic];
  }
  // Distinct event ids seen on `topic`.
  size_t Distinct(const std::string& topic) {
    std::set<std::string> ids;
    for (const Event& e : On(topic)) ids.insert(e.id);
    return ids.size();
  }

 private:
  template <typename T>
  void Add(Consumer& consumer) {
    ASSERT_TRUE(
        consumer
            .Subscribe<T>([this](const T& event, const Metadata& meta) {
              Event seen{std::string(meta.key),
                         event.DebugString(),
                         std::string(meta.event_id),
                         meta.partition,
                         std::string(meta.Header("traceparent").value_or("")),
                         std::string(meta.Header("tracestate").value_or(""))};
              const bool sentinel = absl::StrContains(seen.text, "sentinel");
              absl::MutexLock lock(&mu_);
              (sentinel ? sentinels_ : events_)[std::string(meta.topic)]
                  .push_back(std::move(seen));
              return absl::OkStatus();
            })
            .ok());
  }

  absl::Mutex mu_;
  std::map<std::string, std::vector<Event>> events_;
  std::map<std::string, std::vector<Event>> sentinels_;
};

json::object Json(const std::string& body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << body;
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

// Creates an API key in the gateway database `url` and returns its secret.
std::string CreateKey(const std::string& url, const std::string& name,
                      auth::ScopeSet scopes = auth::ScopeSet::All()) {
  absl::StatusOr<std::string> secret = CreateApiKeyIn(url, name, scopes);
  EXPECT_TRUE(secret.ok()) << secret.status();
  return secret.value_or("");
}

web::HeaderList WithKey(const std::string& secret,
                        web::HeaderList headers = {}) {
  headers.emplace_back("Authorization", "Bearer " + secret);
  return headers;
}

std::string Header(const web::ClientResponse& r, const std::string& name) {
  for (const auto& [key, value] : r.headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

class GatewayTest : public db::testing::ForEachBackend {
 protected:
  static constexpr int kPartitions = 3;  // of each topic

  void SetUp() override {
    ForEachBackend::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    for (const std::string& topic : ContractTopics()) {
      ASSERT_TRUE(cluster_->CreateTopic(topic, kPartitions).ok());
    }
    config_ = TestConfig(*cluster_, "gateway-test-reader");
    config_.service = "gateway";
    settings_.http_address = "127.0.0.1";
    settings_.http_port = 0;
    settings_.admin_port = 0;
    settings_.database.url = DatabaseUrl();
    key_ = CreateKey(DatabaseUrl(), "test");
    StartGateway();
    reader_ = events_.Attach(config_);
  }

  void StartGateway() {
    GatewayOptions options;
    options.maintenance_every = absl::Milliseconds(100);
    auto gateway = Gateway::Start(config_, settings_, options);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    client_ = std::make_unique<web::HttpClient>("127.0.0.1", gateway_->port());
    admin_ =
        std::make_unique<web::HttpClient>("127.0.0.1", gateway_->admin_port());
  }

  // A POST with the test's API key (key_) unless `headers` carries one.
  web::ClientResponse Post(const std::string& path, const std::string& body,
                           web::HeaderList headers = {}) {
    bool keyed = false;
    for (const auto& header : headers) keyed |= header.first == "Authorization";
    if (!keyed) headers = WithKey(key_, std::move(headers));
    auto r = client_->Send("POST", path, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : web::ClientResponse{};
  }

  web::ClientResponse Get(const std::string& path) {
    auto r = client_->Send("GET", path, "", WithKey(key_));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : web::ClientResponse{};
  }

  // A GET on the admin port (/readyz, /metrics, /healthz).
  web::ClientResponse Admin(const std::string& path) {
    auto r = admin_->Send("GET", path);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : web::ClientResponse{};
  }

  // SendSentinels()
  //
  // Makes the gateway publish sentinel events on `topic` (payment.created,
  // payment.updated or user.registered) behind everything it accepted so
  // far, one at a time, until one has arrived on each of the topic's
  // partitions. Its outbox relay publishes in commit order and a partition
  // is read in order, so by then events_ holds every event the gateway
  // published before them: "no other event arrived" needs no sleep.
  void SendSentinels(const std::string& topic) {
    const size_t before = events_.Sentinels(topic).size();
    for (int i = 0; i < 64; ++i) {
      const std::vector<EventLog::Event> sentinels = events_.Sentinels(topic);
      std::set<int32_t> partitions;
      for (size_t j = before; j < sentinels.size(); ++j) {
        partitions.insert(sentinels[j].partition);
      }
      if (static_cast<int>(partitions.size()) == kPartitions) return;
      if (topic == "user.registered") {
        ASSERT_EQ(Post("/api/v1/users",
                       absl::StrCat(R"({"email":"sentinel-)", sentinels_sent_++,
                                    R"(@example.com","name":"S"})"))
                      .status,
                  201);
      } else {
        auto payment =
            Post("/api/v1/payments", R"({"user_id":"sentinel","amount":1,)"
                                     R"("currency":"EUR"})");
        ASSERT_EQ(payment.status, 201) << payment.body;
        if (topic == "payment.updated") {
          ASSERT_EQ(Post("/api/v1/payments/" +
                             Str(Json(payment.body), "payment_id") + "/status",
                         R"({"status":"failed","reason":"sentinel"})")
                        .status,
                    200);
        }
      }
      ASSERT_TRUE(WaitFor([&] {
        return events_.Sentinels(topic).size() > before + i;
      })) << "sentinel "
          << i << " never arrived on " << topic;
    }
    FAIL() << "64 sentinels did not cover the partitions of " << topic;
  }

  std::unique_ptr<MockCluster> cluster_;
  Config config_;
  GatewaySettings settings_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<web::HttpClient> client_;
  std::unique_ptr<web::HttpClient> admin_;
  std::string key_;  // an API key with every scope
  EventLog events_;
  std::unique_ptr<RunningConsumer> reader_;
  int sentinels_sent_ = 0;
};

TEST_P(GatewayTest, EveryRouteAnswersAndEmitsItsEvent) {
  auto user =
      Post("/api/v1/users", R"({"email":"Ada@Example.com","name":"Ada"})");
  ASSERT_EQ(user.status, 201) << user.body;
  std::string user_id = Str(Json(user.body), "user_id");
  EXPECT_EQ(Str(Json(user.body), "email"), "ada@example.com");

  auto payment = Post("/api/v1/payments",
                      absl::StrCat(R"({"user_id":")", user_id,
                                   R"(","amount":1999,"currency":"EUR"})"));
  ASSERT_EQ(payment.status, 201) << payment.body;
  std::string payment_id = Str(Json(payment.body), "payment_id");
  EXPECT_EQ(Str(Json(payment.body), "status"), "pending");

  auto got = Get("/api/v1/payments/" + payment_id);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(Json(got.body).at("amount").as_int64(), 1999);

  auto updated = Post("/api/v1/payments/" + payment_id + "/status",
                      R"({"status":"succeeded","reason":"captured"})");
  EXPECT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Str(Json(updated.body), "status"), "succeeded");

  auto email = Post("/api/v1/notifications/email",
                    R"({"to":"ada@example.com","template":"welcome",)"
                    R"("variables":{"name":"Ada"}})");
  EXPECT_EQ(email.status, 202) << email.body;

  ASSERT_TRUE(WaitFor([&] {
    return events_.On("user.registered").size() == 1 &&
           events_.On("payment.created").size() == 1 &&
           events_.On("payment.updated").size() == 1 &&
           events_.On("notification.email").size() == 1;
  }));
  EXPECT_EQ(events_.On("user.registered")[0].key, user_id);
  EXPECT_THAT(events_.On("user.registered")[0].text,
              HasSubstr("email: \"ada@example.com\""));
  EXPECT_EQ(events_.On("payment.created")[0].key, payment_id);
  EXPECT_THAT(events_.On("payment.created")[0].text, HasSubstr("amount: 1999"));
  EXPECT_THAT(events_.On("payment.updated")[0].text,
              HasSubstr("new_status: \"succeeded\""));
  // The paying user, for the realtime worker's user.<id> channel.
  EXPECT_THAT(events_.On("payment.updated")[0].text,
              HasSubstr(absl::StrCat("user_id: \"", user_id, "\"")));
  EXPECT_EQ(events_.On("notification.email")[0].key, "ada@example.com");
  EXPECT_THAT(events_.On("notification.email")[0].text,
              HasSubstr("template_name: \"welcome\""));

  auto health = Admin("/healthz");
  EXPECT_EQ(health.status, 200);
  auto ready = Admin("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(Str(Json(ready.body), "database"), "ok");
  auto metrics = Admin("/metrics");
  EXPECT_THAT(
      metrics.body,
      HasSubstr(
          R"(herald_http_requests_total{route="/api/v1/payments",method="POST",status="201"} 1)"));
  EXPECT_THAT(metrics.body, HasSubstr("herald_outbox_pending 0"));
  EXPECT_THAT(metrics.body, HasSubstr("herald_events_published_total 4"));
  EXPECT_THAT(metrics.body,
              HasSubstr("herald_http_request_duration_seconds_bucket"));
}

// W3C trace context: the caller's traceparent (or a new root) is stored
// with the outbox row and published as the record's headers, as a child:
// the same trace id, a new span id; tracestate as it came.
TEST_P(GatewayTest, TraceContextTravelsFromTheRequestToTheRecord) {
  auto traced = Post(
      "/api/v1/payments", R"({"user_id":"u1","amount":5,"currency":"EUR"})",
      {{"traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
       {"tracestate", "congo=t61rcWkgMzE"}});
  ASSERT_EQ(traced.status, 201) << traced.body;
  auto untraced = Post("/api/v1/users", R"({"email":"a@b.c","name":"A"})");
  ASSERT_EQ(untraced.status, 201) << untraced.body;
  auto untraced_too = Post("/api/v1/users", R"({"email":"b@b.c","name":"B"})");
  ASSERT_EQ(untraced_too.status, 201) << untraced_too.body;
  ASSERT_TRUE(WaitFor([&] {
    return events_.On("payment.created").size() == 1 &&
           events_.On("user.registered").size() == 2;
  }));
  const EventLog::Event payment = events_.On("payment.created")[0];
  std::optional<trace::Context> child = trace::Parse(payment.traceparent);
  ASSERT_TRUE(child.has_value()) << payment.traceparent;
  EXPECT_EQ(child->trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(child->span_id(), "00f067aa0ba902b7");
  EXPECT_EQ(payment.tracestate, "congo=t61rcWkgMzE");
  // Without one, each request is a new root.
  std::optional<trace::Context> first =
      trace::Parse(events_.On("user.registered")[0].traceparent);
  std::optional<trace::Context> second =
      trace::Parse(events_.On("user.registered")[1].traceparent);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_NE(first->trace_id(), second->trace_id());
  EXPECT_NE(first->trace_id(), child->trace_id());
  EXPECT_EQ(events_.On("user.registered")[0].tracestate, "");
}

// Answers are written without a JSON library object on the hot path: text
// that needs escaping must still come back exactly as it was sent.
TEST_P(GatewayTest, AnswersCarryAnyTextExactly) {
  const std::string user = "u\"1\\ \x01 \xc3\xbc \xf0\x9f\x92\xb3";
  json::object request = {
      {"user_id", user}, {"amount", 5}, {"currency", "EUR"}};
  auto created = Post("/api/v1/payments", json::serialize(request));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Str(Json(created.body), "user_id"), user);
  const std::string id = Str(Json(created.body), "payment_id");
  const std::string reason = "line one\nline \"two\"\t\x7f";
  auto updated = Post(
      "/api/v1/payments/" + id + "/status",
      json::serialize(json::object{{"status", "failed"}, {"reason", reason}}));
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Str(Json(updated.body), "reason"), reason);
  auto read = Get("/api/v1/payments/" + id);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(Str(Json(read.body), "user_id"), user);
  EXPECT_EQ(Str(Json(read.body), "reason"), reason);
}

TEST_P(GatewayTest, TransitionsConflictsAndMissingPayments) {
  auto payment = Post("/api/v1/payments",
                      R"({"user_id":"u1","amount":5,"currency":"USD"})");
  std::string id = Str(Json(payment.body), "payment_id");
  EXPECT_EQ(Post("/api/v1/payments/" + id + "/status", R"({"status":"failed"})")
                .status,
            200);
  auto again =
      Post("/api/v1/payments/" + id + "/status", R"({"status":"succeeded"})");
  EXPECT_EQ(again.status, 409);
  EXPECT_THAT(again.body, HasSubstr("invalid_transition"));
  EXPECT_EQ(Get("/api/v1/payments/pay_nope").status, 404);
  EXPECT_THAT(Admin("/metrics").body,
              HasSubstr(R"(route="/api/v1/payments/{id}",method="GET",)"
                        R"(status="404"} 1)"));
  EXPECT_EQ(
      Post("/api/v1/payments/pay_nope/status", R"({"status":"failed"})").status,
      404);
  EXPECT_EQ(Post("/api/v1/users", R"({"email":"a@b.co","name":"A"})").status,
            201);
  auto dup = Post("/api/v1/users", R"({"email":"A@B.co","name":"A2"})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_THAT(dup.body, HasSubstr("email_taken"));
  // Only the successful writes produced events.
  ASSERT_TRUE(WaitFor([&] {
    return events_.On("payment.updated").size() == 1 &&
           events_.On("user.registered").size() == 1;
  }));
  ASSERT_NO_FATAL_FAILURE(SendSentinels("payment.updated"));
  ASSERT_NO_FATAL_FAILURE(SendSentinels("user.registered"));
  EXPECT_EQ(events_.On("payment.updated").size(), 1u);
  EXPECT_EQ(events_.On("user.registered").size(), 1u);
}

TEST_P(GatewayTest, BadInputGets4xxJsonAndNoEvent) {
  struct Case {
    std::string method, path, body;
    int status;
    std::string code, field;
  };
  const std::string big(70 * 1024, 'x');
  for (const Case& c : std::vector<Case>{
           {"POST", "/api/v1/payments", "{nope", 400, "invalid_json", ""},
           {"POST", "/api/v1/payments",
            R"({"user_id":true,"amount":1,"currency":"EUR"})", 400,
            "invalid_field", "user_id"},
           {"POST", "/api/v1/payments", R"({"amount":1,"currency":"EUR"})", 400,
            "missing_field", "user_id"},
           {"POST", "/api/v1/payments",
            R"({"user_id":"u","amount":1,"currency":"EUR","x":1})", 400,
            "unknown_field", "x"},
           {"POST", "/api/v1/payments",
            R"({"user_id":"u","amount":0,"currency":"EUR"})", 400,
            "invalid_field", "amount"},
           {"POST", "/api/v1/payments",
            R"({"user_id":"u","amount":-3,"currency":"EUR"})", 400,
            "invalid_field", "amount"},
           {"POST", "/api/v1/payments",
            R"({"user_id":"u","amount":3,"currency":"ABC"})", 400,
            "invalid_field", "currency"},
           {"POST", "/api/v1/users", R"({"email":"not-an-email","name":"A"})",
            400, "invalid_field", "email"},
           {"POST", "/api/v1/notifications/email", R"({"to":"a@b.co"})", 400,
            "missing_field", "subject"},
           {"POST", "/api/v1/payments", R"({"user_id":")" + big + R"("})", 413,
            "payload_too_large", ""},
           {"GET", "/api/v1/nothing", "", 404, "not_found", ""},
           {"DELETE", "/api/v1/payments", "", 405, "method_not_allowed", ""},
       }) {
    SCOPED_TRACE(c.method + " " + c.path + " " + c.body.substr(0, 60));
    auto r = client_->Send(c.method, c.path, c.body, WithKey(key_));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, c.status) << r->body;
    json::object error = Json(r->body).at("error").as_object();
    EXPECT_EQ(Str(error, "code"), c.code);
    EXPECT_EQ(Str(error, "field"), c.field);
    EXPECT_FALSE(Str(error, "message").empty());
  }
  ASSERT_NO_FATAL_FAILURE(SendSentinels("payment.created"));
  ASSERT_NO_FATAL_FAILURE(SendSentinels("user.registered"));
  EXPECT_TRUE(events_.On("payment.created").empty());
  EXPECT_TRUE(events_.On("user.registered").empty());
  // Metrics label requests by route pattern, also a method the route does
  // not allow; a path no route matches is "unmatched".
  const std::string metrics = Admin("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr(R"(herald_http_requests_total{route=)"
                                 R"("/api/v1/payments",method="DELETE",)"
                                 R"(status="405"} 1)"));
  EXPECT_THAT(metrics, HasSubstr(R"(herald_http_requests_total{route=)"
                                 R"("unmatched",method="GET",status="404"})"));
}

// Keys older than idempotency.retention_hours are forgotten: a retry with
// one is a new request. Younger keys still replay.
TEST_P(GatewayTest, IdempotencyKeysAreForgottenAfterTheirRetention) {
  const std::string body = R"({"user_id":"u1","amount":700,"currency":"GBP"})";
  auto old_first = Post("/api/v1/payments", body, {{"Idempotency-Key", "old"}});
  auto fresh_first =
      Post("/api/v1/payments", body, {{"Idempotency-Key", "fresh"}});
  ASSERT_EQ(old_first.status, 201);
  ASSERT_EQ(fresh_first.status, 201);
  // Ages one key past the retention (24 hours by default).
  auto db = db::Database::Open(settings_.database.url);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)
                  ->Transact([](db::Transaction& tx) {
                    return tx
                        .Execute(
                            "UPDATE idempotency_keys SET created_at = ?"
                            " WHERE idem_key = 'test:old'",
                            {absl::ToUnixMillis(absl::Now() - absl::Hours(25))})
                        .status();
                  })
                  .ok());
  ASSERT_TRUE(WaitFor([&] {
    auto rows = (*db)->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
      return tx.Query("SELECT idem_key FROM idempotency_keys");
    });
    // Stored scoped by the API key's name.
    return rows.ok() && rows->size() == 1 &&
           (*rows)[0].String(0) == "test:fresh";
  }));
  auto old_again = Post("/api/v1/payments", body, {{"Idempotency-Key", "old"}});
  EXPECT_EQ(old_again.status, 201);
  EXPECT_NE(Str(Json(old_again.body), "payment_id"),
            Str(Json(old_first.body), "payment_id"));
  EXPECT_EQ(Post("/api/v1/payments", body, {{"Idempotency-Key", "fresh"}}).body,
            fresh_first.body);
}

TEST_P(GatewayTest, IdempotencyKeyReplaysTheFirstAnswerWithoutASecondEvent) {
  const std::string body = R"({"user_id":"u1","amount":700,"currency":"GBP"})";
  auto first = Post("/api/v1/payments", body, {{"Idempotency-Key", "abc-1"}});
  auto second = Post("/api/v1/payments", body, {{"Idempotency-Key", "abc-1"}});
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.body, first.body);
  auto other = Post("/api/v1/payments",
                    R"({"user_id":"u1","amount":1,"currency":"GBP"})",
                    {{"Idempotency-Key", "abc-1"}});
  EXPECT_EQ(other.status, 409);
  EXPECT_THAT(other.body, HasSubstr("idempotency_key_reused"));
  auto fresh = Post("/api/v1/payments", body, {{"Idempotency-Key", "abc-2"}});
  EXPECT_NE(Str(Json(fresh.body), "payment_id"),
            Str(Json(first.body), "payment_id"));
  ASSERT_TRUE(
      WaitFor([&] { return events_.On("payment.created").size() >= 2; }));
  ASSERT_NO_FATAL_FAILURE(SendSentinels("payment.created"));
  EXPECT_EQ(events_.Distinct("payment.created"), 2u);
}

TEST_P(GatewayTest, BrokerDownRequestsAcceptedAndDeliveredLater) {
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  for (int i = 0; i < 20; ++i) {
    auto r = Post("/api/v1/payments",
                  absl::StrCat(R"({"user_id":"u)", i,
                               R"(","amount":100,"currency":"EUR"})"));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  EXPECT_THAT(Admin("/readyz").body, HasSubstr(R"("outbox_pending":20)"));
  ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
  ASSERT_TRUE(WaitFor([&] { return events_.Distinct("payment.created") == 20; },
                      absl::Seconds(60)))
      << events_.Distinct("payment.created");
  ASSERT_TRUE(WaitFor([&] {
    return Admin("/readyz").body.find(R"("outbox_pending":0)") !=
           std::string::npos;
  }));
}

// Without a valid key: 401 unauthenticated, and nothing written.
TEST_P(GatewayTest, WritesWithoutAValidKeyAre401AndWriteNothing) {
  const std::string revoked = CreateKey(DatabaseUrl(), "revoked");
  auto db = db::Database::Open(DatabaseUrl());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(auth::RevokeApiKey(**db, "revoked").ok());
  const std::string body = R"({"to":"x@y.z","subject":"s","body":"b"})";
  for (const web::HeaderList& headers : std::vector<web::HeaderList>{
           {},
           {{"Authorization", key_}},  // no scheme
           {{"Authorization", "Basic " + key_}},
           {{"Authorization", "Bearer"}},
           {{"Authorization", "Bearer hk_nobody"}},
           {{"Authorization", "Bearer " + key_ + "x"}},
       }) {
    SCOPED_TRACE(headers.empty() ? "(none)" : headers[0].second);
    auto r =
        client_->Send("POST", "/api/v1/notifications/email", body, headers);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401) << r->body;
    EXPECT_EQ(Str(Json(r->body).at("error").as_object(), "code"),
              "unauthenticated");
    EXPECT_EQ(Header(*r, "WWW-Authenticate"), "Bearer");
  }
  // Revoked before the gateway read the keys, or after: within 5 seconds.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Post("/api/v1/notifications/email", body, WithKey(revoked))
                   .status == 401;
      },
      absl::Seconds(5)));
  auto read = client_->Send("GET", "/api/v1/payments/pay_x");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->status, 401);
  ASSERT_NO_FATAL_FAILURE(SendSentinels("payment.created"));
  EXPECT_TRUE(events_.On("notification.email").empty());
}

TEST_P(GatewayTest, AKeyWithoutTheRoutesScopeIs403) {
  const std::string reader =
      CreateKey(DatabaseUrl(), "reader", *auth::ParseScopes("payments:read"));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Post("/api/v1/payments",
                    R"({"user_id":"u","amount":1,"currency":"EUR"})",
                    WithKey(reader))
                   .status == 403;
      },
      absl::Seconds(5)));
  auto refused = Post("/api/v1/payments/pay_x/status",
                      R"({"status":"succeeded"})", WithKey(reader));
  EXPECT_EQ(refused.status, 403);
  json::object error = Json(refused.body).at("error").as_object();
  EXPECT_EQ(Str(error, "code"), "forbidden");
  EXPECT_THAT(Str(error, "message"), HasSubstr("payments:status"));
  // The scope it has works.
  auto read =
      client_->Send("GET", "/api/v1/payments/pay_x", "", WithKey(reader));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->status, 404);
}

TEST_P(GatewayTest, RealtimeMessagesGoThroughTheOutbox) {
  const std::string path = "/api/v1/realtime/channels/public.news/messages";
  const std::string body = R"({"event":"note","data":{"n":1,"s":"é"}})";
  auto first = Post(path, body, {{"Idempotency-Key", "note-1"}});
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(Str(Json(first.body), "channel"), "public.news");
  auto again = Post(path, body, {{"Idempotency-Key", "note-1"}});
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(again.body, first.body);  // replayed: same event id, no event
  EXPECT_EQ(Post(path, R"({"event":"other","data":1})",
                 {{"Idempotency-Key", "note-1"}})
                .status,
            409);
  // Any JSON value is a payload; user channels too.
  EXPECT_EQ(Post("/api/v1/realtime/channels/user.u42/messages",
                 R"({"event":"x","data":null})")
                .status,
            202);
  struct Bad {
    std::string path, body, code;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"/api/v1/realtime/channels/news/messages", body, "invalid_channel"},
           {"/api/v1/realtime/channels/public.a%20b/messages", body,
            "invalid_channel"},
           {"/api/v1/realtime/channels/user./messages", body,
            "invalid_channel"},
           {path, R"({"data":1})", "missing_field"},
           {path, R"({"event":"note"})", "missing_field"},
           {path, R"({"event":"a\nb","data":1})", "invalid_field"},
           {path, R"({"event":"","data":1})", "invalid_field"},
           {path, R"({"event":"x","data":1,"extra":2})", "unknown_field"},
           {path, R"({"event":"x","data":)", "invalid_json"},
       }) {
    SCOPED_TRACE(bad.path + " " + bad.body);
    auto r = Post(bad.path, bad.body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(Str(Json(r.body).at("error").as_object(), "code"), bad.code);
  }
  EXPECT_EQ(Post(path, body, {{"Content-Type", "text/plain"}}).status, 415);

  // A sentinel behind them on the same channel (so the same partition):
  // once it is here, every event before it is too.
  ASSERT_EQ(Post(path, R"({"event":"sentinel","data":0})").status, 202);
  ASSERT_TRUE(WaitFor(
      [&] { return events_.Sentinels("realtime.messages").size() == 1; }));
  std::vector<EventLog::Event> seen = events_.On("realtime.messages");
  ASSERT_EQ(seen.size(), 2u);  // note-1 once, and user.u42's
  std::map<std::string, std::string> by_channel;
  for (const auto& e : seen) by_channel[e.key] = e.text;
  EXPECT_THAT(by_channel["public.news"], HasSubstr(R"(event: "note")"));
  EXPECT_THAT(by_channel["public.news"], HasSubstr(R"(n\":1)"));
  EXPECT_THAT(by_channel["public.news"], HasSubstr("sent_at"));
  EXPECT_THAT(by_channel["user.u42"], HasSubstr(R"(data_json: "null")"));
  EXPECT_EQ(Str(Json(first.body), "event_id"),
            seen[0].key == "public.news" ? seen[0].id : seen[1].id);
}

TEST_P(GatewayTest, RealtimeRoutesNeedTheirScopes) {
  const std::string publisher = CreateKey(
      DatabaseUrl(), "publisher", *auth::ParseScopes("realtime:publish"));
  const std::string issuer =
      CreateKey(DatabaseUrl(), "issuer", *auth::ParseScopes("realtime:tokens"));
  const std::string publish = "/api/v1/realtime/channels/public.x/messages";
  const std::string message = R"({"event":"e","data":{}})";
  const std::string tokens = "/api/v1/realtime/tokens";
  ASSERT_TRUE(WaitFor(
      [&] { return Post(publish, message, WithKey(publisher)).status == 202; },
      absl::Seconds(5)));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Post(tokens, R"({"user_id":"u"})", WithKey(issuer)).status ==
               503;  // no secret configured: reached the handler
      },
      absl::Seconds(5)));
  auto refused = Post(publish, message, WithKey(issuer));
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(Str(Json(refused.body).at("error").as_object(), "message"),
              HasSubstr("realtime:publish"));
  refused = Post(tokens, R"({"user_id":"u"})", WithKey(publisher));
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(Str(Json(refused.body).at("error").as_object(), "message"),
              HasSubstr("realtime:tokens"));
  for (const std::string& route : {publish, tokens}) {
    auto r = client_->Send("POST", route, R"({"user_id":"u"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 401) << route;
  }
}

TEST_P(GatewayTest, RealtimeTokensAreSignedWithTheSharedSecret) {
  const std::string tokens = "/api/v1/realtime/tokens";
  auto off = Post(tokens, R"({"user_id":"u42"})");
  EXPECT_EQ(off.status, 503) << off.body;
  EXPECT_EQ(Str(Json(off.body).at("error").as_object(), "code"),
            "not_configured");

  const std::string secret = "a-secret-of-32-bytes-for-tests!!";
  gateway_->Stop();
  gateway_.reset();
  settings_.realtime_tokens.secret = secret;
  settings_.realtime_tokens.ttl = absl::Minutes(5);
  ASSERT_NO_FATAL_FAILURE(StartGateway());
  const absl::Time before = absl::Now();
  auto issued = Post(tokens, R"({"user_id":"u42"})");
  ASSERT_EQ(issued.status, 200) << issued.body;
  json::object answer = Json(issued.body);
  EXPECT_EQ(Str(answer, "channel"), "user.u42");
  auto claims =
      realtime::VerifyToken(secret, Str(answer, "token"), absl::Now());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->user_id, "u42");
  EXPECT_GE(claims->expires_at, before + absl::Minutes(5) - absl::Seconds(1));
  EXPECT_LE(claims->expires_at, absl::Now() + absl::Minutes(5));
  EXPECT_FALSE(
      realtime::VerifyToken(secret, Str(answer, "token"),
                            absl::Now() + absl::Minutes(5) + absl::Seconds(1))
          .ok());
  EXPECT_FALSE(realtime::VerifyToken("another-secret-of-32-bytes!!!!!!",
                                     Str(answer, "token"), absl::Now())
                   .ok());
  // Numeric user ids, like the payments'.
  auto numeric = Post(tokens, R"({"user_id":456})");
  ASSERT_EQ(numeric.status, 200) << numeric.body;
  EXPECT_EQ(Str(Json(numeric.body), "channel"), "user.456");
  for (const char* bad :
       {R"({})", R"({"user_id":"a b"})", R"({"user_id":""})",
        R"({"user_id":-1})", R"({"user_id":"u","ttl":5})", "[]"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(Post(tokens, bad).status, 400);
  }
  EXPECT_EQ(
      Post(tokens, R"({"user_id":"u"})", {{"Content-Type", "text/x"}}).status,
      415);

  // A secret too short for HMAC stops the gateway at start, naming it.
  gateway_->Stop();
  gateway_.reset();
  settings_.realtime_tokens.secret = "short";
  auto refused = Gateway::Start(config_, settings_);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("realtime.token_secret"));
}

TEST_P(GatewayTest, HealthzIsOpenAndAdminRoutesAreOnlyOnTheAdminPort) {
  auto health = client_->Send("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  for (const char* path : {"/metrics", "/readyz"}) {
    auto r = client_->Send("GET", path, "", WithKey(key_));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(Admin(path).status, 200) << path;
  }
  EXPECT_EQ(Admin("/healthz").status, 200);
  // The admin port serves no API.
  auto api = admin_->Send("POST", "/api/v1/payments",
                          R"({"user_id":"u","amount":1,"currency":"EUR"})",
                          WithKey(key_));
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(api->status, 404);
}

// Two clients may use the same Idempotency-Key: each replays its own.
TEST_P(GatewayTest, IdempotencyKeysAreScopedByApiKey) {
  const std::string other = CreateKey(DatabaseUrl(), "other");
  const std::string body = R"({"user_id":"u1","amount":700,"currency":"GBP"})";
  auto mine = Post("/api/v1/payments", body, {{"Idempotency-Key", "order-1"}});
  ASSERT_EQ(mine.status, 201);
  web::ClientResponse theirs;
  ASSERT_TRUE(WaitFor(
      [&] {
        theirs = Post("/api/v1/payments", body,
                      WithKey(other, {{"Idempotency-Key", "order-1"}}));
        return theirs.status != 401;
      },
      absl::Seconds(5)));
  ASSERT_EQ(theirs.status, 201) << theirs.body;
  EXPECT_NE(Str(Json(theirs.body), "payment_id"),
            Str(Json(mine.body), "payment_id"));
  EXPECT_EQ(
      Post("/api/v1/payments", body, {{"Idempotency-Key", "order-1"}}).body,
      mine.body);
  EXPECT_EQ(Post("/api/v1/payments", body,
                 WithKey(other, {{"Idempotency-Key", "order-1"}}))
                .body,
            theirs.body);
}

// Two gateways share the database (PostgreSQL): each key has a bucket per
// gateway; over it, 429 with Retry-After; a key revoked (as by heraldctl) is
// refused by both within 5 seconds. A SQLite file serves one gateway: a
// second one refuses to start, naming the setting.
TEST_P(GatewayTest, RateLimitsAndRevocationAcrossTwoGateways) {
  GatewaySettings limited = settings_;
  limited.auth.rate_limit_per_second = 1;
  limited.auth.rate_limit_burst = 3;
  GatewayOptions options;
  auto second = Gateway::Start(config_, limited, options);
  if (GetParam() == db::testing::Backend::kSqlite) {
    ASSERT_FALSE(second.ok());
    EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
    EXPECT_TRUE(absl::StrContains(second.status().message(), "`db`"))
        << second.status();
    return;
  }
  ASSERT_TRUE(second.ok()) << second.status();
  web::HttpClient client("127.0.0.1", (*second)->port());
  const std::string body = R"({"user_id":"u","amount":1,"currency":"EUR"})";
  std::vector<int> statuses;
  web::ClientResponse last;
  for (int i = 0; i < 5; ++i) {
    auto r = client.Send("POST", "/api/v1/payments", body, WithKey(key_));
    ASSERT_TRUE(r.ok());
    statuses.push_back(r->status);
    last = *r;
  }
  // The burst of 3 passes (a token may come back meanwhile), then 429.
  EXPECT_EQ(statuses[0], 201);
  EXPECT_EQ(statuses[1], 201);
  EXPECT_EQ(statuses[2], 201);
  EXPECT_EQ(last.status, 429) << last.body;
  EXPECT_EQ(Str(Json(last.body).at("error").as_object(), "code"),
            "rate_limited");
  const std::string retry_after = Header(last, "Retry-After");
  EXPECT_EQ(retry_after, "1");
  // The first gateway's bucket for the same key is its own.
  EXPECT_EQ(Post("/api/v1/payments", body).status, 201);

  auto db = db::Database::Open(DatabaseUrl());
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(auth::RevokeApiKey(**db, "test").ok());
  const absl::Time revoked = absl::Now();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r =
            client.Send("GET", "/api/v1/payments/pay_x", "", WithKey(key_));
        auto mine =
            client_->Send("GET", "/api/v1/payments/pay_x", "", WithKey(key_));
        return r.ok() && r->status == 401 && mine.ok() && mine->status == 401;
      },
      absl::Seconds(5)));
  EXPECT_LT(absl::Now() - revoked, absl::Seconds(5));
}

INSTANTIATE_TEST_SUITE_P(Backends, GatewayTest,
                         ::testing::ValuesIn(db::testing::AllBackends()),
                         db::testing::BackendParamName);

// A SQLite database made by the first schema: its payments survive the
// upgrade (the table is rebuilt) and can still be read and updated.
TEST(GatewayUpgradeTest, PaymentsFromTheFirstSchemaAreStillServed) {
  const std::string url =
      absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/upgrade.db");
  std::remove(url.substr(7).c_str());
  {
    auto db = db::Database::Open(url);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db::Migrate(**db, "gateway", {Store::Migrations()[0]}).ok());
    ASSERT_TRUE((*db)
                    ->Transact([](db::Transaction& tx) {
                      return tx
                          .Execute(
                              "INSERT INTO payments VALUES ('pay_old', 'u1',"
                              " 1234, 'EUR', 'pending', '', 1, 1)")
                          .status();
                    })
                    .ok());
  }
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  Config config = TestConfig(**cluster, "upgrade");
  config.service = "gateway";
  GatewaySettings settings;
  settings.http_address = "127.0.0.1";
  settings.http_port = 0;
  settings.admin_port = 0;
  settings.database.url = url;
  const std::string key = CreateKey(url, "upgrade");
  auto gateway = Gateway::Start(config, settings);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  web::HttpClient client("127.0.0.1", (*gateway)->port());
  auto got = client.Send("GET", "/api/v1/payments/pay_old", "", WithKey(key));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->status, 200) << got->body;
  EXPECT_THAT(got->body, HasSubstr("1234"));
  auto updated = client.Send("POST", "/api/v1/payments/pay_old/status",
                             R"({"status":"succeeded"})", WithKey(key));
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->status, 200) << updated->body;
}

// With no brokers configured the gateway starts the development broker and
// publishes through it.
TEST(GatewayDevBrokerTest, NoBrokersStartsTheDevelopmentBroker) {
  int port;
  {
    web::Router router;
    web::ServerOptions probe_options;
    probe_options.address = "127.0.0.1";
    probe_options.port = 0;
    auto probe = web::HttpServer::Start(probe_options, router);
    ASSERT_TRUE(probe.ok());
    port = (*probe)->port();
  }
  Config config;
  config.service = "gateway";
  GatewaySettings settings;
  settings.database.url =
      absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/dev.db");
  settings.http_address = "127.0.0.1";
  settings.http_port = 0;
  settings.admin_port = 0;
  const std::string key = CreateKey(settings.database.url, "dev");
  GatewayOptions options;
  options.dev_broker_port = port;
  auto gateway = Gateway::Start(config, settings, options);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  EXPECT_EQ((*gateway)->brokers(), absl::StrCat("127.0.0.1:", port));
  web::HttpClient client("127.0.0.1", (*gateway)->port());
  auto r = client.Send("POST", "/api/v1/users",
                       R"({"email":"d@e.fg","name":"D"})", WithKey(key));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 201);
  Config reader = config;
  reader.brokers = (*gateway)->brokers();
  reader.consumer.group_id = "dev-reader";
  reader.consumer.session_timeout_ms = 6000;
  reader.consumer.heartbeat_interval_ms = 1000;
  reader.consumer.fetch_wait_max_ms = 10;
  EventLog events;
  auto consumer = events.Attach(reader);
  EXPECT_TRUE(
      WaitFor([&] { return events.On("user.registered").size() == 1; }));
}

// auth.enabled=false: for local development, and only on loopback.
TEST(GatewayAuthOptOutTest, RefusedOffLoopbackAndOpenOnIt) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  Config config = TestConfig(**cluster, "opt-out");
  config.service = "gateway";
  GatewaySettings settings;
  settings.database.url =
      absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/optout.db");
  settings.http_port = 0;
  settings.admin_port = 0;
  settings.auth.enabled = false;
  settings.http_address = "0.0.0.0";
  auto refused = Gateway::Start(config, settings);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("http_address"));
  settings.http_address = "127.0.0.1";
  auto gateway = Gateway::Start(config, settings);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  web::HttpClient client("127.0.0.1", (*gateway)->port());
  auto r = client.Send("POST", "/api/v1/payments",
                       R"({"user_id":"u","amount":1,"currency":"EUR"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201) << r->body;
}

// The gateway binary, killed with SIGKILL while Kafka is away, restarted:
// what it accepted is delivered.
TEST(GatewayProcessTest, KilledWithBacklogThenRestartedDeliversIt) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  ASSERT_TRUE((*cluster)->CreateTopic("payment.created", 3).ok());
  const std::string binary =
      absl::StrCat(getenv("TEST_SRCDIR"), "/herald/gateway/gateway");
  const std::string db =
      absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/killed.db");
  auto launch = [&](int port) {
    pid_t pid = fork();
    if (pid == 0) {
      std::string brokers =
          absl::StrCat("--brokers=", (*cluster)->bootstrap_servers());
      std::string db_flag = absl::StrCat("--db=", db);
      std::string port_flag = absl::StrCat("--http_port=", port);
      execl(binary.c_str(), binary.c_str(), brokers.c_str(), db_flag.c_str(),
            port_flag.c_str(), "--admin_port=0", static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  };
  // A free port for the child.
  int port;
  {
    web::Router router;
    web::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    auto probe = web::HttpServer::Start(options, router);
    ASSERT_TRUE(probe.ok());
    port = (*probe)->port();
  }
  const std::string key = CreateKey(db, "process");
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  pid_t pid = launch(port);
  web::HttpClient client("127.0.0.1", port);
  ASSERT_TRUE(WaitFor([&] {
    auto r = client.Send("GET", "/healthz");
    return r.ok() && r->status == 200;
  }));
  for (int i = 0; i < 25; ++i) {
    auto r = client.Send("POST", "/api/v1/payments",
                         absl::StrCat(R"({"user_id":"k)", i,
                                      R"(","amount":9,"currency":"EUR"})"),
                         WithKey(key));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 201);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);

  ASSERT_TRUE((*cluster)->SetBrokerUp(1).ok());
  pid = launch(port);
  Config config = TestConfig(**cluster, "killed-reader");
  EventLog events;
  auto reader = events.Attach(config);
  ASSERT_TRUE(WaitFor([&] { return events.Distinct("payment.created") == 25; },
                      absl::Seconds(60)))
      << events.Distinct("payment.created");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace gateway
}  // namespace herald
