// File: tools/up/stack.h
//
// What `herald up` runs: the development broker (unless brokers are set),
// the gateway, and every worker, each with its command line, how to tell it
// is ready, and when it starts and stops. Processes start stage by stage
// (the broker, then the gateway, then the workers), each stage once the one
// before is ready, and stop in the reverse order: workers first (they
// commit their offsets through the broker and the gateway's outbox feeds
// them), then the gateway, then the broker.
//
// Example:
//
//   StackOptions options;
//   options.bin_dir = "/path/to/runfiles/herald";
//   options.dev_broker = true;
//   for (const ProcessSpec& p : PlanStack(options)) ...  // broker, gateway,
//   ...
#ifndef HERALD_TOOLS_UP_STACK_H_
#define HERALD_TOOLS_UP_STACK_H_

#include <optional>
#include <string>
#include <vector>

namespace herald {
namespace up {

// The ports the local stack uses. Defaults: each component's own (a test
// checks they agree: tools/up/stack_test.cc).
struct StackPorts {
  int broker = 9092;       // the development broker's bootstrap port
  int http = 8080;         // the gateway's API
  int admin = 9090;        // the gateway's /readyz and /metrics
  int realtime = 8090;     // the live page, SSE, WebSocket, /healthz
  int email_admin = 9101;  // each worker's /healthz and /metrics
  int analytics_admin = 9102;
  int crm_admin = 9103;
};

struct StackOptions {
  // Where the binaries are: <bin_dir>/gateway/gateway, ...
  std::string bin_dir;
  // Start the development broker and point everything at it; false when
  // brokers are set (--brokers, HERALD_BROKERS or the config file).
  bool dev_broker = true;
  // Passed to every process that takes them, when set.
  std::optional<std::string> brokers;
  std::optional<std::string> db;
  std::optional<std::string> config;
  StackPorts ports;
};

// How a process shows it is ready: an HTTP GET answered 200, or, with an
// empty `path`, a TCP port that accepts connections.
struct ReadyCheck {
  int port = 0;
  std::string path;
};

struct ProcessSpec {
  std::string name;               // the log prefix
  std::vector<std::string> argv;  // argv[0]: the binary
  ReadyCheck ready;
  int stage = 0;  // started in increasing, stopped in
                  // decreasing order
};

// Every process to run, in start order.
std::vector<ProcessSpec> PlanStack(const StackOptions& options);

}  // namespace up
}  // namespace herald

#endif  // HERALD_TOOLS_UP_STACK_H_
