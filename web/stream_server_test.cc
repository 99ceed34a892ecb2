// web/stream_server.h over loopback with real SSE and WebSocket clients:
// frames queued together go out together, in order, and the queue bound
// holds. Frames sent from on_open are all queued before the first write
// (on_open runs on the connection's loop thread), so what gets batched is
// deterministic.
#include "web/stream_server.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "web/testing/stream_clients.h"

namespace herald {
namespace web {
namespace {

using testing::SseClient;
using testing::WebSocketClient;

constexpr absl::Duration kWait = absl::Seconds(10);

Stream::Frame Share(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

// A server whose streams get `frames` (made by `frame(i)`) from on_open,
// one Send() each or all in one (`in_one_send`); records how many frames
// were accepted.
class BurstServer {
 public:
  BurstServer(StreamServerOptions options, int frames,
              std::function<std::string(int)> frame, bool in_one_send = false) {
    auto on_open = [this, frames, frame,
                    in_one_send](std::shared_ptr<Stream> stream) {
      int accepted = 0;
      if (in_one_send) {
        std::vector<Stream::Frame> all;
        for (int i = 0; i < frames; ++i) all.push_back(Share(frame(i)));
        accepted = static_cast<int>(stream->Send(all));
      } else {
        for (int i = 0; i < frames; ++i) {
          if (stream->Send(Share(frame(i)))) ++accepted;
        }
      }
      absl::MutexLock lock(&mu_);
      accepted_.push_back(accepted);
      streams_.push_back(std::move(stream));
    };
    StreamCallbacks callbacks;
    callbacks.on_open = on_open;
    StreamRoutes routes;
    routes.Sse("/sse", [callbacks](const Request&) {
      return StreamAnswer::Accept(callbacks);
    });
    routes.WebSocket("/ws", [callbacks](const Request&) {
      return StreamAnswer::Accept(callbacks);
    });
    auto server = StreamServer::Start(options, Router(), std::move(routes));
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  ~BurstServer() {
    {
      absl::MutexLock lock(&mu_);
      streams_.clear();
    }
    server_->Stop();
  }

  int port() const { return server_->port(); }
  // The first stream opened (waits for it).
  std::shared_ptr<Stream> FirstStream() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::vector<std::shared_ptr<Stream>>* s) { return !s->empty(); },
        &streams_));
    return streams_.front();
  }
  std::vector<int> accepted() {
    absl::MutexLock lock(&mu_);
    return accepted_;
  }

