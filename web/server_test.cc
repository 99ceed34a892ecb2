// The HTTP server over real loopback connections.
#include "web/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "web/client.h"
#include "web/json.h"

namespace herald {
namespace web {
namespace {

using ::testing::HasSubstr;

constexpr size_t kBigBody = 16 << 20;  // more than the socket buffers hold

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.Handle("GET", "/items/{id}", [](const Request& r) {
      return Response::Json(200,
                            absl::StrCat(R"({"id":")", r.Param("id"), R"("})"));
    });
    router.Handle("POST", "/items",
                  [](const Request& r) { return Response::Json(201, r.body); });
    router.Handle("GET", "/big", [](const Request&) {
      return Response::Text(200, std::string(kBigBody, 'x'));
    });
    router.Handle("GET", "/boom", [](const Request&) -> Response {
      throw std::runtime_error("kaboom");
    });
    ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.max_body_bytes = 1024;
    auto server = HttpServer::Start(options, std::move(router));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::unique_ptr<HttpServer> server_;
};

// Open file descriptors of this process.
int OpenFds() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (readdir(dir) != nullptr) ++n;
  closedir(dir);
  return n - 3;  // ".", "..", and the directory's own descriptor
}

int ConnectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Polls `condition` every 10 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& condition,
               absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Out of file descriptors, a connection the server cannot accept stays
// queued: the server waits between tries instead of spinning, and serves
// it once descriptors are free again.
TEST_F(ServerTest, OutOfFileDescriptorsBacksOffThenServes) {
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit tight = saved;
  tight.rlim_cur = OpenFds() + 1;  // room for the client's socket only
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  const int fd = ConnectTo(server_->port());
  // A window in which a spinning accept loop would burn a core: a
  // measurement over time, not a wait for something not to happen.
  const double cpu_before = CpuSeconds();
  absl::SleepFor(absl::Milliseconds(500));
  const double cpu_spent = CpuSeconds() - cpu_before;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_GE(fd, 0);
  EXPECT_LT(cpu_spent, 0.15) << "the accept loop spun";

  const std::string request =
      "GET /items/queued HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[1024];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) {
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  EXPECT_THAT(response, ::testing::StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(response, HasSubstr(R"({"id":"queued"})"));
}

// Stop() waits for an answer that is still being written, instead of
// cutting it off once its handler has returned.
TEST_F(ServerTest, StopLetsAnAnswerBeingWrittenFinish) {
  const int fd = ConnectTo(server_->port());
  ASSERT_GE(fd, 0);
  timeval timeout{5, 0};  // a cut answer fails the test instead of hanging
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  // Unread, the answer fills the socket buffers and the rest waits in the
  // server: it is still being written when Stop() begins.
  absl::SleepFor(absl::Milliseconds(200));
  std::thread stopper([&] { server_->Stop(); });
  // Stop() has begun once the listener is closed: only then is reading
  // the answer a test of whether Stop() lets it finish.
  const bool stopping = WaitUntil([&] {
    const int probe = ConnectTo(server_->port());
    if (probe < 0) return true;
    close(probe);
    return false;
  });
  if (!stopping) {
    stopper.join();
    close(fd);
    FAIL() << "Stop() did not close the listener";
  }
  std::string response;
  char buffer[64 * 1024];
  size_t body_start = std::string::npos;
  while (body_start == std::string::npos ||
         response.size() < body_start + kBigBody) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
    if (body_start == std::string::npos) {
      size_t end = response.find("\r\n\r\n");
      if (end != std::string::npos) body_start = end + 4;
    }
  }
  stopper.join();
  close(fd);
  ASSERT_NE(body_start, std::string::npos) << "no answer";
  EXPECT_EQ(response.size() - body_start, kBigBody);
}

TEST_F(ServerTest, RoutesWithParamsAndKeepsTheConnection) {
  HttpClient client("127.0.0.1", server_->port());
  for (int i = 0; i < 5; ++i) {
    auto r = client.Send("GET", absl::StrCat("/items/x", i, "?q=1"));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, absl::StrCat(R"({"id":"x)", i, R"("})"));
    EXPECT_EQ(*r->Header("Content-Type"), "application/json");
  }
  auto r = client.Send("POST", "/items", R"({"a":1})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, R"({"a":1})");
}

TEST_F(ServerTest, UnknownRouteAndWrongMethod) {
  HttpClient client("127.0.0.1", server_->port());
  auto r = client.Send("GET", "/nowhere");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_THAT(r->body, HasSubstr(R"("code":"not_found")"));
  r = client.Send("DELETE", "/items/1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(*r->Header("Allow"), "GET");
  EXPECT_THAT(r->body, HasSubstr(R"("code":"method_not_allowed")"));
}

// Found by web/fuzz/router_fuzzer.cc: a path is any bytes, and the 404
// that echoes it must still be JSON, which is UTF-8.
TEST_F(ServerTest, NotFoundForAPathThatIsNotUtf8IsStillJson) {
  HttpClient client("127.0.0.1", server_->port());
  auto r = client.Send("GET", "/nowhere/\xff\xfe");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  json::error_code ec;
  json::parse(r->body, ec);
  EXPECT_FALSE(ec) << r->body;
  EXPECT_THAT(r->body, HasSubstr(R"(/nowhere/\ufffd\ufffd)"));
}

TEST_F(ServerTest, OversizeBodiesGet413) {
  HttpClient client("127.0.0.1", server_->port());
  auto r = client.Send("POST", "/items", std::string(4096, 'x'));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr(R"("code":"payload_too_large")"));
  // Chunked, no Content-Length: the limit still holds.
  HttpClient raw("127.0.0.1", server_->port());
  std::string chunk(800, 'y');
  r = raw.SendRaw(absl::StrCat(
      "POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
      "320\r\n", chunk, "\r\n320\r\n", chunk, "\r\n0\r\n\r\n"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  // The server is still fine.
  HttpClient again("127.0.0.1", server_->port());
  EXPECT_EQ(again.Send("GET", "/items/1")->status, 200);
}

TEST_F(ServerTest, LargeOversizeBodyStillGetsItsAnswer) {
  // 1 MiB against a 1 KiB limit: the server answers before reading the
  // body, and must not reset the connection under the client's feet.
  for (int i = 0; i < 5; ++i) {
    HttpClient client("127.0.0.1", server_->port());
    auto r = client.Send("POST", "/items", std::string(1 << 20, 'z'));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 413);
  }
}

TEST_F(ServerTest, MalformedRequestGets400) {
  HttpClient raw("127.0.0.1", server_->port());
  auto r = raw.SendRaw("NOT HTTP AT ALL\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 400);
  EXPECT_THAT(r->body, HasSubstr(R"("code":"bad_request")"));
}

TEST_F(ServerTest, HandlerExceptionGets500AndServerLives) {
  HttpClient client("127.0.0.1", server_->port());
  auto r = client.Send("GET", "/boom");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_THAT(r->body, HasSubstr(R"("code":"internal")"));
  EXPECT_EQ(client.Send("GET", "/items/2")->status, 200);
}

TEST_F(ServerTest, ManyConcurrentClients) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client("127.0.0.1", server_->port());
      for (int i = 0; i < 50; ++i) {
        auto r = client.Send("GET", absl::StrCat("/items/", t, "-", i));
        if (r.ok() &&
            r->body == absl::StrCat(R"({"id":")", t, "-", i, R"("})")) {
          ok++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
}

// Beyond max_connections a connection is answered 503 with Retry-After;
// once one closes, a new one is served again.
TEST(ServerLimitsTest, ConnectionsBeyondTheCapGet503) {
  Router router;
  router.Handle("GET", "/x",
                [](const Request&) { return Response::Json(200, "{}"); });
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.max_connections = 2;
  auto server = HttpServer::Start(options, std::move(router));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  HttpClient first("127.0.0.1", port);
  auto second = std::make_unique<HttpClient>("127.0.0.1", port);
  ASSERT_EQ(first.Send("GET", "/x")->status, 200);
  ASSERT_EQ(second->Send("GET", "/x")->status, 200);
  HttpClient third("127.0.0.1", port);
  auto refused = third.Send("GET", "/x");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 503);
  EXPECT_THAT(refused->body, HasSubstr("too_many_connections"));
  EXPECT_EQ(refused->Header("Retry-After").value_or(""), "1");
  second.reset();  // closes its connection
  bool served = false;
  for (int i = 0; i < 500 && !served; ++i) {
    HttpClient again("127.0.0.1", port);
    auto r = again.Send("GET", "/x");
    served = r.ok() && r->status == 200;
    if (!served) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(served) << "a closed connection was never counted down";
  EXPECT_EQ(first.Send("GET", "/x")->status, 200);  // kept alive throughout
}

TEST(ServerStartTest, PortInUseIsAnError) {
  Router router;
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  auto first = HttpServer::Start(options, router);
  ASSERT_TRUE(first.ok());
  options.port = (*first)->port();
  auto second = HttpServer::Start(options, router);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat(":", options.port)));
}

// Listens on a free loopback port with `backlog` and never accepts: sets
// *fd and *address (its port included).
void Listen(int backlog, int* fd, sockaddr_in* address) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(*fd, 0);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address->sin_port = 0;
  ASSERT_EQ(bind(*fd, reinterpret_cast<sockaddr*>(address), sizeof(*address)),
            0);
  ASSERT_EQ(listen(*fd, backlog), 0);
  socklen_t length = sizeof(*address);
  ASSERT_EQ(getsockname(*fd, reinterpret_cast<sockaddr*>(address), &length), 0);
}

TEST(HttpClientTest, ATimeoutEndsTheWaitForAServerThatNeverAnswers) {
  // A listening socket nobody accepts on: the kernel completes connects
  // into its backlog, and no answer ever comes.
  sockaddr_in address{};
  int fd = -1;
  ASSERT_NO_FATAL_FAILURE(Listen(/*backlog=*/8, &fd, &address));
  HttpClient client("127.0.0.1", ntohs(address.sin_port),
                    absl::Milliseconds(200));
  absl::StatusOr<ClientResponse> answer = client.Send("GET", "/healthz");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded)
      << answer.status();
  close(fd);
}

