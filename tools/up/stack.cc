#include "tools/up/stack.h"

#include "absl/strings/str_cat.h"

namespace herald {
namespace up {
namespace {

std::string Flag(const char* name, const std::string& value) {
  return absl::StrCat("--", name, "=", value);
}

std::string Flag(const char* name, int value) {
  return absl::StrCat("--", name, "=", value);
}

}  // namespace

std::vector<ProcessSpec> PlanStack(const StackOptions& options) {
  const StackPorts& ports = options.ports;
  const std::string& bin = options.bin_dir;
  std::optional<std::string> brokers = options.brokers;
  std::vector<ProcessSpec> plan;
  if (options.dev_broker) {
    brokers = absl::StrCat("127.0.0.1:", ports.broker);
    plan.push_back(
        {"broker",
         {absl::StrCat(bin, "/tools/dev_broker"), Flag("port", ports.broker)},
         {ports.broker, ""},
         0});
  }
  // --brokers, --db and --config for those that take them (the realtime
  // worker has no database).
  auto common = [&](std::vector<std::string> argv, bool has_db) {
    if (brokers) argv.push_back(Flag("brokers", *brokers));
    if (has_db && options.db) argv.push_back(Flag("db", *options.db));
    if (options.config) argv.push_back(Flag("config", *options.config));
    return argv;
  };
  plan.push_back(
      {"gateway",
       common({absl::StrCat(bin, "/gateway/gateway"),
               Flag("http_port", ports.http), Flag("admin_port", ports.admin)},
              true),
       {ports.admin, "/readyz"},
       1});
  struct Worker {
    const char* name;
    const char* binary;
    int admin_port;
  };
  for (const Worker& w :
       {Worker{"email", "workers/email", ports.email_admin},
        Worker{"analytics", "workers/analytics", ports.analytics_admin},
        Worker{"crm", "workers/crm", ports.crm_admin}}) {
    plan.push_back({w.name,
                    common({absl::StrCat(bin, "/", w.binary),
                            Flag("admin_port", w.admin_port)},
                           true),
                    {w.admin_port, "/healthz"},
                    2});
  }
  plan.push_back({"realtime",
                  common({absl::StrCat(bin, "/workers/realtime/realtime"),
                          Flag("http_port", ports.realtime)},
                         false),
                  {ports.realtime, "/healthz"},
                  2});
  return plan;
}

}  // namespace up
}  // namespace herald
