#include "web/server.h"

#include <glog/logging.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "web/accept_backoff.h"
#include "web/event_loop.h"

namespace herald {
namespace web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace web_internal {

// One server thread and its event loop. Each server thread runs its own
// io_context, and a connection stays on the thread that accepted it: no
// strands, and no hand-over of ready events between threads (with one
// shared io_context, idle threads are woken to share every batch of
// events, a futex round trip each time).
struct Worker {
  asio::io_context ioc{1};  // concurrency hint: run by one thread
  std::thread thread;
  absl::Mutex completions_mu;
  std::vector<std::function<void()>> completions
      ABSL_GUARDED_BY(completions_mu);
};

// The server: its threads, the acceptor, and how a request is served.
// (HttpServer::Impl, below, is this class; connections hold it by this
// name.)
class ServerCore {
 public:
  ServerCore(ServerOptions options, Router router)
      : options_(std::move(options)), router_(std::move(router)) {
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      workers_.push_back(std::make_unique<Worker>());
      // Creates the loop's reactor (epoll and eventfd descriptors) now:
      // made lazily for its first connection, it could meet a process out
      // of descriptors, and asio throws then.
      tcp::socket warm_up(workers_.back()->ioc);
    }
    acceptor_.emplace(workers_[0]->ioc);
    accept_backoff_.emplace(workers_[0]->ioc.get_executor());
  }

  ~ServerCore() { Stop(); }

  absl::Status Listen() {
    absl::Status listening =
        ListenOn(*acceptor_, options_.address, options_.port);
    if (!listening.ok()) return listening;
    port_ = acceptor_->local_endpoint().port();
    Accept();
    for (auto& worker : workers_) {
      worker->thread = RunLoop(worker->ioc, "http loop");
    }
    return absl::OkStatus();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    asio::post(workers_[0]->ioc, [this] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      accept_backoff_->Cancel();
    });
    absl::Time deadline = absl::Now() + options_.stop_grace;
    while (in_flight_.load() > 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    for (auto& worker : workers_) worker->ioc.stop();
    for (auto& worker : workers_) {
      if (worker->thread.joinable()) worker->thread.join();
    }
  }

  int port() const { return port_; }
  const ServerOptions& options() const { return options_; }
  // Counts an open connection; false (and nothing counted) when
  // max_connections are open already.
  bool OpenConnection() {
    const int max = options_.max_connections;
    if (max <= 0) return true;
    if (open_connections_.fetch_add(1) < max) return true;
    open_connections_.fetch_sub(1);
    return false;
  }
  void ConnectionClosed() {
    if (options_.max_connections > 0) open_connections_.fetch_sub(1);
  }
  // An answer from Serve was written out (or its connection failed): Stop()
  // waits for these, so that it does not cut an answer mid-write.
  void Written() { in_flight_.fetch_sub(1); }
  bool stopping() const { return stopped_.load(); }

  // Runs `write` on `worker`'s thread. Answers that arrive together (e.g. a
  // group commit's worth, from the database's thread) share one hand-over:
  // one wake-up of a server thread per batch, not one per answer.
  void Complete(Worker* worker, std::function<void()> write) {
    {
      absl::MutexLock lock(&worker->completions_mu);
      worker->completions.push_back(std::move(write));
      if (worker->completions.size() > 1) return;  // a drain is already posted
    }
    asio::post(worker->ioc, [worker] {
      std::vector<std::function<void()>> ready;
      {
        absl::MutexLock lock(&worker->completions_mu);
        ready.swap(worker->completions);
      }
      for (auto& write : ready) write();
    });
  }

  // Dispatches `request`, read by a connection of `worker`; `write` gets the
  // answer once, on that worker's thread, whatever thread the handler
  // answers from. `request` must stay valid until then.
  void Serve(Request& request, Worker* worker,
             std::function<void(Response)> write) {
    in_flight_.fetch_add(1);
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [this, &request, worker, start = absl::Now(), answered,
                         write = std::move(write)](Response response) mutable {
      if (answered->exchange(true)) {
        LOG(DFATAL) << request.method << " " << request.path
                    << " answered twice";
        return;
      }
      // Runs once (answered is set): takes `write` and the answer along.
      auto finish = [this, &request, start, write = std::move(write),
                     answer = std::move(response)]() mutable {
        if (options_.on_request) {
          options_.on_request(request, answer.status,
                              absl::ToDoubleSeconds(absl::Now() - start));
        }
        write(std::move(answer));  // calls Written() once on the wire
      };
      // An answer from another thread (e.g. the database's) is handed to the
      // connection's thread, which writes it.
      if (worker->ioc.get_executor().running_in_this_thread()) {
        return finish();
      }
      Complete(worker, std::move(finish));
    };
    try {
      router_.Dispatch(request, respond);
    } catch (const std::exception& e) {
      LOG(ERROR) << request.method << " " << request.path
                 << " handler threw: " << e.what();
      if (!answered->load()) {
        respond(Response::JsonError(500, "internal", "internal error"));
      }
    } catch (...) {
      LOG(ERROR) << request.method << " " << request.path << " handler threw";
      if (!answered->load()) {
        respond(Response::JsonError(500, "internal", "internal error"));
      }
    }
  }

 private:
  void Accept();

