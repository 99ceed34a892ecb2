// File: web/server.h
//
// An HTTP/1.1 server (Boost.Beast underneath, not in this header): keep-alive,
// pipelining, many connections, a body size limit answered with 413, and
// malformed requests answered with 400 — all as JSON errors, never a crash.
// Handlers run on the server's threads. A handler that waits (e.g. for a
// database commit) should be asynchronous (Router::HandleAsync) so that a
// few threads serve every connection; a blocking one holds a thread while
// it waits, and then `threads` bounds how many requests wait at once.
// Each thread runs its own event loop and keeps the connections it was
// given (round robin, at accept): no locks or hand-overs between threads
// per request. An asynchronous answer is written by its connection's thread.
// Open connections are capped (max_connections): one beyond the cap is
// answered 503 with `Retry-After` and closed, so that memory stays bounded.
//
// Example:
//
//   herald::web::ServerOptions options;
//   options.port = 8080;
//   auto server = herald::web::HttpServer::Start(options, std::move(router));
//   if (!server.ok()) return server.status();  // e.g. port in use
#ifndef HERALD_WEB_SERVER_H_
#define HERALD_WEB_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "web/router.h"

namespace herald {
namespace web {

struct ServerOptions {
  std::string address = "0.0.0.0";
  int port = 8080;  // 0 picks a free port; see HttpServer::port()
  int threads = 8;
  size_t max_body_bytes = 1 << 20;
  // Most connections open at once (0: no limit). One more is answered 503
  // (code "too_many_connections", Retry-After: 1) and closed.
  int max_connections = 0;
  absl::Duration idle_timeout = absl::Seconds(60);
  // How long Stop() waits for requests in progress.
  absl::Duration stop_grace = absl::Seconds(10);
  // Called after every request with (method, path, status, seconds).
  std::function<void(const Request&, int, double)> on_request;
};

class HttpServer {
 public:
  // Binds and starts serving. Fails with Unavailable when the address or
  // port cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      ServerOptions options, Router router);
  ~HttpServer();

  int port() const;
  // Stops accepting, lets requests in progress finish (up to stop_grace),
  // then closes every connection. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_SERVER_H_
