#include "web/stream_server.h"

#include <glog/logging.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <limits>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "web/accept_backoff.h"
#include "web/event_loop.h"

namespace herald {
namespace web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

const char* TransportName(Transport transport) {
  return transport == Transport::kSse ? "sse" : "websocket";
}

void StreamRoutes::Sse(std::string path, StreamHandler handler) {
  routes_[std::move(path)] = Route{Transport::kSse, std::move(handler)};
}

void StreamRoutes::WebSocket(std::string path, StreamHandler handler) {
  routes_[std::move(path)] = Route{Transport::kWebSocket, std::move(handler)};
}

namespace {

std::chrono::milliseconds Chrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() + 0 &&
               HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 +
                                      HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

Request ToRequest(const http::request<http::string_body>& raw) {
  Request request;
  request.method = std::string(raw.method_string());
  absl::string_view target(raw.target().data(), raw.target().size());
  size_t q = target.find('?');
  request.path = std::string(target.substr(0, q));
  if (q != absl::string_view::npos) {
    request.query = std::string(target.substr(q + 1));
  }
  for (const auto& field : raw) {
    request.headers.emplace_back(std::string(field.name_string()),
                                 std::string(field.value()));
  }
  request.body = raw.body();
  return request;
}

}  // namespace

std::optional<std::string> QueryParam(absl::string_view query,
                                      absl::string_view name) {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) != name) continue;
    if (eq == absl::string_view::npos) return std::string();
    return PercentDecode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

namespace stream_internal {

class StreamBase;

// One event loop thread and the streams it serves.
//
// Streams with frames to write are gathered here from Send() on any thread
// and started by one task on the loop: a message fanned out to thousands of
// streams wakes each loop once, not once per stream (a post per stream made
// the fanning thread pay a wake-up per client).
struct Loop {
  explicit Loop(absl::Duration write_delay) : write_delay(write_delay) {}

  asio::io_context ioc{1};
  std::thread thread;

  // Has `stream` write what it queued (StreamBase::WriteNext): at the
  // loop's next flush, which comes at once when the last one is at least
  // the gap ago, else when it is. The gap is the write delay, or twice the
  // time the last flush took when that is longer (up to kMostDelays write
  // delays): an idle system adds no latency; a busy one gathers frames, and
  // the busier, the more, so that writing keeps at most about half of the
  // loop's time and the rest (reading, the fan-out, the clients on a shared
  // machine) is not starved. Without a write delay: every frame at once.
  void Schedule(std::shared_ptr<StreamBase> stream);

  // On the loop's thread: bytes a write assembles before the system call
  // (one buffer, one call, whatever the number of frames).
  std::string scratch;

 private:
  static constexpr int kMostDelays = 4;
  void Flush();
  std::chrono::steady_clock::duration Gap() const;

