// File: web/testing/minimal_broadcaster.h
//
// The baseline of tools/bench/realtime_bench: the least a Beast server can
// do to push messages from memory to SSE and WebSocket clients. No
// channels, no positions, no resume, no buffers' bounds, no auth: every
// connection gets every message. It lives in web/ because Beast is web/'s.
//
//   GET <any path>                      text/event-stream
//   GET <any path> (WebSocket upgrade)  one text frame per message
//
// Example:
//
//   auto server = MinimalBroadcaster::Start(/*threads=*/2);
//   // ... clients connect to (*server)->port() ...
//   (*server)->Broadcast("tick", R"({"n":1})");
#ifndef HERALD_WEB_TESTING_MINIMAL_BROADCASTER_H_
#define HERALD_WEB_TESTING_MINIMAL_BROADCASTER_H_

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace web {
namespace testing {

class MinimalBroadcaster {
 public:
  // Listens on 127.0.0.1, any free port, served by `threads` threads.
  static absl::StatusOr<std::unique_ptr<MinimalBroadcaster>> Start(int threads);
  ~MinimalBroadcaster();

  int port() const;
  // Streams open (their answer's head written).
  size_t connections() const;
  // Sends `event` with `data` (one JSON value) to every open stream: SSE
  // `event:`/`data:` lines, or a WebSocket text frame
  // {"event":...,"data":...}. Each encoding is made once and shared.
  void Broadcast(absl::string_view event, absl::string_view data);
  // Closes every stream and stops.
  void Stop();

  class Impl;

 private:
  explicit MinimalBroadcaster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace testing
}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_TESTING_MINIMAL_BROADCASTER_H_
