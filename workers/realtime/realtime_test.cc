// The realtime worker over loopback: the mock cluster, two worker instances,
// real SSE and WebSocket clients. Fan-out to many clients on both
// instances, domain events mapped to channels (no personal data on public
// ones), resume with no gap and no duplicate (on the other instance too),
// history_lost, token checks, a slow client dropped while the others keep
// up, and the connection cap.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "messaging/realtime/token.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "web/json.h"
#include "web/testing/stream_clients.h"
#include "workers/realtime/channels.h"
#include "workers/realtime/realtime_worker.h"

namespace herald {
namespace workers {
namespace {

using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;
using contracts::v1::RealtimeMessage;
using contracts::v1::UserRegistered;
using web::testing::SseClient;
using web::testing::WebSocketClient;

constexpr char kSecret[] = "test-secret-0123456789";
constexpr absl::Duration kWait = absl::Seconds(10);

class RealtimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start();
    ASSERT_TRUE(cluster.ok());
    cluster_ = *std::move(cluster);
    for (const std::string& topic : RealtimeTopics()) {
      ASSERT_TRUE(cluster_->CreateTopic(topic, 3).ok());
    }
    config_ = testing::TestConfig(*cluster_);
    auto producer = Producer::Create(config_);
    ASSERT_TRUE(producer.ok());
    producer_ = *std::move(producer);
  }

  std::unique_ptr<RealtimeWorker> StartWorker(RealtimeSettings settings = {},
                                              HubOptions hub = {}) {
    settings.http_port = 0;
    settings.token_secret = kSecret;
    auto worker = RealtimeWorker::Start(config_, settings, hub);
    EXPECT_TRUE(worker.ok()) << worker.status();
    return worker.ok() ? *std::move(worker) : nullptr;
  }

  void Publish(const std::string& channel, const std::string& data_json,
               const std::string& event = "note") {
    RealtimeMessage m;
    m.set_channel(channel);
    m.set_event(event);
    m.set_data_json(data_json);
    ASSERT_TRUE(producer_->Send(m).get().ok());
  }