// A server whose accept queue is full drops new connections' SYNs, as a
// firewall that drops packets does: the timeout bounds the connect too.
TEST(HttpClientTest, ATimeoutEndsTheWaitForAConnectThatGetsNoAnswer) {
  sockaddr_in address{};
  int fd = -1;
  ASSERT_NO_FATAL_FAILURE(Listen(/*backlog=*/0, &fd, &address));
  // Fill the accept queue (nobody accepts): later SYNs are dropped.
  std::vector<int> fillers;
  for (int i = 0; i < 3; ++i) {
    const int filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_GE(filler, 0);
    connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    fillers.push_back(filler);
  }
  HttpClient client("127.0.0.1", ntohs(address.sin_port),
                    absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  absl::StatusOr<ClientResponse> answer = client.Send("GET", "/healthz");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kDeadlineExceeded)
      << answer.status();
  EXPECT_THAT(answer.status().message(), HasSubstr("connecting"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  for (int filler : fillers) close(filler);
  close(fd);
}

TEST(JsonTest, QuotesWellFormedUtf8AndReplacesTheRest) {
  EXPECT_EQ(JsonQuote("caf\xc3\xa9 \xf0\x9f\x98\x80"),
            "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
  EXPECT_EQ(JsonQuote("\xff"), R"("\ufffd")");
  EXPECT_EQ(JsonQuote("a\xc3"), R"("a\ufffd")");                    // cut short
  EXPECT_EQ(JsonQuote("\xc0\xaf"), R"("\ufffd\ufffd")");            // overlong
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // surrogate
  EXPECT_EQ(JsonQuote("\xf4\x90\x80\x80"),
            R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
}

TEST(JsonTest, ErrorBodyEscapes) {
  EXPECT_EQ(Response::JsonError(400, "c", "say \"hi\"\n", "f").body,
            R"({"error":{"code":"c","message":"say \"hi\"\n","field":"f"}})");
  EXPECT_EQ(Response::JsonError(404, "n", "m").body,
            R"({"error":{"code":"n","message":"m","field":null}})");
}

// An asynchronous handler answers later, from a thread of its own; meanwhile
// the server's only thread keeps serving other connections.
TEST(AsyncServerTest, AnswersFromAnotherThreadWithoutHoldingServerThreads) {
  absl::Notification release;
  std::vector<std::thread> answerers;
  absl::Mutex mu;
  Router router;
  router.HandleAsync("POST", "/slow", [&](const Request& r, Responder respond) {
    absl::MutexLock lock(&mu);
    answerers.emplace_back([&release, body = r.body, respond] {
      release.WaitForNotification();
      respond(Response::Json(201, body));
    });
  });
  router.Handle("GET", "/fast",
                [](const Request&) { return Response::Json(200, "{}"); });
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.threads = 1;
  auto server = HttpServer::Start(options, std::move(router));
  ASSERT_TRUE(server.ok()) << server.status();

  std::vector<std::thread> clients;
  std::vector<absl::StatusOr<ClientResponse>> slow(
      3, absl::UnknownError("not sent"));
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      HttpClient client("127.0.0.1", (*server)->port());
      slow[i] = client.Send("POST", "/slow", absl::StrCat(R"({"n":)", i, "}"));
    });
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](std::vector<std::thread>* parked) {
                                          return parked->size() == 3;
                                        },
                                        &answerers),
                                    absl::Seconds(5)));
  }
  // Three requests parked, one server thread: it still answers this one.
  HttpClient client("127.0.0.1", (*server)->port());
  auto fast = client.Send("GET", "/fast");
  ASSERT_TRUE(fast.ok()) << fast.status();
  EXPECT_EQ(fast->status, 200);

  release.Notify();
  for (auto& t : clients) t.join();
  for (auto& t : answerers) t.join();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(slow[i].ok()) << slow[i].status();
    EXPECT_EQ(slow[i]->status, 201);
    EXPECT_EQ(slow[i]->body, absl::StrCat(R"({"n":)", i, "}"));
  }
}

}  // namespace
}  // namespace web
}  // namespace herald
