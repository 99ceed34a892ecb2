// File: web/testing/stream_clients.h
//
// Test clients for web/stream_server.h, over real loopback sockets: an SSE
// client that parses the event stream, and a WebSocket client. Both wait
// with timeouts, never forever.
//
// Example:
//
//   auto sse = SseClient::Connect(port, "/events?channels=public.a");
//   ASSERT_EQ((*sse)->status(), 200);
//   absl::StatusOr<SseClient::Event> event = (*sse)->Next(absl::Seconds(5));
//
//   auto ws = WebSocketClient::Connect(port, "/ws");
//   (*ws)->Send(R"({"type":"subscribe","channels":["public.a"]})");
//   absl::StatusOr<std::string> frame = (*ws)->Read(absl::Seconds(5));
//   // or, for a server that batches frames one per line:
//   absl::StatusOr<std::string> line = (*ws)->ReadLine(absl::Seconds(5));
#ifndef HERALD_WEB_TESTING_STREAM_CLIENTS_H_
#define HERALD_WEB_TESTING_STREAM_CLIENTS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "web/http.h"

namespace herald {
namespace web {
namespace testing {

class SseClient {
 public:
  struct Event {
    std::string id;     // "" when the event had no id line
    std::string event;  // "message" when it had no event line
    std::string data;
  };

  // Sends GET `target` and reads the answer's head. `receive_buffer` > 0
  // shrinks the socket's receive buffer (a client that reads slowly).
  static absl::StatusOr<std::unique_ptr<SseClient>> Connect(
      int port, const std::string& target, const HeaderList& headers = {},
      int receive_buffer = 0);
  ~SseClient();

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  // The whole body of an answer that is not a stream (until the server
  // closes, at most `timeout`).
  std::string ReadBody(absl::Duration timeout);
  // The next event; Unavailable once the server closed the stream,
  // DeadlineExceeded when none came within `timeout`.
  absl::StatusOr<Event> Next(absl::Duration timeout);
  // Comment lines (pings) seen so far.
  int comments() const { return comments_; }

 private:
  explicit SseClient(int fd) : fd_(fd) {}
  // Reads what is there within `timeout` into buffer_; false at EOF/error.
  bool Fill(absl::Time deadline, bool* timed_out);

  int fd_;
  int status_ = 0;
  int comments_ = 0;
  std::string head_;
  std::string buffer_;
  bool eof_ = false;
};

class WebSocketClient {
 public:
  static absl::StatusOr<std::unique_ptr<WebSocketClient>> Connect(
      int port, const std::string& target,
      const std::string& host = "127.0.0.1");
  ~WebSocketClient();

  absl::Status Send(const std::string& text);
  // The next text message; DeadlineExceeded when none came within
  // `timeout` (the read stays pending for the next call), Unavailable once
  // the connection closed.
  absl::StatusOr<std::string> Read(absl::Duration timeout);
  // The next line of the messages received: a message that batches several
  // frames one per line (StreamServerOptions::websocket_batches) gives them
  // one by one; a message without a line break is one line.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);
  // Messages received so far (not lines).
  int messages() const;
  void Close();

  class Impl;

 private:
  explicit WebSocketClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace testing
}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_TESTING_STREAM_CLIENTS_H_
