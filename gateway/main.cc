// The Herald gateway: `bazel run //gateway -- [--http_port=8080]
// [--admin_port=9090] [--brokers=host:port] [--db=sqlite:herald.db]
// [--config=herald.yaml]`. API keys: `heraldctl keys create`.
#include <glog/logging.h>

#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "base/flags.h"
#include "base/log_format.h"
#include "base/process.h"
#include "base/usage.h"
#include "database/flags.h"
#include "gateway/gateway.h"
#include "gateway/settings.h"
#include "messaging/config.h"
#include "messaging/flags.h"

ABSL_FLAG(std::optional<int>, http_port, std::nullopt,
          "HTTP port (default 8080; HERALD_HTTP_PORT, http_port:)");
ABSL_FLAG(std::optional<int>, admin_port, std::nullopt,
          "port of /readyz, /metrics and /healthz (default 9090; "
          "HERALD_ADMIN_PORT, admin_port:)");
ABSL_FLAG(std::optional<int>, http_threads, std::nullopt,
          "threads serving HTTP (default 2; HERALD_HTTP_THREADS); requests "
          "wait for their commit without holding one, so about one per core "
          "is enough");

namespace {

std::optional<std::string> Text(std::optional<int> value) {
  if (!value.has_value()) return std::nullopt;
  return absl::StrCat(*value);
}

}  // namespace

int main(int argc, char** argv) {
  herald::Config config;
  herald::gateway::GatewaySettings gateway;
  herald::LogSettings log;
  std::vector<herald::settings::Key> keys = herald::MessagingKeys(config);
  for (auto& key : herald::LogKeys(log)) keys.push_back(key);
  for (auto& key : herald::gateway::GatewayKeys(gateway)) keys.push_back(key);
  std::vector<std::pair<std::string, std::string>> defaults = {
      {"service", "gateway"}, {"client_id", "gateway"}};

  herald::Usage usage;
  usage.synopsis =
      "gateway [--http_port=N] [--admin_port=N] [--brokers=LIST] [--db=URL] "
      "[--config=FILE]";
  usage.description =
      "The Herald HTTP gateway: the REST API (payments, users, notifications,\n"
      "realtime), written to its database and published to Kafka through the\n"
      "outbox. With no brokers configured it starts the development broker.\n"
      "API keys: heraldctl keys create.\n";
  usage.keys = keys;
  usage.defaults = defaults;
  herald::InitProcess(argc, argv, usage);

  absl::Status loaded = herald::settings::Load(
      keys, herald::SourcesFromFlags(
                defaults,
                {herald::MessagingFlags(),
                 herald::db::DatabaseFlags(),
                 {{"http_port", Text(absl::GetFlag(FLAGS_http_port))},
                  {"admin_port", Text(absl::GetFlag(FLAGS_admin_port))},
                  {"http_threads", Text(absl::GetFlag(FLAGS_http_threads))}}}));
  if (!loaded.ok()) {
    LOG(ERROR) << "bad configuration: " << loaded.message();
    return 2;
  }
  herald::ApplyLogFormat(log.format);
  auto running = herald::gateway::Gateway::Start(config, gateway);
  if (!running.ok()) {
    LOG(ERROR) << "gateway cannot start: " << running.status();
    return 1;
  }
  int signal = herald::WaitForStopSignal();
  LOG(INFO) << "gateway stopping (signal " << signal << ")";
  (*running)->Stop();
  return 0;
}
