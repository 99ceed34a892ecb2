// `herald up`: the whole system on this machine, in one terminal.
//
//   ./herald up [--brokers=...] [--db=...] [--config=herald.yaml]
//               [--http_port=8080] [--admin_port=9090] [--realtime_port=8090]
//               [--broker_port=9092] [--email_admin_port=9101]
//               [--analytics_admin_port=9102] [--crm_admin_port=9103]
//               [--keep_going] [--key_file=.herald/api_key]
//
// Starts the development broker (unless brokers are set), the gateway and
// every worker, prints their logs as one stream, and once all are ready the
// live page's URL, an API key and a curl to try. Ctrl-C stops them in order.
#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/flags.h"
#include "base/process.h"
#include "database/flags.h"
#include "gateway/settings.h"
#include "messaging/config.h"
#include "messaging/flags.h"
#include "tools/up/local_key.h"
#include "tools/up/log_printer.h"
#include "tools/up/stack.h"
#include "tools/up/supervisor.h"
#include "workers/realtime/realtime_settings.h"

ABSL_FLAG(std::optional<int>, http_port, std::nullopt,
          "the gateway's API port (default: the gateway's, 8080)");
ABSL_FLAG(std::optional<int>, admin_port, std::nullopt,
          "the gateway's admin port, /readyz and /metrics (default 9090)");
ABSL_FLAG(std::optional<int>, realtime_port, std::nullopt,
          "the realtime worker's port, the live page (default 8090)");
ABSL_FLAG(int, broker_port, herald::up::StackPorts().broker,
          "the development broker's port (when no brokers are set)");
ABSL_FLAG(int, email_admin_port, herald::up::StackPorts().email_admin,
          "the email worker's /healthz and /metrics port");
ABSL_FLAG(int, analytics_admin_port, herald::up::StackPorts().analytics_admin,
          "the analytics worker's /healthz and /metrics port");
ABSL_FLAG(int, crm_admin_port, herald::up::StackPorts().crm_admin,
          "the CRM worker's /healthz and /metrics port");
ABSL_FLAG(bool, keep_going, false,
          "once everything is ready, when a process exits on its own, report "
          "it and keep the others running (default: stop them all and exit "
          "1)");
ABSL_FLAG(absl::Duration, ready_timeout, absl::Minutes(2),
          "how long each stage (broker, gateway, workers) may take to be "
          "ready");
ABSL_FLAG(std::string, key_file, ".herald/api_key",
          "where the local API key's secret is kept between runs (mode 0600)");

