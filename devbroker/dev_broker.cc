#include "devbroker/dev_broker.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "messaging/contract_topics.h"
#include "messaging/dead_letter.h"
#include "messaging/mock_cluster.h"
#include "web/tcp_forwarder.h"

namespace herald {
namespace devbroker {

class DevBroker::Impl {
 public:
  Impl(std::unique_ptr<MockCluster> cluster,
       std::unique_ptr<web::TcpForwarder> forwarder)
      : cluster_(std::move(cluster)), forwarder_(std::move(forwarder)) {}

  std::string address() const { return forwarder_->address(); }

 private:
  // Destroyed in reverse order: the forwarder stops before the brokers.
  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<web::TcpForwarder> forwarder_;
};

std::vector<std::string> DefaultTopics() {
  std::vector<std::string> topics;
  for (const std::string& topic : ContractTopics()) {
    topics.push_back(topic);
    topics.push_back(absl::StrCat(topic, dlt::kTopicSuffix));
  }
  return topics;
}

absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(
    const DevBrokerOptions& options) {
  // Check first: the mock cluster itself aborts on a failed bind.
  if (options.port != 0 && web::IsListening(options.host, options.port)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "port ", options.port, " on ", options.host, " is in use"));
  }
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster =
      MockCluster::Start(options.num_brokers);
  if (!cluster.ok()) return cluster.status();
  for (const std::string& topic :
       options.topics.empty() ? DefaultTopics() : options.topics) {
    absl::Status s = (*cluster)->CreateTopic(topic, options.partitions,
                                             std::min(options.num_brokers, 3));
    if (!s.ok()) return s;
  }
  // Forwarded connections go to the first mock broker; clients then follow
  // the cluster metadata to the others.
  std::string first_broker(
      *absl::StrSplit((*cluster)->bootstrap_servers(), ',').begin());
  absl::StatusOr<std::unique_ptr<web::TcpForwarder>> forwarder =
      web::TcpForwarder::Start(options.host, options.port, first_broker);
  if (!forwarder.ok()) return forwarder.status();
  auto impl =
      std::make_unique<Impl>(*std::move(cluster), *std::move(forwarder));
  LOG(INFO) << "development broker (in-memory, for development only; data is "
               "lost on exit) listening on "
            << impl->address();
  return std::unique_ptr<DevBroker>(new DevBroker(std::move(impl)));
}

DevBroker::DevBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DevBroker::~DevBroker() = default;
std::string DevBroker::address() const { return impl_->address(); }

}  // namespace devbroker
}  // namespace herald