  const absl::Duration write_delay;
  // On the loop's thread:
  asio::steady_timer delay_timer{ioc};
  std::chrono::steady_clock::time_point last_flush;
  std::chrono::steady_clock::duration last_flush_took{};
  absl::Mutex mu;
  std::vector<std::shared_ptr<StreamBase>> ready ABSL_GUARDED_BY(mu);
  bool flush_posted ABSL_GUARDED_BY(mu) = false;
};

// What sessions need of the server.
class Core {
 public:
  virtual ~Core() = default;
  virtual const StreamServerOptions& options() const = 0;
  virtual void Opened(const std::shared_ptr<StreamBase>& stream) = 0;
  virtual void Ended(StreamBase* stream) = 0;
};

// A Stream's queue and its write loop; SSE and WebSocket supply the writes.
class StreamBase : public Stream,
                   public std::enable_shared_from_this<StreamBase> {
 public:
  StreamBase(Core* core, Loop* loop, Request request, StreamCallbacks callbacks,
             Transport transport)
      : core_(core),
        loop_(loop),
        request_(std::move(request)),
        callbacks_(std::move(callbacks)),
        transport_(transport) {}

  Transport transport() const override { return transport_; }
  const Request& request() const override { return request_; }

  bool Send(Frame frame) override { return Queue(&frame, 1) == 1; }

  size_t Send(std::vector<Frame>& frames) override {
    return Queue(frames.data(), frames.size());
  }

  void Close(Frame last) override {
    {
      absl::MutexLock lock(&mu_);
      if (closing_) return;
      closing_ = true;
      if (last != nullptr) queue_.push_back(std::move(last));
      if (writing_) return;
      writing_ = true;
    }
    loop_->Schedule(shared_from_this());
  }

  bool closing() const override {
    absl::MutexLock lock(&mu_);
    return closing_;
  }

  std::shared_ptr<Stream> shared() override { return shared_from_this(); }

 private:
  // Moves as many of the `count` frames as there is room for into the
  // queue, in order, and has a write scheduled unless one is under way;
  // returns how many it took.
  size_t Queue(Frame* frames, size_t count) {
    size_t queued = 0;
    {
      absl::MutexLock lock(&mu_);
      if (closing_) return 0;
      const size_t room =
          core_->options().max_queued_frames -
          std::min(queue_.size(), core_->options().max_queued_frames);
      queued = std::min(room, count);
      for (size_t i = 0; i < queued; ++i) {
        queue_.push_back(std::move(frames[i]));
      }
      if (queued == 0 || writing_) return queued;
      writing_ = true;
    }
    loop_->Schedule(shared_from_this());
    return queued;
  }

 protected:
  // Writes `frames` (one or more, in order; Write copies what it still
  // needs), then calls Written(ok) on the loop's thread: before it returns
  // when the socket took everything at once, else when the write completes.
  virtual void Write(const std::vector<Frame>& frames) = 0;
  // The most frames one Write() takes (every frame queued, but for
  // WebSocket without batches: one message per frame).
  virtual size_t MaxBatch() const = 0;
  // Everything was sent after Close(): end the connection, then Finish().
  virtual void Shutdown() = 0;

  void Written(bool ok) {
    if (!ok) return Finish();
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty() && !closing_) {
        writing_ = false;  // the next Send() schedules a write
        return;
      }
    }
    // What queued meanwhile goes at the loop's next flush: with a write
    // delay, at most one write per connection per flush.
    loop_->Schedule(shared_from_this());
  }

  // Runs on the loop's thread. Ends the stream once: on_close, unregister.
  void Finish() {
    if (finished_) return;
    finished_ = true;
    {
      absl::MutexLock lock(&mu_);
      closing_ = true;
      queue_.clear();
    }
    CloseSocket();
    if (callbacks_.on_close) callbacks_.on_close(*this);
    core_->Ended(this);
  }

  virtual void CloseSocket() = 0;

  void Opened() {
    core_->Opened(shared_from_this());
    if (callbacks_.on_open) callbacks_.on_open(shared_from_this());
  }

  // Puts `frame` first in line (the SSE headers) and starts writing.
  void QueueFirst(Frame frame) {
    {
      absl::MutexLock lock(&mu_);
      queue_.push_front(std::move(frame));
      if (writing_) return;
      writing_ = true;
    }
    loop_->Schedule(shared_from_this());
  }

  Core* core_;
  Loop* loop_;
  Request request_;
  StreamCallbacks callbacks_;
  bool finished_ = false;  // on the loop's thread

 private:
  friend struct Loop;

  // Takes everything queued (up to MaxBatch() frames, kMaxBatchBytes) into
  // one write: a client that fell behind, or a burst, costs one system call
  // for many frames instead of one each. Everything, not a fixed number of
  // frames: a stream writes once per flush, so a cap in frames would let a
  // stream whose flushes come further apart than cap / rate fall further
  // behind at each until its queue is full (and the client dropped).
  void WriteNext() {
    if (finished_) return;
    batch_.clear();
    bool shut = false;
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) {
        writing_ = false;
        shut = closing_;
        if (shut) writing_ = true;  // no more writes
      } else {
        size_t bytes = 0;
        const size_t most = MaxBatch();
        while (!queue_.empty() && batch_.size() < most &&
               bytes < kMaxBatchBytes) {
          bytes += queue_.front()->size();
          batch_.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
    }
    if (!batch_.empty()) {
      Write(batch_);
      batch_.clear();
      return;
    }
    if (shut) Shutdown();
  }

  static constexpr size_t kMaxBatchBytes = 1024 * 1024;
  std::vector<Frame> batch_;  // on the loop's thread

  const Transport transport_;
  mutable absl::Mutex mu_;
  std::deque<Frame> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // a WriteNext is under way
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

