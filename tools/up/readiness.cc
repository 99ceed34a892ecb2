#include "tools/up/readiness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/time/time.h"
#include "web/client.h"

namespace herald {
namespace up {
namespace {

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected =
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

}  // namespace

bool IsReady(const ReadyCheck& check) {
  if (check.path.empty()) return Accepts(check.port);
  // A process that accepts and never answers (stopped, wedged) is not
  // ready, and must not hold up the poller.
  web::HttpClient client("127.0.0.1", check.port, absl::Seconds(2));
  absl::StatusOr<web::ClientResponse> answer = client.Send("GET", check.path);
  return answer.ok() && answer->status == 200;
}

ReadinessPoller::ReadinessPoller(
    std::vector<std::pair<std::string, ReadyCheck>> checks)
    : waiting_(std::move(checks)), thread_([this] { Poll(); }) {}

ReadinessPoller::~ReadinessPoller() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

std::vector<std::string> ReadinessPoller::NotReady() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, check] : waiting_) names.push_back(name);
  return names;
}

void ReadinessPoller::Poll() {
  absl::MutexLock lock(&mu_);
  while (!stop_ && !waiting_.empty()) {
    const std::vector<std::pair<std::string, ReadyCheck>> round = waiting_;
    std::vector<std::string> ready;
    mu_.Unlock();
    for (const auto& [name, check] : round) {
      if (IsReady(check)) ready.push_back(name);
    }
    mu_.Lock();
    for (const std::string& name : ready) {
      for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
        if (it->first == name) {
          waiting_.erase(it);
          break;
        }
      }
    }
    // Wakes early to stop.
    mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Milliseconds(100));
  }
}

}  // namespace up
}  // namespace herald
