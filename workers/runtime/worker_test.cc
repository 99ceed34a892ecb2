// A worker's /healthz over real HTTP on loopback: 200 once its consumer is
// in its group, 503 once it has been out of its group for longer than
// WorkerSpec::out_of_group_limit (brokers unreachable since the start, or
// lost), and 200 again when the brokers are back.
#include "workers/runtime/worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "contracts/v1/payments.pb.h"
#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "web/json.h"

namespace herald {
namespace workers {
namespace {

using contracts::v1::PaymentCreated;
using herald::MockCluster;
using herald::testing::TestConfig;
using herald::testing::WaitFor;
using ::testing::HasSubstr;

// A loopback port that refuses connections: bound, so that nobody else
// takes it while the test runs, but not listening.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), size) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
      ADD_FAILURE() << "cannot bind a loopback port";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string JsonString(const std::string& body, const char* key) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return "";
  const json::value* field = v.as_object().if_contains(key);
  if (field == nullptr || !field->is_string()) return "";
  return std::string(field->as_string());
}

class WorkerHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = MockCluster::Start(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic("payment.created", 1).ok());
  }

  // The configuration of a worker in consumer group `group`, against the
  // mock cluster.
  Config WorkerConfig(const std::string& group) {
    Config config = TestConfig(*cluster_, group);
    config.service = "health-test";
    return config;
  }

  // Its own SQLite file and any free admin port.
  static WorkerSettings SettingsFor(const std::string& group) {
    WorkerSettings settings;
    settings.database.url =
        absl::StrCat("sqlite:", getenv("TEST_TMPDIR"), "/", group, ".db");
    settings.admin_port = 0;
    return settings;
  }

  // A worker that takes every PaymentCreated, with `limit` as its
  // out_of_group_limit.
  std::unique_ptr<Worker> StartWorker(const Config& config,
                                      absl::Duration limit) {
    WorkerSpec spec;
    spec.name = "health-test";
    spec.group = config.consumer.group_id;
    spec.out_of_group_limit = limit;
    spec.setup = [](WorkerContext& context) {
      return context.consumer.Subscribe<PaymentCreated>(
          [](const PaymentCreated&, const Metadata&) {
            return absl::OkStatus();
          });
    };
    auto worker =
        Worker::Start(config, SettingsFor(config.consumer.group_id), spec);
    EXPECT_TRUE(worker.ok()) << worker.status();
    return worker.ok() ? *std::move(worker) : nullptr;
  }

  // GET /healthz; status 0 when the admin server does not answer.
  static web::ClientResponse Health(const Worker& worker) {
    web::HttpClient admin("127.0.0.1", worker.admin_port());
    absl::StatusOr<web::ClientResponse> answer = admin.Send("GET", "/healthz");
    if (!answer.ok()) return web::ClientResponse{};
    return *std::move(answer);
  }

  // Asks /healthz until it answers `status`; the last answer goes to `last`.
  static bool WaitForHealth(const Worker& worker, int status,
                            web::ClientResponse* last,
                            absl::Duration timeout = absl::Seconds(30)) {
    return WaitFor(
        [&] {
          *last = Health(worker);
          return last->status == status;
        },
        timeout);
  }

  std::unique_ptr<MockCluster> cluster_;
};

TEST_F(WorkerHealthTest, InItsGroupAnswers200) {
  constexpr absl::Duration kLimit = absl::Seconds(1);
  const absl::Time started = absl::Now();
  std::unique_ptr<Worker> worker =
      StartWorker(WorkerConfig("in-its-group"), kLimit);
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(WaitFor([&] { return worker->consumer().Health().in_group; }));
  // The limit has passed since the start: a 200 now is about the
  // membership, not about a worker that has only just started.
  absl::SleepFor(started + kLimit - absl::Now());
  web::ClientResponse health = Health(*worker);
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(JsonString(health.body, "status"), "ok") << health.body;
  EXPECT_EQ(JsonString(health.body, "worker"), "health-test");
  EXPECT_TRUE(worker->consumer().Health().in_group);
  EXPECT_TRUE(worker->Stop().ok());
}

// A worker that never reaches its brokers answers 200 while it may still be
// joining, then 503 saying why.
TEST_F(WorkerHealthTest, UnreachableBrokersAnswer503AfterTheLimit) {
  constexpr absl::Duration kLimit = absl::Seconds(2);
  RefusingPort nowhere;
  Config config = WorkerConfig("unreachable");
  config.brokers = absl::StrCat("127.0.0.1:", nowhere.port());
  const absl::Time started = absl::Now();
  std::unique_ptr<Worker> worker = StartWorker(config, kLimit);
  ASSERT_NE(worker, nullptr);

  web::ClientResponse early = Health(*worker);
  if (absl::Now() - started < kLimit) {
    EXPECT_EQ(early.status, 200)
        << "unhealthy before the limit: " << early.body;
  }
  web::ClientResponse health;
  ASSERT_TRUE(WaitForHealth(*worker, 503, &health))
      << "last /healthz: " << health.status << " " << health.body;
  // It cannot have been out of its group longer than it has existed.
  EXPECT_GT(absl::Now() - started, kLimit);
  EXPECT_EQ(JsonString(health.body, "status"), "unhealthy");
  EXPECT_THAT(JsonString(health.body, "reason"),
              HasSubstr("not a member of consumer group 'unreachable'"));
  EXPECT_THAT(JsonString(health.body, "reason"), HasSubstr(config.brokers));
  EXPECT_FALSE(worker->consumer().Health().in_group);
  EXPECT_TRUE(worker->Stop().ok());
}

// A worker whose broker goes away is unhealthy once the consumer has lost
// its membership (after consumer.session_timeout_ms) for longer than the
// limit, and healthy again once it is back in its group.
TEST_F(WorkerHealthTest, LostBrokerAnswers503ThenBack200) {
  constexpr absl::Duration kLimit = absl::Seconds(1);
  std::unique_ptr<Worker> worker =
      StartWorker(WorkerConfig("lost-broker"), kLimit);
  ASSERT_NE(worker, nullptr);
  ASSERT_TRUE(WaitFor([&] { return worker->consumer().Health().in_group; }));
  web::ClientResponse health = Health(*worker);
  ASSERT_EQ(health.status, 200) << health.body;

  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  ASSERT_TRUE(WaitForHealth(*worker, 503, &health, absl::Seconds(60)))
      << "last /healthz: " << health.status << " " << health.body;
  EXPECT_THAT(JsonString(health.body, "reason"),
              HasSubstr("not a member of consumer group 'lost-broker'"));

  ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
  ASSERT_TRUE(WaitForHealth(*worker, 200, &health, absl::Seconds(90)))
      << "last /healthz: " << health.status << " " << health.body;
  EXPECT_EQ(JsonString(health.body, "status"), "ok") << health.body;
  EXPECT_TRUE(worker->Stop().ok());
}

}  // namespace
}  // namespace workers
}  // namespace herald