void Loop::Schedule(std::shared_ptr<StreamBase> stream) {
  {
    absl::MutexLock lock(&mu);
    ready.push_back(std::move(stream));
    if (flush_posted) return;
    flush_posted = true;
  }
  if (write_delay == absl::ZeroDuration()) {
    asio::post(ioc, [this] { Flush(); });
    return;
  }
  asio::post(ioc, [this] {
    const auto due = last_flush + Gap();
    if (std::chrono::steady_clock::now() >= due) return Flush();
    delay_timer.expires_at(due);
    delay_timer.async_wait([this](beast::error_code) { Flush(); });
  });
}

std::chrono::steady_clock::duration Loop::Gap() const {
  const std::chrono::steady_clock::duration delay = Chrono(write_delay);
  return std::min(std::max(delay, 2 * last_flush_took), kMostDelays * delay);
}

void Loop::Flush() {
  last_flush = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<StreamBase>> streams;
  {
    absl::MutexLock lock(&mu);
    streams.swap(ready);
    flush_posted = false;
  }
  for (const auto& stream : streams) stream->WriteNext();
  last_flush_took = std::chrono::steady_clock::now() - last_flush;
}

// A text/event-stream response: headers, then frames as they come, until
// either side closes. The body ends with the connection (no length).
class SseSession : public StreamBase {
 public:
  SseSession(Core* core, Loop* loop, tcp::socket socket, Request request,
             StreamCallbacks callbacks)
      : StreamBase(core, loop, std::move(request), std::move(callbacks),
                   Transport::kSse),
        socket_(std::move(socket)),
        write_deadline_(socket_.get_executor()),
        ping_(socket_.get_executor()) {}

  void Start() {
    static const auto* headers = new std::string(
        "HTTP/1.1 200 OK\r\n"
        "Server: herald\r\n"
        "Content-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control: no-cache, no-store\r\n"
        "X-Accel-Buffering: no\r\n"
        "Connection: close\r\n\r\n");
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);  // Write() never waits
    QueueFirst(Frame(std::shared_ptr<const std::string>(), headers));
    Opened();
    ReadUntilClosed();
    SchedulePing();
  }

 protected:
  // The frames, joined in the loop's scratch buffer, go in one non-blocking
  // system call; a client that reads along takes them all, and the write is
  // done (no handler, no timer). Only what the socket did not take is
  // copied, to be written when the client reads, under a deadline.
  void Write(const std::vector<Frame>& frames) override {
    std::string& bytes = loop_->scratch;
    bytes.clear();
    for (const Frame& frame : frames) bytes.append(*frame);
    beast::error_code ec;
    size_t sent = socket_.write_some(asio::buffer(bytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      sent = 0;
    }
    if (ec) return Written(false);
    if (sent == bytes.size()) return Written(true);
    unsent_.assign(bytes, sent, std::string::npos);
    write_deadline_.expires_after(Chrono(core_->options().idle_timeout));
    write_deadline_.async_wait([self = Self()](beast::error_code ec) {
      if (!ec) self->CloseSocket();  // stuck: the write fails now
    });
    asio::async_write(socket_, asio::buffer(unsent_),
                      [self = Self()](beast::error_code ec, size_t) {
                        self->write_deadline_.cancel();
                        std::string().swap(self->unsent_);
                        self->Written(!ec);
                      });
  }

  // SSE events follow each other in the byte stream: any number go in one
  // write.
  size_t MaxBatch() const override {
    return std::numeric_limits<size_t>::max();
  }

  void Shutdown() override {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    Finish();
  }

  void CloseSocket() override {
    beast::error_code ignored;
    socket_.close(ignored);
    ping_.cancel();
    write_deadline_.cancel();
  }

 private:
  std::shared_ptr<SseSession> Self() {
    return std::static_pointer_cast<SseSession>(shared_from_this());
  }

  // Clients send nothing after the request: a read ends when they leave.
  void ReadUntilClosed() {
    socket_.async_read_some(asio::buffer(discard_),
                            [self = Self()](beast::error_code ec, size_t) {
                              if (ec) return self->Finish();
                              self->ReadUntilClosed();
                            });
  }

  void SchedulePing() {
    ping_.expires_after(Chrono(core_->options().ping_interval));
    ping_.async_wait([self = Self()](beast::error_code ec) {
      if (ec || self->finished_) return;
      static const auto* ping = new std::string(":\n\n");
      self->Send(Frame(std::shared_ptr<const std::string>(), ping));
      self->SchedulePing();
    });
  }

  tcp::socket socket_;
  asio::steady_timer write_deadline_;
  asio::steady_timer ping_;
  std::array<char, 512> discard_;
  std::string unsent_;  // of the write under way, when it waits
};

