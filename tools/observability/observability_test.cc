// tools/observability: the alert rules pass `promtool check rules`, and
// every metric the rules and the Grafana dashboard use is one Herald
// exports, checked against the real /metrics of a running gateway and a
// running worker (CRM) that handled an event.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "gateway/settings.h"
#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "workers/crm/crm.h"
#include "workers/runtime/worker.h"

namespace herald {
namespace {

std::string Runfile(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"),
                      "/herald/tools/observability/", name);
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct CommandRun {
  int exit_code = -1;
  std::string output;
};

CommandRun Promtool(const std::string& rules) {
  CommandRun run;
  FILE* pipe = popen(
      absl::StrCat("promtool check rules '", rules, "' 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    run.output.append(buffer, n);
  }
  int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

bool HavePromtool() {
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) return true;
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string(ci) == "true") {
    ADD_FAILURE() << "promtool is missing: run tools/setup.sh (Debian's "
                     "prometheus package)";
  }
  return false;
}

TEST(ObservabilityTest, PromtoolAcceptsTheRules) {
  if (!HavePromtool()) GTEST_SKIP() << "promtool is not installed";
  CommandRun ours = Promtool(Runfile("alerts.yml"));
  EXPECT_EQ(ours.exit_code, 0) << ours.output;
  EXPECT_THAT(ours.output, ::testing::HasSubstr("SUCCESS"));
  // ...and would refuse a broken rule.
  const std::string broken =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/broken.yml");
  std::ofstream(broken) << "groups:\n  - name: x\n    rules:\n"
                           "      - alert: Broken\n        expr: rate(x[5m]\n";
  EXPECT_NE(Promtool(broken).exit_code, 0);
}

// Metric names in PromQL expressions: herald_ and what follows.
std::set<std::string> MetricsUsedBy(const std::string& text) {
  std::set<std::string> names;
  const std::regex name("herald_[a-z0-9_]+");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

// Whether `exposition` (Prometheus text format) has a sample of `metric`.
bool Exports(const std::string& exposition, const std::string& metric) {
  return std::regex_search(exposition, std::regex("(^|\n)" + metric + "[{ ]"));
}

TEST(ObservabilityTest, EveryMetricUsedIsOneTheBinariesExport) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok());
  for (const char* topic : {"payment.created", "payment.updated",
                            "user.registered", "notification.email"}) {
    ASSERT_TRUE((*cluster)->CreateTopic(topic, 2).ok());
    ASSERT_TRUE((*cluster)->CreateTopic(absl::StrCat(topic, ".dlq"), 1).ok());
  }
  const std::string tmp = std::getenv("TEST_TMPDIR");

  Config gateway_config = testing::TestConfig(**cluster);
  gateway_config.service = "gateway";
  gateway::GatewaySettings gateway_settings;
  gateway_settings.database.url = absl::StrCat("sqlite:", tmp, "/gateway.db");
  gateway_settings.http_address = "127.0.0.1";
  gateway_settings.http_port = 0;
  gateway_settings.admin_port = 0;
  gateway_settings.auth.enabled = false;  // loopback only
  auto gateway = gateway::Gateway::Start(gateway_config, gateway_settings);
  ASSERT_TRUE(gateway.ok()) << gateway.status();

  const workers::WorkerSpec spec = workers::CrmWorkerSpec();
  Config worker_config = testing::TestConfig(**cluster, spec.group);
  worker_config.service = spec.name;
  workers::WorkerSettings worker_settings;
  worker_settings.database.url = absl::StrCat("sqlite:", tmp, "/crm.db");
  worker_settings.admin_port = 0;
  auto worker = workers::Worker::Start(worker_config, worker_settings, spec);
  ASSERT_TRUE(worker.ok()) << worker.status();

  web::HttpClient api("127.0.0.1", (*gateway)->port());
  auto paid = api.Send("POST", "/api/v1/payments",
                       R"({"user_id":"u1","amount":5,"currency":"EUR"})",
                       {{"Content-Type", "application/json"}});
  ASSERT_TRUE(paid.ok() && paid->status == 201) << paid->body;

  web::HttpClient gateway_admin("127.0.0.1", (*gateway)->admin_port());
  web::HttpClient worker_admin("127.0.0.1", (*worker)->admin_port());
  std::string scraped;
  ASSERT_TRUE(testing::WaitFor([&] {
    auto gateway_metrics = gateway_admin.Send("GET", "/metrics");
    auto worker_metrics = worker_admin.Send("GET", "/metrics");
    if (!gateway_metrics.ok() || !worker_metrics.ok()) return false;
    scraped = gateway_metrics->body + worker_metrics->body;
    // The worker handled the payment: its per-topic series exist.
    return absl::StrContains(
        scraped, R"(herald_consumer_handled_total{topic="payment.created"} 1)");
  })) << scraped;

  const std::string rules = Read(Runfile("alerts.yml"));
  const std::string dashboard = Read(Runfile("grafana_dashboard.json"));
  std::set<std::string> used = MetricsUsedBy(rules);
  ASSERT_GE(used.size(), 7u) << rules;
  for (const std::string& metric : MetricsUsedBy(dashboard)) {
    used.insert(metric);
  }
  for (const std::string& metric : used) {
    EXPECT_TRUE(Exports(scraped, metric))
        << metric << " is used by tools/observability but exported by "
        << "neither the gateway nor the worker";
  }
  EXPECT_FALSE(Exports(scraped, "herald_no_such_metric"));

  ASSERT_TRUE((*worker)->Stop().ok());
  (*gateway)->Stop();
}

}  // namespace
}  // namespace herald
