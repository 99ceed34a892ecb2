// File: tools/up/readiness.h
//
// Polls the ready checks of some processes on a thread of its own (an HTTP
// answer may take a while; the supervisor's loop must not wait for it):
// each check every 100 ms until it passes once.
//
// Example:
//
//   ReadinessPoller poller({{"gateway", {9090, "/readyz"}},
//                           {"broker", {9092, ""}}});
//   while (!poller.NotReady().empty()) ...;   // names still waited for
#ifndef HERALD_TOOLS_UP_READINESS_H_
#define HERALD_TOOLS_UP_READINESS_H_

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tools/up/stack.h"

namespace herald {
namespace up {

// Whether the check passes now: a GET answered 200, or a TCP connection
// accepted, on 127.0.0.1.
bool IsReady(const ReadyCheck& check);

class ReadinessPoller {
 public:
  explicit ReadinessPoller(
      std::vector<std::pair<std::string, ReadyCheck>> checks);
  ~ReadinessPoller();  // stops polling

  // The names whose check has not passed yet.
  std::vector<std::string> NotReady() const;

 private:
  void Poll();

  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, ReadyCheck>> waiting_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace up
}  // namespace herald

#endif  // HERALD_TOOLS_UP_READINESS_H_
