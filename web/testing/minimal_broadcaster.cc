#include "web/testing/minimal_broadcaster.h"

#include <pthread.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace herald {
namespace web {
namespace testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Message = std::shared_ptr<const std::string>;

// One client: its request read, then a queue of shared messages written one
// after the other on its strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}

  template <typename OnOpen>
  void Start(OnOpen on_open) {
    http::async_read(
        stream_, buffer_, request_,
        [self = shared_from_this(), on_open](beast::error_code ec, size_t) {
          if (ec) return;
          if (websocket::is_upgrade(self->request_)) {
            self->ws_.emplace(std::move(self->stream_));
            self->ws_->text(true);
            self->ws_->async_accept(self->request_,
                                    [self, on_open](beast::error_code ec) {
                                      if (!ec) on_open(self);
                                    });
            return;
          }
          static const std::string kHead =
              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              "Cache-Control: no-cache\r\n\r\n";
          asio::async_write(self->stream_, asio::buffer(kHead),
                            [self, on_open](beast::error_code ec, size_t) {
                              if (!ec) on_open(self);
                            });
        });
  }

  void Send(const Message& sse, const Message& ws) {
    asio::post(executor(), [self = shared_from_this(), sse, ws] {
      if (self->closed_) return;
      self->queue_.push_back(self->ws_.has_value() ? ws : sse);
      if (self->queue_.size() == 1) self->WriteNext();
    });
  }

  void Close() {
    asio::post(executor(), [self = shared_from_this()] {
      self->closed_ = true;
      beast::error_code ignored;
      self->socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->socket().close(ignored);
    });
  }

  bool closed() const { return closed_; }

 private:
  asio::any_io_executor executor() {
    return ws_.has_value() ? ws_->get_executor() : stream_.get_executor();
  }
  tcp::socket& socket() {
    return ws_.has_value() ? beast::get_lowest_layer(*ws_).socket()
                           : stream_.socket();
  }

  void WriteNext() {
    auto done = [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->closed_ = true;
        self->queue_.clear();
        return;
      }
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->WriteNext();
    };
    const Message& next = queue_.front();
    if (ws_.has_value()) {
      ws_->async_write(asio::buffer(*next), std::move(done));
    } else {
      asio::async_write(stream_, asio::buffer(*next), std::move(done));
    }
  }

  beast::tcp_stream stream_;
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::deque<Message> queue_;
  bool closed_ = false;  // on the strand
};

}  // namespace

class MinimalBroadcaster::Impl {
 public:
  explicit Impl(int threads) : threads_(threads), acceptor_(io_) {}

  absl::Status Start() {
    beast::error_code ec;
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError(ec.message());
    Accept();
    for (int i = 0; i < threads_; ++i) {
      workers_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "broadcaster");
        io_.run();
      });
    }
    return absl::OkStatus();
  }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
      for (auto& session : sessions_) session->Close();
      sessions_.clear();
    }
    asio::post(io_, [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    guard_.reset();
    io_.stop();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  int port() const { return acceptor_.local_endpoint().port(); }

  size_t connections() {
    absl::MutexLock lock(&mu_);
    return sessions_.size();
  }

  void Broadcast(absl::string_view event, absl::string_view data) {
    auto sse = std::make_shared<const std::string>(
        absl::StrCat("event: ", event, "\ndata: ", data, "\n\n"));
    auto ws = std::make_shared<const std::string>(
        absl::StrCat(R"({"event":")", event, R"(","data":)", data, "}"));
    absl::MutexLock lock(&mu_);
    size_t open = 0;
    for (auto& session : sessions_) {
      if (session->closed()) continue;  // racy read: dropped next round
      session->Send(sse, ws);
      sessions_[open++] = session;
    }
    sessions_.resize(open);
  }

 private:
  void Accept() {
    acceptor_.async_accept(
        asio::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
          if (ec) {
            if (ec == asio::error::operation_aborted) return;
          } else {
            s.set_option(tcp::no_delay(true));
            std::make_shared<Session>(std::move(s))
                ->Start([this](std::shared_ptr<Session> session) {
                  absl::MutexLock lock(&mu_);
                  if (!stopped_) sessions_.push_back(std::move(session));
                });
          }
          Accept();
        });
  }

  const int threads_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{
      io_.get_executor()};
  tcp::acceptor acceptor_;
  std::vector<std::thread> workers_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<MinimalBroadcaster>> MinimalBroadcaster::Start(
    int threads) {
  auto impl = std::make_unique<Impl>(threads);
  absl::Status s = impl->Start();
  if (!s.ok()) return s;
  return std::unique_ptr<MinimalBroadcaster>(
      new MinimalBroadcaster(std::move(impl)));
}

MinimalBroadcaster::MinimalBroadcaster(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
MinimalBroadcaster::~MinimalBroadcaster() { impl_->Stop(); }
int MinimalBroadcaster::port() const { return impl_->port(); }
size_t MinimalBroadcaster::connections() const { return impl_->connections(); }
void MinimalBroadcaster::Broadcast(absl::string_view event,
                                   absl::string_view data) {
  impl_->Broadcast(event, data);
}
void MinimalBroadcaster::Stop() { impl_->Stop(); }

}  // namespace testing
}  // namespace web
}  // namespace herald
