#include "workers/testing/smtp_sink.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace workers {

SmtpSink::SmtpSink(SinkBehavior behavior) : behavior_(std::move(behavior)) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen(fd_, 64);
  thread_ = std::thread([this] { Serve(); });
}

SmtpSink::~SmtpSink() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    for (int c : sessions_) shutdown(c, SHUT_RDWR);
  }
  shutdown(fd_, SHUT_RDWR);
  close(fd_);
  thread_.join();
}

std::vector<std::string> SmtpSink::messages() {
  absl::MutexLock lock(&mu_);
  return messages_;
}

int SmtpSink::message_count() {
  absl::MutexLock lock(&mu_);
  return message_count_;
}

int SmtpSink::connections() {
  absl::MutexLock lock(&mu_);
  return connections_;
}

void SmtpSink::Serve() {
  while (true) {
    int c = accept(fd_, nullptr, nullptr);
    if (c < 0) break;
    absl::MutexLock lock(&mu_);
    if (closing_) {
      close(c);
      break;
    }
    sessions_.insert(c);
    ++connections_;
    session_threads_.emplace_back([this, c] {
      Session(c);
      absl::MutexLock lock(&mu_);
      sessions_.erase(c);
      close(c);
    });
  }
  for (std::thread& t : session_threads_) t.join();
}

void SmtpSink::Session(int c) {
  auto say = [c](const std::string& line) {
    std::string out = line + "\r\n";
    (void)!write(c, out.data(), out.size());
  };
  if (behavior_.silent) {
    char ignored[256];
    while (read(c, ignored, sizeof(ignored)) > 0) {
    }
    return;  // the client gave up
  }
  say(behavior_.greeting);
  if (behavior_.greeting[0] != '2') return;
  std::string buffer, data;
  bool in_data = false;
  char chunk[4096];
  while (true) {
    ssize_t n = read(c, chunk, sizeof(chunk));
    if (n <= 0) return;
    buffer.append(chunk, n);
    size_t start = 0, eol;
    while ((eol = buffer.find("\r\n", start)) != std::string::npos) {
      absl::string_view line(buffer.data() + start, eol - start);
      start = eol + 2;
      if (in_data) {
        if (line == ".") {
          in_data = false;
          {
            absl::MutexLock lock(&mu_);
            ++message_count_;
            if (!behavior_.count_only) messages_.push_back(data);
          }
          data.clear();
          say("250 queued");
        } else if (!behavior_.count_only) {
          data.append(line.data(), line.size());
          data += "\r\n";
        }
      } else if (absl::StartsWith(line, "DATA")) {
        in_data = true;
        say("354 go ahead");
      } else if (absl::StartsWith(line, "QUIT")) {
        say("221 bye");
        return;
      } else if (absl::StartsWith(line, "MAIL FROM") &&
                 behavior_.reset_on_mail) {
        linger reset{1, 0};  // close() sends RST
        setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        return;
      } else if (absl::StartsWith(line, "RCPT TO")) {
        say(behavior_.rcpt_reply);
      } else {
        say("250 ok");
      }
    }
    buffer.erase(0, start);
  }
}

}  // namespace workers
}  // namespace herald
