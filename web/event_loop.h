// File: web/event_loop.h
//
// What web/'s asio servers share (web/server.cc, web/stream_server.cc):
// a listening socket bound with errors that name the address, and event
// loop threads that keep serving when one connection's handler throws.
// Header-only and private to web/ (it exposes asio).
//
// Example:
//
//   absl::Status s = ListenOn(*acceptor_, options_.address, options_.port);
//   if (!s.ok()) return s;  // InvalidArgument or Unavailable, naming both
//   loop.thread = RunLoop(loop.ioc, "http loop");
#ifndef HERALD_WEB_EVENT_LOOP_H_
#define HERALD_WEB_EVENT_LOOP_H_

#include <glog/logging.h>
#include <pthread.h>

#include <boost/asio.hpp>
#include <exception>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace herald {
namespace web {

// Opens `acceptor` on `address`:`port` (0: a free port) and listens.
// InvalidArgument for an address that does not parse, Unavailable when the
// port cannot be bound.
inline absl::Status ListenOn(boost::asio::ip::tcp::acceptor& acceptor,
                             const std::string& address, int port) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address, ec),
                                   static_cast<unsigned short>(port));
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen address '", address, "'"));
  }
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address,
                                               ":", port, ": ", ec.message()));
  }
  return absl::OkStatus();
}

// A thread running `ioc` until it is stopped, named `name` (its first 15
// characters: what `top -H` and perf show). A handler's exception is one
// connection's failure: it is logged as `name` and the loop goes on.
inline std::thread RunLoop(boost::asio::io_context& ioc, std::string name) {
  return std::thread([&ioc, name = std::move(name)] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    // Keeps run() going while the loop has no connection.
    auto busy = boost::asio::make_work_guard(ioc);
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        LOG(ERROR) << name << ": " << e.what();
      }
    }
  });
}

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_EVENT_LOOP_H_