namespace herald {
namespace up {
namespace {

std::optional<std::string> Text(std::optional<int> value) {
  if (!value.has_value()) return std::nullopt;
  return absl::StrCat(*value);
}

// The directory holding gateway/gateway, workers/email, ...: this binary's
// runfiles (under `bazel run`, `bazel test` or from bazel-bin).
std::optional<std::string> FindBinDir() {
  std::vector<std::string> candidates;
  for (const char* env : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(env)) candidates.push_back(dir);
  }
  std::error_code ec;
  const std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(absl::StrCat(self.string(), ".runfiles"));
  for (const std::string& dir : candidates) {
    const std::string bin = absl::StrCat(dir, "/herald");
    if (std::filesystem::exists(absl::StrCat(bin, "/gateway/gateway"), ec)) {
      return bin;
    }
  }
  return std::nullopt;
}

// Shell single quotes around `text` (which holds none).
std::string Quoted(const std::string& text) {
  return absl::StrCat("'", text, "'");
}

std::string ReadyMessage(const StackPorts& ports, const LocalKey& key,
                         const std::string& key_file) {
  // A new address each run: registering one twice is a 409.
  const std::string email =
      absl::StrCat("ada+", absl::ToUnixSeconds(absl::Now()), "@example.com");
  const std::string body =
      absl::StrCat(R"({"email":")", email, R"(","name":"Ada"})");
  return absl::StrCat(
      "\n==== Herald is up ====\n",
      "Live page:  http://localhost:", ports.realtime, "/\n",
      "API key:    ", key.secret, "  (", key.name, ", every scope; ",
      key.created ? "new, " : "", "kept in ", key_file, ")\n",
      "Gateway:    http://localhost:", ports.http,
      "/api/v1  (admin: ", "http://localhost:", ports.admin,
      "/readyz, /metrics)\n",
      "Try it: register a user (the live page shows the sign-up, the email "
      "worker writes a welcome email to maildir/new/):\n\n",
      "curl -s -X POST localhost:", ports.http, "/api/v1/users -H ",
      Quoted(absl::StrCat("Authorization: Bearer ", key.secret)),
      " -H 'Content-Type: application/json' -d ", Quoted(body), "\n\n",
      "Ctrl-C stops everything (workers, then the gateway, then the "
      "broker).\n\n");
}

int Main(int argc, char** argv) {
  Usage usage;
  usage.synopsis =
      "up [--brokers=LIST] [--db=URL] [--config=FILE] [--keep_going] "
      "[--http_port=N ...]";
  usage.description =
      "Runs the whole system in one terminal (./herald up): the development\n"
      "broker (unless --brokers), the gateway, then the email, analytics,\n"
      "CRM and realtime workers; one stream of logs, each line prefixed\n"
      "with its process; prints the live page, a local API key and a curl\n"
      "once ready; Ctrl-C stops the workers, the gateway, then the broker.\n"
      "--brokers, --db and --config go to every process.\n";
  InitProcess(argc, argv, usage);
  // Its own INFO lines (the database's migrations, when it makes the key)
  // would stand unprefixed among the children's: it says what matters
  // itself.
  FLAGS_minloglevel = google::GLOG_WARNING;
  LogPrinter log(stdout, isatty(STDOUT_FILENO) == 1);

  // The settings the gateway and the realtime worker will load, to know
  // their ports, the gateway's database and whether brokers are set.
  Config config;
  gateway::GatewaySettings gateway;
  std::vector<settings::Key> keys = MessagingKeys(config);
  for (auto& key : gateway::GatewayKeys(gateway)) keys.push_back(key);
  absl::Status loaded = settings::Load(
      keys, SourcesFromFlags(
                {}, {MessagingFlags(),
                     db::DatabaseFlags(),
                     {{"http_port", Text(absl::GetFlag(FLAGS_http_port))},
                      {"admin_port", Text(absl::GetFlag(FLAGS_admin_port))}}}));
  workers::RealtimeSettings realtime;
  if (loaded.ok()) {
    loaded = settings::Load(
        workers::RealtimeKeys(realtime),
        SourcesFromFlags({}, {{{"realtime.http_port",
                                Text(absl::GetFlag(FLAGS_realtime_port))}}}));
  }
  if (!loaded.ok()) {
    log.Say(absl::StrCat("bad configuration: ", loaded.message()));
    return 2;
  }
  std::optional<std::string> bin_dir = FindBinDir();
  if (!bin_dir.has_value()) {
    log.Say(
        "cannot find the Herald binaries: run it as `./herald up` or "
        "`bazel run //tools/up`");
    return 2;
  }

  StackOptions options;
  options.bin_dir = *bin_dir;
  options.dev_broker = config.brokers.empty();
  options.brokers = MessagingFlags()[0].value;
  options.db = db::DatabaseFlags()[0].value;
  options.config = SourcesFromFlags({}, {}).file;
  options.ports.broker = absl::GetFlag(FLAGS_broker_port);
  options.ports.http = gateway.http_port;
  options.ports.admin = gateway.admin_port;
  options.ports.realtime = realtime.http_port;
  options.ports.email_admin = absl::GetFlag(FLAGS_email_admin_port);
  options.ports.analytics_admin = absl::GetFlag(FLAGS_analytics_admin_port);
  options.ports.crm_admin = absl::GetFlag(FLAGS_crm_admin_port);

  // Before the gateway starts: it loads the keys at start.
  const std::string key_file = absl::GetFlag(FLAGS_key_file);
  absl::StatusOr<LocalKey> key = LocalApiKey(gateway.database.url, key_file);
  if (!key.ok()) {
    log.Say(
        absl::StrCat("cannot make a local API key: ", key.status().message()));
    return 1;
  }

  SupervisorOptions supervisor;
  supervisor.keep_going = absl::GetFlag(FLAGS_keep_going);
  supervisor.ready_timeout = absl::GetFlag(FLAGS_ready_timeout);
  return Supervise(PlanStack(options), supervisor, log, [&] {
    log.Plain(ReadyMessage(options.ports, *key, key_file));
  });
}

}  // namespace
}  // namespace up
}  // namespace herald

int main(int argc, char** argv) { return herald::up::Main(argc, argv); }