  static std::unique_ptr<SseClient> Sse(int port, const std::string& target,
                                        const web::HeaderList& headers = {},
                                        int receive_buffer = 0) {
    auto client = SseClient::Connect(port, target, headers, receive_buffer);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // The next event that is not `herald.subscribed`.
  static SseClient::Event NextEvent(SseClient& client) {
    while (true) {
      absl::StatusOr<SseClient::Event> event = client.Next(kWait);
      EXPECT_TRUE(event.ok()) << event.status();
      if (!event.ok()) return {};
      if (event->event != "herald.subscribed") return *event;
    }
  }

  std::unique_ptr<MockCluster> cluster_;
  Config config_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(RealtimeTest, EveryClientOfBothInstancesGetsEveryMessageOfItsChannels) {
  auto a = StartWorker();
  auto b = StartWorker();
  ASSERT_TRUE(a && b);
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < 20; ++i) {
    const int port = (i % 2 == 0 ? a : b)->port();
    clients.push_back(
        Sse(port, "/api/v1/realtime/sse?channels=public.news,public.other"));
    ASSERT_EQ(clients.back()->status(), 200) << clients.back()->head();
    EXPECT_TRUE(absl::StrContains(clients.back()->head(), "text/event-stream"));
    auto hello = clients.back()->Next(kWait);
    ASSERT_TRUE(hello.ok());
    EXPECT_EQ(hello->event, "herald.subscribed");
    EXPECT_FALSE(hello->id.empty());  // a resume point before any message
  }
  auto ws = WebSocketClient::Connect(b->port(), "/api/v1/realtime/ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  ASSERT_TRUE(
      (*ws)->Send(R"({"type":"subscribe","channels":["public.news"]})").ok());
  auto subscribed = (*ws)->ReadLine(kWait);
  ASSERT_TRUE(subscribed.ok());
  EXPECT_TRUE(absl::StrContains(*subscribed, "\"subscribed\"")) << *subscribed;
  // Not for them, then for them: a channel nobody reads is skipped.
  Publish("public.elsewhere", "0");
  for (int i = 1; i <= 10; ++i) Publish("public.news", absl::StrCat(i));
  for (auto& client : clients) {
    for (int i = 1; i <= 10; ++i) {
      SseClient::Event event = NextEvent(*client);
      EXPECT_EQ(event.event, "note");
      EXPECT_EQ(event.data, absl::StrCat(i));
      EXPECT_FALSE(event.id.empty());
    }
  }
  for (int i = 1; i <= 10; ++i) {
    auto frame = (*ws)->ReadLine(kWait);
    ASSERT_TRUE(frame.ok()) << frame.status();
    json::value v = json::parse(*frame);
    EXPECT_EQ(v.at("type").as_string(), "message");
    EXPECT_EQ(v.at("channel").as_string(), "public.news");
    EXPECT_EQ(v.at("data").as_int64(), i);
  }
  web::HttpClient admin("127.0.0.1", a->port());
  // Counted once queued, which may be just after a client read it.
  absl::StatusOr<web::ClientResponse> metrics;
  EXPECT_TRUE(testing::WaitFor([&] {
    metrics = admin.Send("GET", "/metrics");
    return metrics.ok() &&
           absl::StrContains(metrics->body,
                             "herald_realtime_messages_fanned_out_total 100");
  })) << (metrics.ok() ? metrics->body : metrics.status().ToString());
  ASSERT_TRUE(metrics.ok());
  EXPECT_TRUE(absl::StrContains(
      metrics->body, "herald_realtime_connections{transport=\"sse\"} 10"))
      << metrics->body;
  EXPECT_TRUE(absl::StrContains(metrics->body,
                                "herald_realtime_delivery_lag_seconds_count"));
  auto health = admin.Send("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
  auto page = admin.Send("GET", "/");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(absl::StrContains(page->body, "new EventSource(")) << page->body;
}

TEST_F(RealtimeTest,
       DomainEventsReachUserAndPublicChannelsWithoutPersonalData) {
  auto worker = StartWorker();
  ASSERT_TRUE(worker);
  const std::string token =
      realtime::SignToken(kSecret, "user_1", absl::Now() + absl::Minutes(5));
  auto user = Sse(worker->port(), absl::StrCat("/api/v1/realtime/sse?channels="
                                               "user.user_1&token=",
                                               token));
  auto pub = Sse(worker->port(),
                 "/api/v1/realtime/sse?channels=public.payments,public.users");
  ASSERT_EQ(user->status(), 200) << user->ReadBody(kWait);
  ASSERT_EQ(pub->status(), 200);
  ASSERT_TRUE(user->Next(kWait).ok());
  ASSERT_TRUE(pub->Next(kWait).ok());
  UserRegistered registered;
  registered.set_user_id("user_1");
  registered.set_email("ada@example.com");
  registered.set_name("Ada Lovelace");
  ASSERT_TRUE(producer_->Send(registered).get().ok());
  PaymentCreated created;
  created.set_payment_id("pay_1");
  created.set_user_id("user_1");
  created.set_amount(1999);
  created.set_currency("EUR");
  ASSERT_TRUE(producer_->Send(created).get().ok());
  PaymentUpdated updated;
  updated.set_payment_id("pay_1");
  updated.set_user_id("user_1");
  updated.set_old_status("pending");
  updated.set_new_status("succeeded");
  updated.set_reason("captured for Ada Lovelace");
  ASSERT_TRUE(producer_->Send(updated).get().ok());

  // Public: user.registered (counted, nothing personal), then the payment.
  std::map<std::string, std::string> seen;
  for (int i = 0; i < 3; ++i) {
    SseClient::Event e = NextEvent(*pub);
    seen[e.event] += e.data;
  }
  ASSERT_EQ(seen.size(), 3u);
  for (const auto& [event, data] : seen) {
    EXPECT_FALSE(absl::StrContains(data, "ada@example.com")) << data;
    EXPECT_FALSE(absl::StrContains(data, "Ada")) << data;
    EXPECT_FALSE(absl::StrContains(data, "user_1")) << data;
  }
  EXPECT_TRUE(absl::StrContains(seen["payment.created"], "\"amount\":1999"));
  EXPECT_TRUE(absl::StrContains(seen["payment.updated"], "succeeded"));
  // The user's channel: their payment, with its reason.
  SseClient::Event first = NextEvent(*user);
  SseClient::Event second = NextEvent(*user);
  EXPECT_EQ(first.event, "payment.created");
  EXPECT_EQ(second.event, "payment.updated");
  EXPECT_TRUE(absl::StrContains(second.data, "captured")) << second.data;
}

TEST_F(RealtimeTest, UserChannelsNeedAValidTokenForThatUser) {
  auto worker = StartWorker();
  ASSERT_TRUE(worker);
  const std::string path = "/api/v1/realtime/sse?channels=user.user_1";
  auto none = Sse(worker->port(), path);
  EXPECT_EQ(none->status(), 401);
  EXPECT_TRUE(absl::StrContains(none->ReadBody(kWait), "\"unauthenticated\""));
  const absl::Time now = absl::Now();
  auto expired = Sse(worker->port(),
                     absl::StrCat(path, "&token=",
                                  realtime::SignToken(kSecret, "user_1",
                                                      now - absl::Seconds(1))));
  EXPECT_EQ(expired->status(), 401);
  auto forged =
      Sse(worker->port(),
          absl::StrCat(path, "&token=",
                       realtime::SignToken("another-secret-12345678", "user_1",
                                           now + absl::Minutes(1))));
  EXPECT_EQ(forged->status(), 401);
  auto other = Sse(worker->port(),
                   absl::StrCat(path, "&token=",
                                realtime::SignToken(kSecret, "user_2",
                                                    now + absl::Minutes(1))));
  EXPECT_EQ(other->status(), 403);
  auto bearer = Sse(
      worker->port(), path,
      {{"Authorization",
        absl::StrCat("Bearer ", realtime::SignToken(kSecret, "user_1",
                                                    now + absl::Minutes(1)))}});
  EXPECT_EQ(bearer->status(), 200);
  auto bad_channel = Sse(worker->port(), "/api/v1/realtime/sse?channels=admin");
  EXPECT_EQ(bad_channel->status(), 400);
  auto no_channel = Sse(worker->port(), "/api/v1/realtime/sse");
  EXPECT_EQ(no_channel->status(), 400);
  // Over WebSocket: an error frame, and nothing subscribed.
  auto ws = WebSocketClient::Connect(worker->port(), "/api/v1/realtime/ws");
  ASSERT_TRUE(ws.ok());
  ASSERT_TRUE(
      (*ws)->Send(R"({"type":"subscribe","channels":["user.user_1"]})").ok());
  auto answer = (*ws)->ReadLine(kWait);
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(absl::StrContains(*answer, "\"unauthenticated\"")) << *answer;
}

TEST_F(RealtimeTest, ResumeOnEitherInstanceHasNoGapAndNoDuplicate) {
  auto a = StartWorker();
  auto b = StartWorker();
  ASSERT_TRUE(a && b);
  const std::string path = "/api/v1/realtime/sse?channels=public.feed";
  auto client = Sse(a->port(), path);
  ASSERT_TRUE(client->Next(kWait).ok());
  for (int i = 1; i <= 5; ++i) Publish("public.feed", absl::StrCat(i));
  std::string last_id;
  for (int i = 1; i <= 5; ++i) {
    SseClient::Event e = NextEvent(*client);
    ASSERT_EQ(e.data, absl::StrCat(i));
    last_id = e.id;
  }
  client.reset();  // disconnected
  // Missed while away: on several partitions, and other channels between.
  for (int i = 6; i <= 30; ++i) {
    Publish(i % 3 == 0 ? "public.feed" : absl::StrCat("public.feed.", i % 5),
            absl::StrCat(i));
    Publish("public.feed", absl::StrCat(i));
  }
  // Reconnects to the other instance, with the Last-Event-ID header.
  auto resumed = Sse(b->port(), path, {{"Last-Event-ID", last_id}});
  ASSERT_EQ(resumed->status(), 200);
  auto hello = resumed->Next(kWait);
  ASSERT_TRUE(hello.ok());
  EXPECT_TRUE(absl::StrContains(hello->data, "\"resumed\":true"));
  Publish("public.feed", "\"sentinel\"");
  std::multiset<std::string> got;
  std::string last;
  while (true) {
    SseClient::Event e = NextEvent(*resumed);
    if (e.data.empty() || e.data == "\"sentinel\"") {
      last = e.id;
      break;
    }
    got.insert(e.data);
  }
  std::multiset<std::string> want;
  for (int i = 6; i <= 30; ++i) {
    want.insert(absl::StrCat(i));
    if (i % 3 == 0) want.insert(absl::StrCat(i));
  }
  EXPECT_EQ(got, want);
  // And with ?last_event_id= on the first instance: only what came after.
  Publish("public.feed", "31");
  auto again = Sse(a->port(), absl::StrCat(path, "&last_event_id=", last));
  ASSERT_EQ(again->status(), 200);
  SseClient::Event next = NextEvent(*again);
  EXPECT_EQ(next.data, "31");
}

// A reconnect storm: 24 clients resume at once on a hub that replays two
// at a time. The others wait their turn (their live messages with them) and
// each gets exactly what it missed, then the sentinel.
TEST_F(RealtimeTest, ResumesBeyondTheReplayThreadsWaitTheirTurn) {
  HubOptions hub;
  hub.replay_threads = 2;
  auto worker = StartWorker({}, hub);
  ASSERT_TRUE(worker);
  const std::string path = "/api/v1/realtime/sse?channels=public.storm";
  auto first = Sse(worker->port(), path);
  auto hello = first->Next(kWait);
  ASSERT_TRUE(hello.ok());
  const std::string from = hello->id;  // the position before any message
  first.reset();
  for (int i = 1; i <= 10; ++i) Publish("public.storm", absl::StrCat(i));
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int c = 0; c < 24; ++c) {
    clients.push_back(Sse(worker->port(), path, {{"Last-Event-ID", from}}));
    ASSERT_EQ(clients.back()->status(), 200);
  }
  Publish("public.storm", "\"sentinel\"");
  std::multiset<std::string> want;
  for (int i = 1; i <= 10; ++i) want.insert(absl::StrCat(i));
  for (auto& client : clients) {
    ASSERT_TRUE(client->Next(kWait).ok());  // herald.subscribed
    std::multiset<std::string> got;
    while (true) {
      SseClient::Event e = NextEvent(*client);
      ASSERT_NE(e.event, "herald.history_lost") << e.data;
      if (e.data == "\"sentinel\"") break;
      got.insert(e.data);
    }
    EXPECT_EQ(got, want);
  }
}

TEST_F(RealtimeTest, AResumePointKafkaNoLongerHasSendsHistoryLost) {
  auto worker = StartWorker();
  ASSERT_TRUE(worker);
  // A position beyond the end of the log: another cluster, or a topic that
  // was recreated.
  std::string future;
  for (const std::string& topic : RealtimeTopics()) {
    if (!future.empty()) future += ",";
    absl::StrAppend(&future, topic, ":999.999.999");
  }
  auto client = Sse(worker->port(), "/api/v1/realtime/sse?channels=public.feed",
                    {{"Last-Event-ID", future}});
  ASSERT_EQ(client->status(), 200);
  SseClient::Event lost = NextEvent(*client);
  EXPECT_EQ(lost.event, "herald.history_lost");
  EXPECT_FALSE(lost.id.empty());
  // Then live.
  Publish("public.feed", "1");
  EXPECT_EQ(NextEvent(*client).data, "1");
  auto bad = Sse(worker->port(), "/api/v1/realtime/sse?channels=public.feed",
                 {{"Last-Event-ID", "not a position"}});
  EXPECT_EQ(bad->status(), 400);
}

TEST_F(RealtimeTest, ASlowClientIsDroppedWhileTheOthersKeepUp) {
  RealtimeSettings settings;
  settings.client_buffer = 8;
  auto worker = StartWorker(settings);
  ASSERT_TRUE(worker);
  const std::string path = "/api/v1/realtime/sse?channels=public.firehose";
  // Reads nothing, with a small receive buffer: its queue fills up.
  auto slow = Sse(worker->port(), path, {}, /*receive_buffer=*/2048);
  auto fast = Sse(worker->port(), path);
  ASSERT_TRUE(slow->status() == 200 && fast->status() == 200);
  ASSERT_TRUE(fast->Next(kWait).ok());
  const std::string big = absl::StrCat("\"", std::string(16 * 1024, 'x'), "\"");
  constexpr int kMessages = 150;
  // One at a time, each read by the fast client before the next is sent:
  // its queue never holds more than one (a burst fetched from Kafka at once
  // could fill even a fast reader's 8), while the slow one's grows.
  for (int i = 0; i < kMessages; ++i) {
    Publish("public.firehose", big);
    ASSERT_EQ(NextEvent(*fast).data, big) << i;
  }
  Publish("public.firehose", "\"end\"");
  EXPECT_EQ(NextEvent(*fast).data, "\"end\"");
  // The slow one: what was queued, then the resume event, then the end.
  std::string last_id;
  SseClient::Event e;
  while (true) {
    absl::StatusOr<SseClient::Event> next = slow->Next(kWait);
    ASSERT_TRUE(next.ok()) << next.status();
    e = *next;
    if (e.event == "herald.slow_consumer") break;
    if (!e.id.empty()) last_id = e.id;
  }
  EXPECT_TRUE(absl::StrContains(e.data, "last event id"));
  EXPECT_TRUE(absl::IsUnavailable(slow->Next(kWait).status()));
  web::HttpClient admin("127.0.0.1", worker->port());
  absl::StatusOr<web::ClientResponse> metrics;
  EXPECT_TRUE(testing::WaitFor([&] {
    metrics = admin.Send("GET", "/metrics");
    return metrics.ok() &&
           absl::StrContains(metrics->body,
                             "herald_realtime_slow_clients_dropped_total 1");
  })) << (metrics.ok() ? metrics->body : metrics.status().ToString());
  // It resumes from its last id and gets the rest, up to the end.
  auto back = Sse(worker->port(), path, {{"Last-Event-ID", last_id}});
  int rest = 0;
  while (NextEvent(*back).data != "\"end\"") ++rest;
  EXPECT_GT(rest, 0);
  EXPECT_LT(rest, kMessages);
}

// Any producer may write to realtime.messages: an event name that would
// break its SSE line (and forge events) is dropped; the sentinel after it is
// the next event a client sees.
TEST_F(RealtimeTest, AnEventNameThatWouldBreakItsLineIsDropped) {
  auto worker = StartWorker();
  ASSERT_TRUE(worker);
  auto client = Sse(worker->port(), "/api/v1/realtime/sse?channels=public.x");
  ASSERT_EQ(client->status(), 200);
  ASSERT_TRUE(client->Next(kWait).ok());  // herald.subscribed
  Publish("public.x", "1", "note\ndata: {\"forged\":true}\n\nevent: forged");
  Publish("public.x", "2", "sentinel");
  SseClient::Event event = NextEvent(*client);
  EXPECT_EQ(event.event, "sentinel");
  EXPECT_EQ(event.data, "2");
}

TEST_F(RealtimeTest, ConnectionsOverTheCapAreRefused) {
  RealtimeSettings settings;
  settings.max_connections = 2;
  auto worker = StartWorker(settings);
  ASSERT_TRUE(worker);
  const std::string path = "/api/v1/realtime/sse?channels=public.a";
  auto one = Sse(worker->port(), path);
  auto two = Sse(worker->port(), path);
  ASSERT_TRUE(one->Next(kWait).ok());
  ASSERT_TRUE(two->Next(kWait).ok());
  auto three = Sse(worker->port(), path);
  EXPECT_EQ(three->status(), 503);
  two.reset();
  ASSERT_TRUE(testing::WaitFor([&] {
    auto again = Sse(worker->port(), path);
    return again->status() == 200;
  }));
}

}  // namespace
}  // namespace workers
}  // namespace herald