// A WebSocket connection: text frames both ways.
class WebSocketSession : public StreamBase {
 public:
  WebSocketSession(Core* core, Loop* loop, beast::tcp_stream stream,
                   Request request, StreamCallbacks callbacks)
      : StreamBase(core, loop, std::move(request), std::move(callbacks),
                   Transport::kWebSocket),
        ws_(std::move(stream)) {}

  void Start(http::request<http::string_body> upgrade) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout = std::chrono::seconds(10);
    timeout.idle_timeout = Chrono(core_->options().idle_timeout);
    timeout.keep_alive_pings = true;  // a ping at half the idle timeout
    ws_.set_option(timeout);
    ws_.read_message_max(64 * 1024);
    ws_.text(true);
    // A message (several frames, one per line) goes out as one WebSocket
    // frame in one write, not cut at Beast's write buffer size.
    ws_.auto_fragment(false);
    ws_.async_accept(upgrade, [self = Self()](beast::error_code ec) {
      if (ec) return self->Finish();
      self->Opened();
      self->Read();
    });
  }

 protected:
  // The frames, one per line, in one buffer: one message, and one system
  // call however many frames (a buffer per frame would cost a system call
  // per 64 buffers). Beast writes asynchronously (its pings and closes
  // share the socket), so the buffer is the stream's until the write is
  // done; a large one is given back then.
  void Write(const std::vector<Frame>& frames) override {
    message_.clear();
    for (size_t i = 0; i < frames.size(); ++i) {
      if (i > 0) message_.push_back('\n');
      message_.append(*frames[i]);
    }
    ws_.async_write(asio::buffer(message_),
                    [self = Self()](beast::error_code ec, size_t) {
                      if (self->message_.capacity() > kKeptMessageBytes) {
                        std::string().swap(self->message_);
                      }
                      self->Written(!ec);
                    });
  }

  // Several frames share one message only when the server says so
  // (StreamServerOptions::websocket_batches).
  size_t MaxBatch() const override {
    return core_->options().websocket_batches
               ? std::numeric_limits<size_t>::max()
               : 1;
  }

  void Shutdown() override {
    ws_.async_close(websocket::close_code::normal,
                    [self = Self()](beast::error_code) { self->Finish(); });
  }

  void CloseSocket() override {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  std::shared_ptr<WebSocketSession> Self() {
    return std::static_pointer_cast<WebSocketSession>(shared_from_this());
  }

  void Read() {
    ws_.async_read(buffer_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->Finish();
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      if (self->callbacks_.on_text && !self->finished_) {
        self->callbacks_.on_text(*self, std::move(text));
      }
      if (!self->finished_) self->Read();
    });
  }

  static constexpr size_t kKeptMessageBytes = 4096;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::string message_;  // of the write under way
};

class Server;

