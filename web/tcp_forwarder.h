// File: web/tcp_forwarder.h
//
// A TCP forwarder: listens at host:port and pipes every connection, both
// ways, to one target address, until either side closes. The development
// broker uses it to give its mock brokers (which listen on ports they pick
// themselves) a fixed bootstrap address. Accept failures (out of file
// descriptors) back off instead of spinning (web/accept_backoff.h).
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::web::TcpForwarder>> forwarder =
//       herald::web::TcpForwarder::Start("127.0.0.1", 9092, "127.0.0.1:41234");
//   if (!forwarder.ok()) return forwarder.status();  // e.g. port in use
//   // Connections to 127.0.0.1:9092 now reach 127.0.0.1:41234.
#ifndef HERALD_WEB_TCP_FORWARDER_H_
#define HERALD_WEB_TCP_FORWARDER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace web {

class TcpForwarder {
 public:
  // Listens at `host`:`port` (0: a free port) and forwards to `target`
  // ("host:port", an IP address). FailedPrecondition when the port is in
  // use, InvalidArgument for an address that does not parse.
  static absl::StatusOr<std::unique_ptr<TcpForwarder>> Start(
      absl::string_view host, int port, absl::string_view target);
  // Stops listening and closes every forwarded connection.
  ~TcpForwarder();

  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  // The port it listens on (the one chosen when started with 0).
  int port() const;
  // "host:port".
  std::string address() const;

 private:
  class Impl;
  explicit TcpForwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when something accepts TCP connections at host:port.
bool IsListening(absl::string_view host, int port);

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_TCP_FORWARDER_H_
