// The Herald gateway: `bazel run //gateway -- [--http_port=8080]
// [--brokers=host:port] [--db=sqlite:herald.db] [--config=herald.yaml]`.
#include <glog/logging.h>

#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "messaging/flags.h"
#include "messaging/process.h"

ABSL_FLAG(std::optional<int>, http_port, std::nullopt,
          "HTTP port (default 8080; HERALD_HTTP_PORT, http_port:)");
ABSL_FLAG(int, http_threads, 2,
          "threads serving HTTP; requests wait for their commit without "
          "holding one, so about one per core is enough");

int main(int argc, char** argv) {
  herald::InitProcess(argc, argv);

  std::optional<std::string> port;
  if (auto flag = absl::GetFlag(FLAGS_http_port)) port = absl::StrCat(*flag);
  absl::StatusOr<herald::Config> config = herald::ConfigFromFlags(
      {{"service", "gateway"}, {"client_id", "gateway"}},
      {{"http_port", port}});
  if (!config.ok()) {
    LOG(ERROR) << "bad configuration: " << config.status().message();
    return 2;
  }
  herald::gateway::GatewayOptions options;
  options.http_threads = absl::GetFlag(FLAGS_http_threads);
  auto gateway = herald::gateway::Gateway::Start(*config, options);
  if (!gateway.ok()) {
    LOG(ERROR) << "gateway cannot start: " << gateway.status();
    return 1;
  }
  int signal = herald::WaitForStopSignal();
  LOG(INFO) << "gateway stopping (signal " << signal << ")";
  (*gateway)->Stop();
  return 0;
}