// A plain HTTP connection: requests answered by the router, until one
// opens a stream (the socket then goes to the stream's session).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server* server, Loop* loop, tcp::socket socket)
      : server_(server), loop_(loop), stream_(std::move(socket)) {}
  void Start() { Read(); }

 private:
  void Read();
  void OnRead(beast::error_code ec);
  void Write(Response response, bool keep_alive);

  Server* server_;
  Loop* loop_;  // the socket's
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
};

class Server : public Core {
 public:
  Server(StreamServerOptions options, Router router, StreamRoutes streams)
      : options_(std::move(options)),
        router_(std::move(router)),
        streams_(std::move(streams)) {
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      loops_.push_back(std::make_unique<Loop>(options_.write_delay));
      tcp::socket warm_up(loops_.back()->ioc);
    }
    acceptor_.emplace(loops_[0]->ioc);
    backoff_.emplace(loops_[0]->ioc.get_executor());
  }

  ~Server() override { Stop(); }

  absl::Status Listen() {
    absl::Status listening =
        ListenOn(*acceptor_, options_.address, options_.port);
    if (!listening.ok()) return listening;
    port_ = acceptor_->local_endpoint().port();
    Accept();
    for (auto& loop : loops_) {
      loop->thread = RunLoop(loop->ioc, "stream loop");
    }
    return absl::OkStatus();
  }

  void Stop() {
    if (stopped_.exchange(true)) return;
    asio::post(loops_[0]->ioc, [this] {
      beast::error_code ignored;
      acceptor_->close(ignored);
      backoff_->Cancel();
    });
    std::vector<std::shared_ptr<StreamBase>> open;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [raw, weak] : open_) {
        if (auto stream = weak.lock()) open.push_back(std::move(stream));
      }
    }
    for (auto& stream : open) stream->Close(nullptr);
    open.clear();
    {
      absl::MutexLock lock(&mu_);
      auto all_ended = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return open_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&all_ended), absl::Seconds(1));
    }
    for (auto& loop : loops_) loop->ioc.stop();
    for (auto& loop : loops_) {
      if (loop->thread.joinable()) loop->thread.join();
    }
  }

  const StreamServerOptions& options() const override { return options_; }

  void Opened(const std::shared_ptr<StreamBase>& stream) override {
    absl::MutexLock lock(&mu_);
    open_[stream.get()] = stream;
    counts_[static_cast<int>(stream->transport())]++;
  }

  void Ended(StreamBase* stream) override {
    absl::MutexLock lock(&mu_);
    if (open_.erase(stream) > 0) {
      counts_[static_cast<int>(stream->transport())]--;
    }
  }

  int64_t open_streams(Transport t) const {
    absl::MutexLock lock(&mu_);
    return counts_[static_cast<int>(t)];
  }

  int64_t refused_at_cap() const { return refused_.load(); }
  int port() const { return port_; }
  const Router& router() const { return router_; }
  const StreamRoutes::Route* StreamRoute(const std::string& path) const {
    auto it = streams_.routes().find(path);
    return it == streams_.routes().end() ? nullptr : &it->second;
  }

  // Whether one more stream may open (counts it as refused when not).
  bool Admit() {
    bool ok;
    {
      absl::MutexLock lock(&mu_);
      ok = static_cast<int>(open_.size()) < options_.max_streams;
    }
    if (!ok) refused_.fetch_add(1);
    return ok;
  }

 private:
  void Accept() {
    Loop* loop = loops_[next_loop_++ % loops_.size()].get();
    acceptor_->async_accept(
        loop->ioc, [this, loop](beast::error_code ec, tcp::socket socket) {
          if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_->is_open()) {
              return;
            }
            return backoff_->Failed(ec, [this] { Accept(); });
          }
          backoff_->Succeeded();
          beast::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          std::make_shared<Connection>(this, loop, std::move(socket))->Start();
          Accept();
        });
  }

  StreamServerOptions options_;
  Router router_;
  StreamRoutes streams_;
  std::vector<std::unique_ptr<Loop>> loops_;
  size_t next_loop_ = 0;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<AcceptBackoff> backoff_;
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> refused_{0};
  int port_ = 0;
  mutable absl::Mutex mu_;
  std::map<StreamBase*, std::weak_ptr<StreamBase>> open_ ABSL_GUARDED_BY(mu_);
  int64_t counts_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
};

