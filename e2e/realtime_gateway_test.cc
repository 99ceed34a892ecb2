// The gateway's realtime routes end to end: a message POSTed to the gateway
// goes through its outbox and Kafka (the mock cluster) to a realtime
// worker, which pushes it to SSE clients over real HTTP; a token issued by
// the gateway opens its user's channel on the worker, and only that one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/auth/scopes.h"
#include "gateway/gateway.h"
#include "gateway/schema.h"
#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "web/json.h"
#include "web/testing/stream_clients.h"
#include "workers/realtime/channels.h"
#include "workers/realtime/realtime_worker.h"

namespace herald {
namespace {

using web::testing::SseClient;

constexpr absl::Duration kWait = absl::Seconds(20);
constexpr char kSecret[] = "e2e-secret-shared-by-gateway-and-worker";

std::string Field(const std::string& body, const char* key) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains(key)) return "";
  const json::value& field = v.as_object().at(key);
  return field.is_string() ? std::string(field.as_string())
                           : json::serialize(field);
}

class RealtimeGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start();
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    for (const std::string& topic : workers::RealtimeTopics()) {
      ASSERT_TRUE(cluster_->CreateTopic(topic, 3).ok());
    }
    Config config = testing::TestConfig(*cluster_);
    gateway::GatewaySettings gateway_settings;
    gateway_settings.database.url = absl::StrCat(
        "sqlite:", std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), ".db");
    gateway_settings.http_address = "127.0.0.1";
    gateway_settings.http_port = 0;
    gateway_settings.admin_port = 0;
    gateway_settings.realtime_tokens.secret = kSecret;
    for (const auto& [name, scopes] :
         {std::pair<const char*, const char*>{
              "realtime", "realtime:publish,realtime:tokens"},
          {"reader", "payments:read"}}) {
      absl::StatusOr<std::string> key =
          gateway::CreateApiKeyIn(gateway_settings.database.url, name,
                                  *gateway::auth::ParseScopes(scopes));
      ASSERT_TRUE(key.ok()) << key.status();
      keys_.push_back(*key);
    }
    auto gw = gateway::Gateway::Start(config, gateway_settings);
    ASSERT_TRUE(gw.ok()) << gw.status();
    gateway_ = *std::move(gw);
    client_ = std::make_unique<web::HttpClient>("127.0.0.1", gateway_->port());
    workers::RealtimeSettings settings;
    settings.http_port = 0;
    settings.token_secret = kSecret;
    auto worker = workers::RealtimeWorker::Start(config, settings);
    ASSERT_TRUE(worker.ok()) << worker.status();
    worker_ = *std::move(worker);
  }

  void TearDown() override {
    if (worker_ != nullptr) worker_->Stop();
    if (gateway_ != nullptr) gateway_->Stop();
  }

  web::ClientResponse Post(const std::string& path, const std::string& body,
                           const std::string& key) {
    web::HeaderList headers = {{"Content-Type", "application/json"}};
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    auto r = client_->Send("POST", path, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : web::ClientResponse{};
  }

  // An SSE stream on the worker, past its `herald.subscribed`.
  std::unique_ptr<SseClient> Subscribe(const std::string& query) {
    auto sse =
        SseClient::Connect(worker_->port(), "/api/v1/realtime/sse?" + query);
    EXPECT_TRUE(sse.ok()) << sse.status();
    if (!sse.ok()) return nullptr;
    EXPECT_EQ((*sse)->status(), 200) << (*sse)->head();
    auto hello = (*sse)->Next(kWait);
    EXPECT_TRUE(hello.ok()) << hello.status();
    if (hello.ok()) {
      EXPECT_EQ(hello->event, "herald.subscribed");
    }
    return *std::move(sse);
  }

  std::unique_ptr<MockCluster> cluster_;
  std::vector<std::string> keys_;  // [0]: realtime scopes, [1]: neither
  std::unique_ptr<gateway::Gateway> gateway_;
  std::unique_ptr<web::HttpClient> client_;
  std::unique_ptr<workers::RealtimeWorker> worker_;
};

TEST_F(RealtimeGatewayTest, AMessagePostedToTheGatewayReachesSseClients) {
  std::unique_ptr<SseClient> a = Subscribe("channels=public.news");
  std::unique_ptr<SseClient> b = Subscribe("channels=public.news,public.x");
  ASSERT_TRUE(a != nullptr && b != nullptr);
  const std::string path = "/api/v1/realtime/channels/public.news/messages";
  // Refused ones first: no key, a key without the scope, a bad body.
  EXPECT_EQ(Post(path, R"({"event":"no-key","data":1})", "").status, 401);
  EXPECT_EQ(Post(path, R"({"event":"no-scope","data":1})", keys_[1]).status,
            403);
  EXPECT_EQ(Post(path, R"({"event":"bad","data":1,"x":1})", keys_[0]).status,
            400);
  auto accepted =
      Post(path, R"({"event":"note","data":{"n":1,"s":"hi"}})", keys_[0]);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  // The next event on each stream is the accepted one: the refused ones
  // sent nothing.
  for (SseClient* client : {a.get(), b.get()}) {
    auto event = client->Next(kWait);
    ASSERT_TRUE(event.ok()) << event.status();
    EXPECT_EQ(event->event, "note");
    EXPECT_EQ(event->data, R"({"n":1,"s":"hi"})");
    EXPECT_FALSE(event->id.empty());  // a resume position
  }
}

TEST_F(RealtimeGatewayTest, AGatewayTokenOpensItsUsersChannelOnly) {
  auto issued =
      Post("/api/v1/realtime/tokens", R"({"user_id":"u42"})", keys_[0]);
  ASSERT_EQ(issued.status, 200) << issued.body;
  const std::string token = Field(issued.body, "token");
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(Field(issued.body, "channel"), "user.u42");
  EXPECT_FALSE(Field(issued.body, "expires_at").empty());
  EXPECT_EQ(
      Post("/api/v1/realtime/tokens", R"({"user_id":"u42"})", keys_[1]).status,
      403);

  // Without a token, or with another user's: refused by the worker.
  for (const std::string& query :
       {std::string("channels=user.u42"),
        absl::StrCat("channels=user.u43&token=", token),
        absl::StrCat("channels=user.u42&token=", token, "x")}) {
    SCOPED_TRACE(query);
    auto refused =
        SseClient::Connect(worker_->port(), "/api/v1/realtime/sse?" + query);
    ASSERT_TRUE(refused.ok());
    EXPECT_TRUE((*refused)->status() == 401 || (*refused)->status() == 403)
        << (*refused)->head();
  }
  std::unique_ptr<SseClient> mine =
      Subscribe(absl::StrCat("channels=user.u42&token=", token));
  ASSERT_TRUE(mine != nullptr);
  auto posted = Post("/api/v1/realtime/channels/user.u42/messages",
                     R"({"event":"hello","data":"just you"})", keys_[0]);
  ASSERT_EQ(posted.status, 202) << posted.body;
  auto event = mine->Next(kWait);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->event, "hello");
  EXPECT_EQ(event->data, R"("just you")");
}

}  // namespace
}  // namespace herald
