// The TCP forwarder over real loopback connections, in front of a real HTTP
// server.
#include "web/tcp_forwarder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "web/client.h"
#include "web/http.h"
#include "web/server.h"

namespace herald {
namespace web {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<HttpServer> EchoServer() {
  Router router;
  router.Handle("POST", "/echo",
                [](const Request& r) { return Response::Text(200, r.body); });
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  auto server = HttpServer::Start(options, std::move(router));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(TcpForwarderTest, CarriesBothDirectionsToTheTarget) {
  std::unique_ptr<HttpServer> server = EchoServer();
  ASSERT_NE(server, nullptr);
  auto forwarder = TcpForwarder::Start(
      "127.0.0.1", 0, absl::StrCat("127.0.0.1:", server->port()));
  ASSERT_TRUE(forwarder.ok()) << forwarder.status();
  ASSERT_NE((*forwarder)->port(), server->port());
  EXPECT_EQ((*forwarder)->address(),
            absl::StrCat("127.0.0.1:", (*forwarder)->port()));

  HttpClient client("127.0.0.1", (*forwarder)->port());
  // Larger than one 64 KiB pipe buffer, on one keep-alive connection.
  const std::string body(300 * 1024, 'h');
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ClientResponse> r = client.Send("POST", "/echo", body);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, body);
  }
}

TEST(TcpForwarderTest, APortInUseIsAnErrorThatNamesIt) {
  auto first = TcpForwarder::Start("127.0.0.1", 0, "127.0.0.1:1");
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->port();
  auto second = TcpForwarder::Start("127.0.0.1", port, "127.0.0.1:1");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("port ", port)));
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
}

TEST(TcpForwarderTest, BadAddressesAreInvalidArguments) {
  EXPECT_EQ(TcpForwarder::Start("not-an-ip", 0, "127.0.0.1:1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TcpForwarder::Start("127.0.0.1", 0, "127.0.0.1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      TcpForwarder::Start("127.0.0.1", 0, "127.0.0.1:99999").status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(TcpForwarderTest, AnUnreachableTargetClosesTheClientsConnection) {
  // A port that was listening a moment ago and is closed now.
  int closed_port = 0;
  {
    auto probe = TcpForwarder::Start("127.0.0.1", 0, "127.0.0.1:1");
    ASSERT_TRUE(probe.ok());
    closed_port = (*probe)->port();
  }
  auto forwarder = TcpForwarder::Start("127.0.0.1", 0,
                                       absl::StrCat("127.0.0.1:", closed_port));
  ASSERT_TRUE(forwarder.ok()) << forwarder.status();
  HttpClient client("127.0.0.1", (*forwarder)->port());
  absl::StatusOr<ClientResponse> r = client.Send("POST", "/echo", "x");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST(TcpForwarderTest, StopsListeningWhenDestroyed) {
  auto forwarder = TcpForwarder::Start("127.0.0.1", 0, "127.0.0.1:1");
  ASSERT_TRUE(forwarder.ok());
  const int port = (*forwarder)->port();
  EXPECT_TRUE(IsListening("127.0.0.1", port));
  forwarder->reset();
  EXPECT_FALSE(IsListening("127.0.0.1", port));
  EXPECT_FALSE(IsListening("not-an-ip", port));
}

}  // namespace
}  // namespace web
}  // namespace herald