void Connection::Read() {
  parser_.emplace();
  parser_->body_limit(server_->options().max_body_bytes);
  parser_->header_limit(16 * 1024);
  stream_.expires_after(Chrono(server_->options().idle_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->OnRead(ec);
                   });
}

void Connection::OnRead(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == beast::error::timeout || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset) {
    beast::error_code ignored;
    stream_.socket().close(ignored);
    return;
  }
  if (ec) {
    return Write(Response::JsonError(
                     400, "bad_request",
                     absl::StrCat("malformed HTTP request: ", ec.message())),
                 false);
  }
  http::request<http::string_body> raw = parser_->release();
  request_ = ToRequest(raw);
  const bool keep_alive = raw.keep_alive();
  const StreamRoutes::Route* route = server_->StreamRoute(request_.path);
  if (route == nullptr) {
    server_->router().Dispatch(request_, [self = shared_from_this(),
                                          keep_alive](Response response) {
      asio::post(self->stream_.get_executor(),
                 [self, keep_alive, response = std::move(response)]() mutable {
                   self->Write(std::move(response), keep_alive);
                 });
    });
    return;
  }
  if (request_.method != "GET") {
    Response refusal =
        Response::JsonError(405, "method_not_allowed", "this route takes GET");
    refusal.headers.emplace_back("Allow", "GET");
    return Write(std::move(refusal), false);
  }
  const bool upgrade = websocket::is_upgrade(raw);
  if (route->transport == Transport::kWebSocket && !upgrade) {
    return Write(Response::JsonError(426, "upgrade_required",
                                     "this route takes a WebSocket upgrade"),
                 false);
  }
  if (!server_->Admit()) {
    return Write(Response::JsonError(503, "too_many_connections",
                                     "this server holds its most streams; "
                                     "try another instance or later"),
                 false);
  }
  StreamAnswer answer = route->handler(request_);
  if (answer.refusal.has_value()) {
    return Write(*std::move(answer.refusal), false);
  }
  if (route->transport == Transport::kSse) {
    stream_.expires_never();
    auto session = std::make_shared<SseSession>(
        server_, loop_, stream_.release_socket(), std::move(request_),
        std::move(answer.callbacks));
    session->Start();
    return;
  }
  auto session = std::make_shared<WebSocketSession>(
      server_, loop_, std::move(stream_), std::move(request_),
      std::move(answer.callbacks));
  session->Start(std::move(raw));
}

void Connection::Write(Response response, bool keep_alive) {
  auto out = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(response.status), 11);
  out->set(http::field::server, "herald");
  out->set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) out->set(name, value);
  out->keep_alive(keep_alive);
  out->body() = std::move(response.body);
  out->prepare_payload();
  stream_.expires_after(Chrono(server_->options().idle_timeout));
  http::async_write(stream_, *out,
                    [self = shared_from_this(), out, keep_alive](
                        beast::error_code ec, size_t) {
                      if (ec || !keep_alive) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(
                            tcp::socket::shutdown_send, ignored);
                        self->stream_.close();
                        return;
                      }
                      self->Read();
                    });
}

}  // namespace stream_internal

class StreamServer::Impl : public stream_internal::Server {
 public:
  using Server::Server;
};

absl::StatusOr<std::unique_ptr<StreamServer>> StreamServer::Start(
    StreamServerOptions options, Router router, StreamRoutes streams) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(router),
                                     std::move(streams));
  absl::Status listening = impl->Listen();
  if (!listening.ok()) return listening;
  return std::unique_ptr<StreamServer>(new StreamServer(std::move(impl)));
}

StreamServer::StreamServer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
StreamServer::~StreamServer() { impl_->Stop(); }
int StreamServer::port() const { return impl_->port(); }
int64_t StreamServer::open_streams(Transport transport) const {
  return impl_->open_streams(transport);
}
int64_t StreamServer::refused_at_cap() const { return impl_->refused_at_cap(); }
void StreamServer::Stop() { impl_->Stop(); }

}  // namespace web
}  // namespace herald
