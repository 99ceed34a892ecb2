#include "messaging/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <vector>

#include "absl/strings/str_cat.h"

namespace herald {

struct MockCluster::Handles {
  rd_kafka_t* rk = nullptr;  // owns the mock cluster's threads
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Handles() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

absl::StatusOr<std::unique_ptr<MockCluster>> MockCluster::Start(
    int num_brokers) {
  if (num_brokers < 1) {
    return absl::InvalidArgumentError("a cluster needs at least one broker");
  }
  auto handles = std::make_unique<Handles>();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  // Keep the owning client quiet: it never connects anywhere.
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
  handles->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (handles->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(
        absl::StrCat("cannot create the mock cluster's client: ", error));
  }
  handles->cluster = rd_kafka_mock_cluster_new(handles->rk, num_brokers);
  if (handles->cluster == nullptr) {
    return absl::InternalError("cannot start the mock Kafka cluster");
  }
  auto cluster =
      std::unique_ptr<MockCluster>(new MockCluster(std::move(handles)));
  return cluster;
}

MockCluster::MockCluster(std::unique_ptr<Handles> handles)
    : handles_(std::move(handles)),
      bootstrap_(rd_kafka_mock_cluster_bootstraps(handles_->cluster)) {}

MockCluster::~MockCluster() = default;

absl::Status MockCluster::CreateTopic(absl::string_view topic, int partitions,
                                      int replication_factor) {
  std::string name(topic);
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
      handles_->cluster, name.c_str(), partitions, replication_factor);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("cannot create topic ", topic, ": ",
                                            rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status MockCluster::SetBrokerDown(int32_t broker_id) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_broker_set_down(handles_->cluster, broker_id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker ", broker_id, ": ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status MockCluster::SetBrokerUp(int32_t broker_id) {
  rd_kafka_resp_err_t err =
      rd_kafka_mock_broker_set_up(handles_->cluster, broker_id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker ", broker_id, ": ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status MockCluster::SetPartitionLeader(absl::string_view topic,
                                             int32_t partition,
                                             int32_t broker_id) {
  std::string name(topic);
  rd_kafka_resp_err_t err = rd_kafka_mock_partition_set_leader(
      handles_->cluster, name.c_str(), partition, broker_id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat(topic, "/", partition, " to broker ", broker_id, ": ",
                     rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

namespace {
constexpr int16_t kProduceApiKey = 0;
}  // namespace

absl::Status MockCluster::FailProduces(int32_t broker_id, int count,
                                       KafkaError error) {
  // The mock takes (error, rtt_ms) pairs as varargs: one call per error.
  for (int i = 0; i < count; ++i) {
    rd_kafka_resp_err_t err = rd_kafka_mock_broker_push_request_error_rtts(
        handles_->cluster, broker_id, kProduceApiKey, 1,
        static_cast<rd_kafka_resp_err_t>(error), 0);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InvalidArgumentError(
          absl::StrCat("broker ", broker_id, ": ", rd_kafka_err2str(err)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> MockCluster::PendingProduceFailures(int32_t broker_id) {
  size_t count = 0;
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_error_stack_cnt(
      handles_->cluster, broker_id, kProduceApiKey, &count);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat("broker ", broker_id, ": ", rd_kafka_err2str(err)));
  }
  return static_cast<int>(count);
}

void MockCluster::FailNextProduces(int count, KafkaError error) {
  if (count <= 0) return;
  std::vector<rd_kafka_resp_err_t> errors(
      static_cast<size_t>(count), static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(handles_->cluster, kProduceApiKey,
                                          errors.size(), errors.data());
}

}  // namespace herald