  ServerOptions options_;
  Router router_;
  // Before workers_: sessions destroyed with their loops still count down.
  std::atomic<int> open_connections_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t next_worker_ = 0;  // round robin; used by the accepting thread
  std::optional<tcp::acceptor> acceptor_;
  std::optional<AcceptBackoff> accept_backoff_;  // on workers_[0]'s thread
  std::atomic<bool> stopped_{false};
  std::atomic<int> in_flight_{0};
  int port_ = 0;
};

}  // namespace web_internal

class HttpServer::Impl : public web_internal::ServerCore {
 public:
  using ServerCore::ServerCore;
};

namespace {

using web_internal::ServerCore;
using web_internal::Worker;

// One connection: read a request, answer it, repeat while kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  // `counted`: the connection was counted by ServerCore::OpenConnection.
  Session(tcp::socket socket, ServerCore* server, Worker* worker, bool counted)
      : stream_(std::move(socket)),
        server_(server),
        worker_(worker),
        counted_(counted) {}
  ~Session() {
    if (counted_) server_->ConnectionClosed();
  }

  void Start() { Read(); }

  // Answers a connection beyond max_connections without reading from it.
  void Refuse() {
    Response refused = Response::JsonError(
        503, "too_many_connections",
        "the server has too many open connections; retry later");
    refused.headers.emplace_back("Retry-After", "1");
    Write(std::move(refused), false, 11, false, /*served=*/false);
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options().max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(std::chrono::milliseconds(
        absl::ToInt64Milliseconds(server_->options().idle_timeout)));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return WriteError(
          413, "payload_too_large",
          absl::StrCat("request body exceeds ",
                       server_->options().max_body_bytes, " bytes"));
    }
    if (ec == http::error::header_limit) {
      return WriteError(431, "headers_too_large", "request headers too large");
    }
    if (ec) {
      return WriteError(400, "bad_request",
                        absl::StrCat("malformed HTTP request: ", ec.message()));
    }
    http::request<http::string_body> raw = parser_->release();
    request_ = Request();
    request_.method = std::string(raw.method_string());
    absl::string_view target(raw.target().data(), raw.target().size());
    size_t q = target.find('?');
    request_.path = std::string(target.substr(0, q));
    if (q != absl::string_view::npos) {
      request_.query = std::string(target.substr(q + 1));
    }
    for (const auto& field : raw) {
      request_.headers.emplace_back(std::string(field.name_string()),
                                    std::string(field.value()));
    }
    request_.body = std::move(raw.body());
    keep_alive_ = raw.keep_alive();
    version_ = raw.version();
    // The next request is read only after this answer is written, so
    // request_ stays put meanwhile. Serve calls back on this connection's
    // thread.
    server_->Serve(
        request_, worker_, [self = shared_from_this()](Response response) {
          self->Write(std::move(response),
                      self->keep_alive_ && !self->server_->stopping(),
                      self->version_, self->request_.method == "HEAD",
                      /*served=*/true);
        });
  }

  void WriteError(int status, absl::string_view code,
                  absl::string_view message) {
    // The rest of the request was not read: close after answering.
    Write(Response::JsonError(status, code, message), false, 11, false,
          /*served=*/false);
  }

  // `served`: the answer to a request counted by Serve (see Written()).
  void Write(Response response, bool keep_alive, unsigned version, bool head,
             bool served) {
    auto out = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    out->set(http::field::server, "herald");
    out->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) out->set(name, value);
    out->keep_alive(keep_alive);
    out->body() = std::move(response.body);
    out->prepare_payload();
    if (head) out->body().clear();
    http::async_write(stream_, *out,
                      [self = shared_from_this(), out, keep_alive, served](
                          beast::error_code ec, size_t) {
                        if (served) self->server_->Written();
                        if (ec) return self->Close();
                        if (!keep_alive) return self->LingerAndClose();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // After the last answer: stop sending, then read and discard what the
  // client still sends (e.g. the rest of an oversize body) for up to 2 s.
  // Closing with unread input makes the kernel send a reset, which can
  // destroy the answer before the client has read it.
  void LingerAndClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(
        asio::buffer(drain_),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec) return self->Close();  // EOF, timeout or reset: done
          self->Drain();
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::array<char, 4096> drain_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;  // the one being answered
  bool keep_alive_ = false;
  unsigned version_ = 11;
  ServerCore* server_;
  Worker* worker_;  // the thread this connection runs on
  const bool counted_;
};

}  // namespace

namespace web_internal {

void ServerCore::Accept() {
  Worker* worker = workers_[next_worker_++ % workers_.size()].get();
  acceptor_->async_accept(worker->ioc, [this, worker](beast::error_code ec,
                                                      tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) {
        return;
      }
      // E.g. out of file descriptors: the connection stays queued.
      return accept_backoff_->Failed(ec, [this] { Accept(); });
    }
    accept_backoff_->Succeeded();
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (OpenConnection()) {
      std::make_shared<Session>(std::move(socket), this, worker, true)->Start();
    } else {
      std::make_shared<Session>(std::move(socket), this, worker, false)
          ->Refuse();
    }
    Accept();
  });
}

}  // namespace web_internal

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    ServerOptions options, Router router) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(router));
  absl::Status listening = impl->Listen();
  if (!listening.ok()) return listening;
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { impl_->Stop(); }

int HttpServer::port() const { return impl_->port(); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace web
}  // namespace herald