 private:
  std::unique_ptr<StreamServer> server_;
  absl::Mutex mu_;
  std::vector<int> accepted_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
};

std::string SseEvent(int i) {
  return absl::StrCat("id: ", i, "\nevent: n\ndata: ", i, "\n\n");
}
std::string JsonFrame(int i) { return absl::StrCat("{\"n\":", i, "}"); }

// Reads `count` events and expects SseEvent(0), SseEvent(1), ... in order.
void ExpectEventsInOrder(SseClient& client, int count) {
  for (int i = 0; i < count; ++i) {
    auto event = client.Next(kWait);
    ASSERT_TRUE(event.ok()) << i << ": " << event.status();
    EXPECT_EQ(event->id, absl::StrCat(i));
    EXPECT_EQ(event->data, absl::StrCat(i));
  }
}

TEST(StreamServerTest, SseBurstArrivesWholeAndInOrder) {
  BurstServer server({}, 200, SseEvent);
  auto client = SseClient::Connect(server.port(), "/sse");
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_EQ((*client)->status(), 200);
  ExpectEventsInOrder(**client, 200);
}

TEST(StreamServerTest, WebSocketBatchesEverythingQueuedInOneMessage) {
  StreamServerOptions options;
  options.websocket_batches = true;
  BurstServer server(options, 200, JsonFrame);
  auto ws = WebSocketClient::Connect(server.port(), "/ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  for (int i = 0; i < 200; ++i) {
    auto line = (*ws)->ReadLine(kWait);
    ASSERT_TRUE(line.ok()) << i << ": " << line.status();
    EXPECT_EQ(*line, JsonFrame(i));
  }
  // All 200 were queued before the first write: one write, one message (a
  // write capped at some frames would leave the rest for later flushes).
  EXPECT_EQ((*ws)->messages(), 1);
}

// A producer far faster than the write delay: each flush must take all that
// queued since the last, or the queue grows by the difference every flush
// until the stream is refused (the realtime worker then drops the client as
// slow). Bursts of 50 every 200 ms against a 200 ms delay queue at most 150
// between two flushes even when a flush comes late, below the bound of 200;
// a write capped at 32 frames would fall 18 behind per flush and hit the
// bound within about 11 bursts.
TEST(StreamServerTest, AWebSocketStreamKeepsUpWhenFlushesAreFarApart) {
  StreamServerOptions options;
  options.websocket_batches = true;
  options.write_delay = absl::Milliseconds(200);
  options.max_queued_frames = 200;
  BurstServer server(options, 0, JsonFrame);
  auto ws = WebSocketClient::Connect(server.port(), "/ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  std::shared_ptr<Stream> stream = server.FirstStream();
  constexpr int kBursts = 20, kBurst = 50;
  int refused = 0;
  std::thread producer([&] {
    const absl::Time start = absl::Now();
    for (int b = 0; b < kBursts; ++b) {
      absl::SleepFor(start + absl::Milliseconds(200) * b - absl::Now());
      for (int i = 0; i < kBurst; ++i) {
        if (!stream->Send(Share(JsonFrame(b * kBurst + i)))) ++refused;
      }
    }
  });
  // Frames in order, none missing, up to the first that is not.
  int received = 0;
  for (; received < kBursts * kBurst; ++received) {
    auto line = (*ws)->ReadLine(kWait);
    if (!line.ok() || *line != JsonFrame(received)) break;
  }
  producer.join();
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(received, kBursts * kBurst);
  stream.reset();
}

TEST(StreamServerTest, WebSocketWithoutBatchesSendsAMessagePerFrame) {
  BurstServer server({}, 50, JsonFrame);
  auto ws = WebSocketClient::Connect(server.port(), "/ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  for (int i = 0; i < 50; ++i) {
    auto message = (*ws)->Read(kWait);
    ASSERT_TRUE(message.ok()) << i << ": " << message.status();
    EXPECT_EQ(*message, JsonFrame(i));
  }
}

TEST(StreamServerTest, WriteDelayGathersFramesQueuedSoonAfterAWrite) {
  StreamServerOptions options;
  options.websocket_batches = true;
  // Long enough that the ten Send()s below, from this thread, all happen
  // within it.
  options.write_delay = absl::Seconds(1);
  BurstServer server(options, 0, JsonFrame);
  auto ws = WebSocketClient::Connect(server.port(), "/ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  std::shared_ptr<Stream> stream = server.FirstStream();
  // After a quiet spell a frame goes at once, alone.
  ASSERT_TRUE(stream->Send(Share(JsonFrame(0))));
  auto first = (*ws)->ReadLine(kWait);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, JsonFrame(0));
  EXPECT_EQ((*ws)->messages(), 1);
  // Frames queued within the delay of that write wait for the next flush,
  // and go out together.
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(stream->Send(Share(JsonFrame(i))));
  for (int i = 1; i <= 10; ++i) {
    auto line = (*ws)->ReadLine(kWait);
    ASSERT_TRUE(line.ok()) << i << ": " << line.status();
    EXPECT_EQ(*line, JsonFrame(i));
  }
  EXPECT_EQ((*ws)->messages(), 2);
  stream.reset();
}

TEST(StreamServerTest, QueueBoundRefusesFramesBeyondIt) {
  StreamServerOptions options;
  options.max_queued_frames = 100;
  BurstServer server(options, 150, SseEvent);
  auto client = SseClient::Connect(server.port(), "/sse");
  ASSERT_TRUE(client.ok()) << client.status();
  // Nothing was written while on_open ran (its writes wait for the loop
  // thread it runs on), so the queue filled up to the bound: the response
  // head, then 99 events.
  ExpectEventsInOrder(**client, 99);
  EXPECT_EQ(server.accepted(), std::vector<int>{99});
}

TEST(StreamServerTest, OneSendOfManyFramesQueuesAsManyAsFit) {
  StreamServerOptions options;
  options.max_queued_frames = 100;
  BurstServer server(options, 150, SseEvent, /*in_one_send=*/true);
  auto client = SseClient::Connect(server.port(), "/sse");
  ASSERT_TRUE(client.ok()) << client.status();
  // The response head, then the first 99 events, in order.
  ExpectEventsInOrder(**client, 99);
  EXPECT_EQ(server.accepted(), std::vector<int>{99});
}

}  // namespace
}  // namespace web
}  // namespace herald
