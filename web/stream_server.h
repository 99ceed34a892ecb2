// File: web/stream_server.h
//
// An HTTP server whose routes can stay open: Server-Sent Events responses
// and WebSocket connections (Boost.Beast underneath, not in this header),
// next to plain request/response routes (a web::Router). The application
// gets each open connection as a Stream and pushes frames to it from any
// thread.
//
// Built for fan-out to many slow and fast clients at once:
//   - a frame is a shared immutable buffer: one encoding of a message is
//     queued to every connection without a copy;
//   - each connection queues at most `max_queued_frames`; Send() answers
//     false beyond that, and the application decides (close the laggard);
//   - everything a connection has queued goes out in one write, from one
//     buffer (SSE events one after the other; WebSocket frames in one
//     message, one per line, when `websocket_batches` is set), so a burst
//     or a client that fell behind costs one system call for many frames;
//     `write_delay` trades a little latency for fewer, bigger writes when
//     messages flow fast (none when they do not), and more so when the
//     loop is busy;
//   - at most `max_streams` streams are open; more are refused with 503;
//   - SSE: a comment line (":\n\n") every `ping_interval`, and a write that
//     does not finish within `idle_timeout` closes the connection;
//   - WebSocket: a ping when nothing was received for half of
//     `idle_timeout`, and the connection closes when nothing (no pong, no
//     message) came for `idle_timeout`.
//
// Example:
//
//   herald::web::StreamRoutes streams;
//   streams.Sse("/events", [&](const Request& r) {
//     return StreamAnswer::Accept({.on_open = [&](std::shared_ptr<Stream> s) {
//       s->Send(std::make_shared<const std::string>("data: hi\n\n"));
//     }});
//   });
//   auto server = StreamServer::Start(options, std::move(router),
//                                     std::move(streams));
//
// Release every Stream (they hold the server's event loops) before the
// server is destroyed; Stop() first closes them all.
#ifndef HERALD_WEB_STREAM_SERVER_H_
#define HERALD_WEB_STREAM_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "web/http.h"
#include "web/router.h"

namespace herald {
namespace web {

enum class Transport { kSse, kWebSocket };

// "sse" or "websocket" (for metric labels).
const char* TransportName(Transport transport);

// One open SSE response or WebSocket connection. Every method may be called
// from any thread.
class Stream {
 public:
  using Frame = std::shared_ptr<const std::string>;
  virtual ~Stream() = default;

  virtual Transport transport() const = 0;
  // The request that opened the stream.
  virtual const Request& request() const = 0;
  // Queues `frame`: SSE bytes ("id: 7\nevent: x\ndata: {...}\n\n") or one
  // WebSocket text message. False, and nothing queued, when the stream
  // already queues max_queued_frames or is closing.
  virtual bool Send(Frame frame) = 0;
  // Queues `frames` in order, as many as fit (all but those beyond
  // max_queued_frames; none when closing), moving them out (the vector
  // keeps its size: the caller clears it); answers how many. One lock and one
  // wake-up for all: a fan-out that gathered several messages for a stream pays
  // once.
  virtual size_t Send(std::vector<Frame>& frames) = 0;
  // Sends what is queued, then `last` (if any, even over the limit), then
  // closes. Later Send()s answer false. Idempotent.
  virtual void Close(Frame last = nullptr) = 0;
  virtual bool closing() const = 0;
  // This stream's shared owner (streams are always held by shared_ptr).
  virtual std::shared_ptr<Stream> shared() = 0;
};

struct StreamCallbacks {
  // The stream is open (its SSE headers or WebSocket handshake were sent).
  std::function<void(std::shared_ptr<Stream>)> on_open;
  // A WebSocket text message from the client.
  std::function<void(Stream&, std::string)> on_text;
  // The stream ended (either side, a timeout, a write error); once. Not
  // called for streams still open when the server is stopped.
  std::function<void(Stream&)> on_close;
};

// What a stream route answers to the request that would open a stream.
struct StreamAnswer {
  std::optional<Response> refusal;  // set: answered with it, no stream
  StreamCallbacks callbacks;

  static StreamAnswer Refuse(Response response) {
    StreamAnswer answer;
    answer.refusal = std::move(response);
    return answer;
  }
  static StreamAnswer Accept(StreamCallbacks callbacks) {
    StreamAnswer answer;
    answer.callbacks = std::move(callbacks);
    return answer;
  }
};

// Runs on the connection's thread; keep it short.
using StreamHandler = std::function<StreamAnswer(const Request&)>;

// The stream routes (exact paths) of a StreamServer.
class StreamRoutes {
 public:
  // GET `path` answers `text/event-stream` once accepted.
  void Sse(std::string path, StreamHandler handler);
  // GET `path` with a WebSocket upgrade.
  void WebSocket(std::string path, StreamHandler handler);

  struct Route {
    Transport transport;
    StreamHandler handler;
  };
  const std::map<std::string, Route>& routes() const { return routes_; }

 private:
  std::map<std::string, Route> routes_;
};

struct StreamServerOptions {
  std::string address = "0.0.0.0";
  int port = 0;  // 0 picks a free port; see port()
  int threads = 2;
  int max_streams = 10000;
  size_t max_queued_frames = 256;
  // WebSocket: frames queued together go in one text message, separated by
  // '\n' (as Centrifugo's JSON protocol does); each frame must then hold no
  // line break (compact JSON). Off: one message per frame.
  bool websocket_batches = false;
  // At most one flush of queued frames per event loop thread per
  // `write_delay`: frames queued within a delay of the last flush wait for
  // the next (at many messages a second to many clients, each write then
  // carries several and the system calls fall by as much); a frame queued
  // after a quiet spell goes at once. When a flush takes longer than half
  // the delay, the next waits twice as long as it took (up to 4 delays):
  // the busier the loop, the bigger the writes. Zero: every frame at once.
  absl::Duration write_delay = absl::ZeroDuration();
  absl::Duration ping_interval = absl::Seconds(15);
  absl::Duration idle_timeout = absl::Seconds(60);
  size_t max_body_bytes = 64 * 1024;  // plain requests
};

class StreamServer {
 public:
  // Binds and starts serving; Unavailable when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<StreamServer>> Start(
      StreamServerOptions options, Router router, StreamRoutes streams);
  ~StreamServer();

  int port() const;
  // Open streams of `transport`.
  int64_t open_streams(Transport transport) const;
  // Stream requests refused because max_streams were open.
  int64_t refused_at_cap() const;
  // Stops accepting, closes every stream (up to 1 s to flush), stops the
  // threads. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit StreamServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The value of the query parameter `name` in `query` (percent-decoded,
// '+' as a space), or nullopt.
std::optional<std::string> QueryParam(absl::string_view query,
                                      absl::string_view name);

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_STREAM_SERVER_H_
