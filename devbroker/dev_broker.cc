#include "devbroker/dev_broker.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/contract.h"
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
  // Every message with a topic in the contract files (contracts/v1), one
  // message of each file standing for its file.
  std::vector<std::string> topics;
  for (const google::protobuf::Descriptor* in_file :
       {contracts::v1::PaymentCreated::descriptor(),
        contracts::v1::UserRegistered::descriptor(),
        contracts::v1::EmailNotification::descriptor(),
        contracts::v1::RealtimeMessage::descriptor()}) {
    const google::protobuf::FileDescriptor& file = *in_file->file();
    for (int i = 0; i < file.message_type_count(); ++i) {
      absl::StatusOr<const Contract*> contract =
          ContractOf(*file.message_type(i));
      if (!contract.ok()) continue;  // a message that is no event
      const std::string& topic = (*contract)->topic;
      if (std::find(topics.begin(), topics.end(), topic) != topics.end()) {
        continue;
      }
      topics.push_back(topic);
      topics.push_back(absl::StrCat(topic, dlt::kTopicSuffix));
    }
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
