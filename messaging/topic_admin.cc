#include "messaging/topic_admin.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "messaging/internal/kafka.h"
#include "messaging/topics.h"

namespace herald {
namespace {

// Owns what a CreateTopics call allocates.
struct CreateCall {
  rd_kafka_t* rk = nullptr;
  std::vector<rd_kafka_NewTopic_t*> topics;
  rd_kafka_AdminOptions_t* options = nullptr;
  rd_kafka_queue_t* queue = nullptr;
  rd_kafka_event_t* event = nullptr;
  ~CreateCall() {
    if (event != nullptr) rd_kafka_event_destroy(event);
    if (!topics.empty()) {
      rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
    }
    if (options != nullptr) rd_kafka_AdminOptions_destroy(options);
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

}  // namespace

absl::StatusOr<EnsuredTopics> EnsureTopics(const Config& config,
                                           const std::vector<TopicSpec>& specs,
                                           absl::Duration timeout) {
  // All topics at once: asking for one by name would auto-create it on
  // clusters that allow that, with the broker's defaults.
  absl::StatusOr<std::vector<TopicInfo>> listed = ListTopics(config, timeout);
  if (!listed.ok()) return listed.status();
  std::set<std::string> present;
  for (const TopicInfo& topic : *listed) present.insert(topic.name);

  EnsuredTopics result;
  std::vector<const TopicSpec*> missing;
  for (const TopicSpec& spec : specs) {
    if (present.count(spec.name) > 0) {
      result.existed.push_back(spec.name);
    } else {
      missing.push_back(&spec);
    }
  }
  if (missing.empty()) return result;

  absl::StatusOr<kafka_internal::ConfPtr> conf =
      kafka_internal::NewConf(config, kafka_internal::ClientKind::kProducer);
  if (!conf.ok()) return conf.status();
  CreateCall call;
  char error[512];
  call.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), error, sizeof(error));
  if (call.rk == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create Kafka client: ",
                     kafka_internal::RedactKafkaText(error)));
  }
  conf->release();  // owned by rk now
  for (const TopicSpec* spec : missing) {
    rd_kafka_NewTopic_t* topic =
        rd_kafka_NewTopic_new(spec->name.c_str(), spec->partitions,
                              spec->replication, error, sizeof(error));
    if (topic == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("topic ", spec->name, ": ", error));
    }
    call.topics.push_back(topic);
    if (spec->retention.has_value()) {
      std::string ms =
          absl::StrCat(absl::ToInt64Milliseconds(*spec->retention));
      rd_kafka_resp_err_t err =
          rd_kafka_NewTopic_set_config(topic, "retention.ms", ms.c_str());
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return kafka_internal::ToStatus(err, "retention.ms");
      }
    }
  }
  std::vector<std::string> names;
  for (const TopicSpec* spec : missing) names.push_back(spec->name);
  const std::string what =
      absl::StrCat("creating topics ", absl::StrJoin(names, ", "));
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  call.options =
      rd_kafka_AdminOptions_new(call.rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(call.options, timeout_ms, error,
                                            sizeof(error));
  rd_kafka_AdminOptions_set_operation_timeout(call.options, timeout_ms, error,
                                              sizeof(error));
  call.queue = rd_kafka_queue_new(call.rk);
  rd_kafka_CreateTopics(call.rk, call.topics.data(), call.topics.size(),
                        call.options, call.queue);
  call.event = rd_kafka_queue_poll(call.queue, timeout_ms + 1000);
  if (call.event == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat(
        what, ": no answer within ", absl::FormatDuration(timeout)));
  }
  if (rd_kafka_event_error(call.event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_internal::ToStatus(
        rd_kafka_event_error(call.event),
        absl::StrCat(what, ": ", rd_kafka_event_error_string(call.event)));
  }
  const rd_kafka_CreateTopics_result_t* created =
      rd_kafka_event_CreateTopics_result(call.event);
  size_t count = 0;
  const rd_kafka_topic_result_t** topics =
      rd_kafka_CreateTopics_result_topics(created, &count);
  std::vector<std::string> failures;
  for (size_t i = 0; i < count; ++i) {
    const std::string name = rd_kafka_topic_result_name(topics[i]);
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(topics[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      result.created.push_back(name);
    } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      result.existed.push_back(name);  // created meanwhile by someone else
    } else {
      const char* why = rd_kafka_topic_result_error_string(topics[i]);
      failures.push_back(absl::StrCat(
          name, ": ", why != nullptr ? why : rd_kafka_err2str(err)));
    }
  }
  if (!failures.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create ", absl::StrJoin(failures, "; "),
        result.created.empty()
            ? ""
            : absl::StrCat(" (created: ", absl::StrJoin(result.created, ", "),
                           ")")));
  }
  return result;
}

}  // namespace herald
