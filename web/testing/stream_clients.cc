#include "web/testing/stream_clients.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace herald {
namespace web {
namespace testing {

absl::StatusOr<std::unique_ptr<SseClient>> SseClient::Connect(
    int port, const std::string& target, const HeaderList& headers,
    int receive_buffer) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::UnavailableError("socket");
  if (receive_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer,
               sizeof(receive_buffer));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect to ", port));
  }
  std::unique_ptr<SseClient> client(new SseClient(fd));
  std::string request = absl::StrCat("GET ", target,
                                     " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     "Accept: text/event-stream\r\n");
  for (const auto& [name, value] : headers) {
    absl::StrAppend(&request, name, ": ", value, "\r\n");
  }
  request += "\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return absl::UnavailableError("send");
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  size_t end;
  while ((end = client->buffer_.find("\r\n\r\n")) == std::string::npos) {
    bool timed_out = false;
    if (!client->Fill(deadline, &timed_out)) {
      return timed_out ? absl::DeadlineExceededError("no answer head")
                       : absl::UnavailableError("closed before a head");
    }
  }
  client->head_ = client->buffer_.substr(0, end);
  client->buffer_.erase(0, end + 4);
  std::vector<std::string> status_line =
      absl::StrSplit(client->head_.substr(0, client->head_.find("\r\n")), ' ');
  if (status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &client->status_)) {
    return absl::InternalError(absl::StrCat("bad head: ", client->head_));
  }
  return client;
}

SseClient::~SseClient() { close(fd_); }

bool SseClient::Fill(absl::Time deadline, bool* timed_out) {
  if (eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  const int64_t ms =
      std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
  int ready = poll(&p, 1, static_cast<int>(ms));
  if (ready <= 0) {
    *timed_out = true;
    return false;
  }
  char chunk[16384];
  ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

std::string SseClient::ReadBody(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  while (Fill(deadline, &timed_out)) {
  }
  return buffer_;
}

absl::StatusOr<SseClient::Event> SseClient::Next(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    size_t end;
    while ((end = buffer_.find("\n\n")) != std::string::npos) {
      std::string block = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      Event event;
      event.event = "message";
      bool any = false;
      for (absl::string_view line : absl::StrSplit(block, '\n')) {
        if (line.empty()) continue;
        if (line[0] == ':') {
          ++comments_;
          continue;
        }
        size_t colon = line.find(':');
        absl::string_view field = line.substr(0, colon);
        absl::string_view value =
            colon == absl::string_view::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
        if (field == "id") {
          event.id = std::string(value);
          any = true;
        } else if (field == "event") {
          event.event = std::string(value);
          any = true;
        } else if (field == "data") {
          if (!event.data.empty()) event.data += "\n";
          event.data += std::string(value);
          any = true;
        }
      }
      if (any) return event;
    }
    bool timed_out = false;
    if (!Fill(deadline, &timed_out)) {
      return timed_out ? absl::DeadlineExceededError("no event in time")
                       : absl::UnavailableError("stream closed");
    }
  }
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

class WebSocketClient::Impl {
 public:
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  bool reading = false;
  bool read_done = false;
  beast::error_code read_error;
  bool closed = false;
  int messages = 0;
  std::deque<std::string> lines;  // of messages read, not yet returned
};

WebSocketClient::WebSocketClient(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

WebSocketClient::~WebSocketClient() { Close(); }

absl::StatusOr<std::unique_ptr<WebSocketClient>> WebSocketClient::Connect(
    int port, const std::string& target, const std::string& host) {
  auto impl = std::make_unique<Impl>();
  beast::error_code ec;
  beast::get_lowest_layer(impl->ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(impl->ws).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address(host),
                              static_cast<unsigned short>(port)),
      ec);
  if (ec) return absl::UnavailableError(ec.message());
  websocket::response_type answer;
  impl->ws.handshake(answer, absl::StrCat(host, ":", port), target, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("handshake: ", ec.message(), " status ",
                     answer.result_int(), " ", answer.body()));
  }
  beast::get_lowest_layer(impl->ws).expires_never();
  impl->ws.text(true);
  return std::unique_ptr<WebSocketClient>(new WebSocketClient(std::move(impl)));
}

absl::Status WebSocketClient::Send(const std::string& text) {
  beast::error_code ec;
  impl_->ws.write(asio::buffer(text), ec);
  if (ec) return absl::UnavailableError(ec.message());
  return absl::OkStatus();
}

absl::StatusOr<std::string> WebSocketClient::Read(absl::Duration timeout) {
  if (impl_->closed) return absl::UnavailableError("closed");
  if (!impl_->reading) {
    impl_->reading = true;
    impl_->read_done = false;
    impl_->ws.async_read(impl_->buffer, [this](beast::error_code ec, size_t) {
      impl_->read_done = true;
      impl_->read_error = ec;
    });
  }
  impl_->ioc.restart();
  const absl::Time deadline = absl::Now() + timeout;
  while (!impl_->read_done && absl::Now() < deadline) {
    impl_->ioc.run_for(std::chrono::milliseconds(std::max<int64_t>(
        1, absl::ToInt64Milliseconds(deadline - absl::Now()))));
    impl_->ioc.restart();
  }
  if (!impl_->read_done) return absl::DeadlineExceededError("no message");
  impl_->reading = false;
  if (impl_->read_error) {
    impl_->closed = true;
    return absl::UnavailableError(impl_->read_error.message());
  }
  std::string text = beast::buffers_to_string(impl_->buffer.data());
  impl_->buffer.consume(impl_->buffer.size());
  ++impl_->messages;
  return text;
}

absl::StatusOr<std::string> WebSocketClient::ReadLine(absl::Duration timeout) {
  if (impl_->lines.empty()) {
    absl::StatusOr<std::string> message = Read(timeout);
    if (!message.ok()) return message.status();
    for (absl::string_view line : absl::StrSplit(*message, '\n')) {
      impl_->lines.emplace_back(line);
    }
  }
  std::string line = std::move(impl_->lines.front());
  impl_->lines.pop_front();
  return line;
}

int WebSocketClient::messages() const { return impl_->messages; }

void WebSocketClient::Close() {
  if (impl_ == nullptr || impl_->closed) return;
  impl_->closed = true;
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
}

}  // namespace testing
}  // namespace web
}  // namespace herald
