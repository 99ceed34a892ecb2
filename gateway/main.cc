// The Herald gateway: `bazel run //gateway -- [--http_port=8080]
// [--brokers=host:port] [--db=sqlite:herald.db] [--config=herald.yaml]`.
#include <glog/logging.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "messaging/flags.h"

ABSL_FLAG(std::optional<int>, http_port, std::nullopt,
          "HTTP port (default 8080; HERALD_HTTP_PORT, http_port:)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Under `bazel run`, relative paths (herald.db, maildir) mean the user's
  // directory, not the runfiles tree.
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (chdir(dir) != 0) PLOG(WARNING) << "cannot enter " << dir;
  }
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  // Block the stop signals in every thread; main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::optional<std::string> port;
  if (auto flag = absl::GetFlag(FLAGS_http_port)) port = absl::StrCat(*flag);
  absl::StatusOr<herald::Config> config = herald::ConfigFromFlags(
      {{"service", "gateway"}, {"client_id", "gateway"}},
      {{"http_port", port}});
  if (!config.ok()) {
    LOG(ERROR) << "bad configuration: " << config.status().message();
    return 2;
  }
  auto gateway = herald::gateway::Gateway::Start(*config);
  if (!gateway.ok()) {
    LOG(ERROR) << "gateway cannot start: " << gateway.status();
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  LOG(INFO) << "gateway stopping (signal " << signal << ")";
  (*gateway)->Stop();
  return 0;
}
