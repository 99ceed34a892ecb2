// File: web/accept_backoff.h
//
// What an asio accept loop does after a failed accept. A connection the
// process could not take (out of file descriptors: EMFILE, ENFILE) stays in
// the listen queue, so accepting again at once fails again at once and
// spins a core while flooding the log. AcceptBackoff waits before the next
// try, 5 ms doubling up to 1 s, and starts over after a success (as Go's
// net/http server does). Header-only: for accept loops that already use
// asio (web/server.cc, the development broker).
//
// Example:
//
//   acceptor.async_accept([this](error_code ec, tcp::socket socket) {
//     if (ec) {
//       if (!acceptor.is_open()) return;
//       return backoff_.Failed(ec, [this] { Accept(); });
//     }
//     backoff_.Succeeded();
//     ... use socket ...
//     Accept();
//   });
#ifndef HERALD_WEB_ACCEPT_BACKOFF_H_
#define HERALD_WEB_ACCEPT_BACKOFF_H_

#include <glog/logging.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <utility>

#include "absl/time/time.h"
#include "base/backoff.h"

namespace herald {
namespace web {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{5};
  static constexpr std::chrono::milliseconds kMax{1000};

  explicit AcceptBackoff(boost::asio::any_io_executor executor)
      : timer_(std::move(executor)) {}

  // The last accept worked: the next failure waits kFirst again.
  void Succeeded() { failures_ = 0; }

  // Logs `error` (at most once a second) and runs `retry` on the timer's
  // executor after the current delay, unless Cancel() comes first.
  template <typename Retry>
  void Failed(const boost::system::error_code& error, Retry retry) {
    delay_ = absl::ToChronoMilliseconds(ExponentialBackoff(
        absl::FromChrono(kFirst), absl::FromChrono(kMax), 0, ++failures_));
    LOG_EVERY_T(WARNING, 1) << "accept failed: " << error.message()
                            << "; trying again in " << delay_.count() << " ms";
    timer_.expires_after(delay_);
    timer_.async_wait(
        [retry = std::move(retry)](const boost::system::error_code& ec) {
          if (!ec) retry();
        });
  }

  // Drops a pending retry. Call on the timer's executor (or once it no
  // longer runs).
  void Cancel() { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
  int failures_ = 0;  // in a row
  std::chrono::milliseconds delay_{0};
};

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_ACCEPT_BACKOFF_H_
