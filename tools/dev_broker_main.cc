// The in-memory development broker at a fixed address:
//
//   bazel run //tools:dev_broker -- --port=9092
//
// Runs until SIGINT/SIGTERM. For development only: data is lost on exit.
#include <glog/logging.h>

#include "absl/flags/flag.h"
#include "base/process.h"
#include "devbroker/dev_broker.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "address to listen on");
ABSL_FLAG(int, port, 9092, "bootstrap port clients connect to");
ABSL_FLAG(int, brokers_count, 1, "mock brokers in the cluster");
ABSL_FLAG(int, partitions, 6, "partitions of each contract topic");

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis = "dev_broker [--port=9092] [--partitions=6]";
  usage.description =
      "The in-memory development broker (librdkafka's mock cluster) with\n"
      "every contract topic; for development only: its data is lost on exit.\n";
  herald::InitProcess(argc, argv, usage);

  herald::devbroker::DevBrokerOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.num_brokers = absl::GetFlag(FLAGS_brokers_count);
  options.partitions = absl::GetFlag(FLAGS_partitions);
  auto broker = herald::devbroker::DevBroker::Start(options);
  if (!broker.ok()) {
    LOG(ERROR) << "cannot start the development broker: " << broker.status();
    return 1;
  }
  herald::WaitForStopSignal();
  LOG(INFO) << "development broker stopping";
  return 0;
}
