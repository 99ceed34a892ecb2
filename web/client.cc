#include "web/client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace herald {
namespace web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::optional<absl::string_view> ClientResponse::Header(
    absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return absl::string_view(value);
  }
  return std::nullopt;
}

class HttpClient::Impl {
 public:
  Impl(std::string host, int port, absl::Duration timeout)
      : host_(std::move(host)), port_(port), timeout_(timeout) {}

  absl::Status Connect() {
    if (stream_ && stream_->socket().is_open()) return absl::OkStatus();
    stream_.emplace(ioc_);
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (!ec) {
      // Within the timeout too: a host that drops the SYN would otherwise
      // hold the caller for the kernel's minutes of retries.
      ec = Run([&](auto handler) {
        stream_->async_connect(endpoints, [handler = std::move(handler)](
                                              beast::error_code connected,
                                              const tcp::endpoint&) mutable {
          handler(connected, 0);
        });
      });
    }
    if (ec) {
      stream_.reset();
      if (ec == beast::error::timeout) return Failed("connecting", ec);
      return absl::UnavailableError(absl::StrCat(
          "cannot connect to ", host_, ":", port_, ": ", ec.message()));
    }
    return absl::OkStatus();
  }

  // Runs one asynchronous operation on the connection to its end, within
  // the timeout (Beast's tcp_stream cancels it then: error::timeout).
  // `start(handler)` starts it.
  template <typename Start>
  beast::error_code Run(Start start) {
    if (timeout_ == absl::InfiniteDuration()) {
      stream_->expires_never();
    } else {
      stream_->expires_after(
          std::chrono::microseconds(absl::ToInt64Microseconds(timeout_)));
    }
    beast::error_code result;
    start([&result](beast::error_code ec, size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  // An operation that ran out of the timeout, or another failure.
  absl::Status Failed(absl::string_view doing, const beast::error_code& ec) {
    if (ec == beast::error::timeout) {
      return absl::DeadlineExceededError(
          absl::StrCat(doing, ": no answer from ", host_, ":", port_,
                       " within ", absl::FormatDuration(timeout_)));
    }
    return absl::UnavailableError(absl::StrCat(doing, ": ", ec.message()));
  }

  absl::StatusOr<ClientResponse> Read() {
    beast::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    ec = Run([&](auto handler) {
      http::async_read(*stream_, buffer_, parser, std::move(handler));
    });
    if (ec) {
      stream_.reset();
      return Failed("reading the response", ec);
    }
    http::response<http::string_body> res = parser.release();
    ClientResponse out;
    out.status = res.result_int();
    for (const auto& field : res) {
      out.headers.emplace_back(std::string(field.name_string()),
                               std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream_.reset();
    return out;
  }

  absl::StatusOr<ClientResponse> Send(const std::string& method,
                                      const std::string& target,
                                      const std::string& body,
                                      const HeaderList& headers) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      absl::Status connected = Connect();
      if (!connected.ok()) return connected;
      http::request<http::string_body> req(http::string_to_verb(method), target,
                                           11);
      // A method Beast does not know (e.g. an invented one) is sent as is.
      if (req.method() == http::verb::unknown) req.method_string(method);
      req.set(http::field::host, host_);
      if (!body.empty()) req.set(http::field::content_type, "application/json");
      for (const auto& [name, value] : headers) req.set(name, value);
      req.body() = body;
      req.prepare_payload();
      beast::error_code ec;
      ec = Run([&](auto handler) {
        http::async_write(*stream_, req, std::move(handler));
      });
      if (ec) {
        stream_.reset();
        if (ec == beast::error::timeout) {
          return Failed("sending the request", ec);
        }
        continue;  // a stale keep-alive connection: reconnect once
      }
      return Read();
    }
    return absl::UnavailableError("cannot send the request");
  }

  absl::StatusOr<ClientResponse> SendRaw(const std::string& bytes) {
    absl::Status connected = Connect();
    if (!connected.ok()) return connected;
    beast::error_code ec;
    ec = Run([&](auto handler) {
      asio::async_write(*stream_, asio::buffer(bytes), std::move(handler));
    });
    if (ec) return Failed("sending", ec);
    return Read();
  }

 private:
  std::string host_;
  int port_;
  absl::Duration timeout_;
  asio::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

HttpClient::HttpClient(std::string host, int port, absl::Duration timeout)
    : impl_(std::make_unique<Impl>(std::move(host), port, timeout)) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<ClientResponse> HttpClient::Send(const std::string& method,
                                                const std::string& target,
                                                const std::string& body,
                                                const HeaderList& headers) {
  return impl_->Send(method, target, body, headers);
}

absl::StatusOr<ClientResponse> HttpClient::SendRaw(const std::string& bytes) {
  return impl_->SendRaw(bytes);
}

}  // namespace web
}  // namespace herald
