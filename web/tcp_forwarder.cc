#include "web/tcp_forwarder.h"

#include <array>
#include <boost/asio.hpp>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "web/accept_backoff.h"

namespace herald {
namespace web {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Copies bytes one way until either side closes, then closes both.
class Pipe : public std::enable_shared_from_this<Pipe> {
 public:
  Pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to)
      : from_(std::move(from)), to_(std::move(to)) {}

  void Start() { Read(); }

 private:
  void Read() {
    from_->async_read_some(
        asio::buffer(buffer_),
        [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (ec) return self->Close();
          asio::async_write(*self->to_, asio::buffer(self->buffer_, n),
                            [self](boost::system::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Read();
                            });
        });
  }

  void Close() {
    boost::system::error_code ignored;
    from_->close(ignored);
    to_->close(ignored);
  }

  std::shared_ptr<tcp::socket> from_, to_;
  std::array<char, 64 * 1024> buffer_;
};

absl::StatusOr<tcp::endpoint> Endpoint(absl::string_view host, int port) {
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(std::string(host), ec);
  if (ec || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IP address and port: ", host, ":", port));
  }
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

}  // namespace

class TcpForwarder::Impl {
 public:
  Impl(std::string host, tcp::endpoint target)
      : host_(std::move(host)), target_(target), acceptor_(ioc_) {}

  ~Impl() {
    asio::post(ioc_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      accept_backoff_.Cancel();
    });
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Listen(const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("port ", endpoint.port(), " on ", host_, " is in use (",
                       ec.message(), ")"));
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
    return absl::OkStatus();
  }

  int port() const { return port_; }
  std::string address() const { return absl::StrCat(host_, ":", port_); }

 private:
  void Accept() {
    acceptor_.async_accept(
        [this](boost::system::error_code ec, tcp::socket socket) {
          if (ec) {
            if (!acceptor_.is_open()) return;
            // E.g. out of file descriptors: the connection stays queued.
            return accept_backoff_.Failed(ec, [this] { Accept(); });
          }
          accept_backoff_.Succeeded();
          auto client = std::make_shared<tcp::socket>(std::move(socket));
          auto upstream = std::make_shared<tcp::socket>(ioc_);
          upstream->async_connect(
              target_, [client, upstream](boost::system::error_code ec) {
                if (ec) {
                  boost::system::error_code ignored;
                  client->close(ignored);
                  return;
                }
                std::make_shared<Pipe>(client, upstream)->Start();
                std::make_shared<Pipe>(upstream, client)->Start();
              });
          Accept();
        });
  }

  std::string host_;
  tcp::endpoint target_;
  int port_ = 0;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  AcceptBackoff accept_backoff_{ioc_.get_executor()};
  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<TcpForwarder>> TcpForwarder::Start(
    absl::string_view host, int port, absl::string_view target) {
  absl::StatusOr<tcp::endpoint> listen = Endpoint(host, port);
  if (!listen.ok()) return listen.status();
  std::pair<std::string, std::string> target_host_port =
      absl::StrSplit(target, absl::MaxSplits(':', 1));
  int target_port = -1;
  if (!absl::SimpleAtoi(target_host_port.second, &target_port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("forwarding target is not host:port: ", target));
  }
  absl::StatusOr<tcp::endpoint> to =
      Endpoint(target_host_port.first, target_port);
  if (!to.ok()) return to.status();
  auto impl = std::make_unique<Impl>(std::string(host), *to);
  absl::Status s = impl->Listen(*listen);
  if (!s.ok()) return s;
  return std::unique_ptr<TcpForwarder>(new TcpForwarder(std::move(impl)));
}

TcpForwarder::TcpForwarder(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
TcpForwarder::~TcpForwarder() = default;
int TcpForwarder::port() const { return impl_->port(); }
std::string TcpForwarder::address() const { return impl_->address(); }

bool IsListening(absl::string_view host, int port) {
  absl::StatusOr<tcp::endpoint> endpoint = Endpoint(host, port);
  if (!endpoint.ok()) return false;
  asio::io_context ioc;
  tcp::socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(*endpoint, ec);
  return !ec;
}

}  // namespace web
}  // namespace herald
