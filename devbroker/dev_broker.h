// File: devbroker/dev_broker.h
//
// The in-memory development broker: librdkafka's mock cluster, reachable at
// a fixed loopback address (default 127.0.0.1:9092) with the contract topics
// and their dead-letter topics created. The mock brokers listen on ephemeral
// ports (librdkafka 2.0.2 cannot choose them), so a small TCP forwarder owns
// the fixed port; clients bootstrap through it and then follow the cluster
// metadata to the brokers themselves (web/tcp_forwarder.h). For development
// only: data lives in memory and is lost on exit.
//
// Example:
//
//   herald::devbroker::DevBrokerOptions options;   // 127.0.0.1:9092
//   auto broker = herald::devbroker::DevBroker::Start(options);
//   if (!broker.ok()) return broker.status();  // e.g. port in use
//   config.brokers = (*broker)->address();
#ifndef HERALD_DEVBROKER_DEV_BROKER_H_
#define HERALD_DEVBROKER_DEV_BROKER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace herald {
namespace devbroker {

struct DevBrokerOptions {
  std::string host = "127.0.0.1";
  int port = 9092;
  int num_brokers = 1;
  int partitions = 6;
  // Created at start (with `partitions` each); empty = the contract topics
  // and their `.dlq` topics.
  std::vector<std::string> topics;
};

class DevBroker {
 public:
  // FailedPrecondition when the port is taken (nothing is aborted).
  static absl::StatusOr<std::unique_ptr<DevBroker>> Start(
      const DevBrokerOptions& options);
  ~DevBroker();

  // "host:port", the fixed bootstrap address.
  std::string address() const;

 private:
  class Impl;
  explicit DevBroker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The topics a development broker creates by default: every contract's
// topic (contracts/v1) and its `.dlq`, so that no client waits for a topic
// to appear when it is first written.
std::vector<std::string> DefaultTopics();

}  // namespace devbroker
}  // namespace herald

#endif  // HERALD_DEVBROKER_DEV_BROKER_H_
