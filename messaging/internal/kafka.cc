#include "messaging/internal/kafka.h"

#include <glog/logging.h>

#include <algorithm>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/redact.h"

namespace herald {
namespace kafka_internal {
namespace {

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "none";
}

// Every secret handed to librdkafka in this process, for RedactKafkaText():
// its log and error texts reach us without saying whose client they are.
class Secrets {
 public:
  void Add(std::vector<std::string> secrets) {
    absl::MutexLock lock(&mu_);
    for (std::string& secret : secrets) {
      if (secret.empty()) continue;
      if (std::find(secrets_.begin(), secrets_.end(), secret) ==
          secrets_.end()) {
        secrets_.push_back(std::move(secret));
      }
    }
  }

  std::string Redact(absl::string_view text) {
    absl::MutexLock lock(&mu_);
    return RedactText(text, secrets_);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> secrets_ ABSL_GUARDED_BY(mu_);
};

Secrets& ProcessSecrets() {
  static auto* secrets = new Secrets;
  return *secrets;
}

// Routes librdkafka's own log lines into glog, without secrets.
void LogToGlog(const rd_kafka_t* rk, int level, const char* facility,
               const char* raw_message) {
  const char* name = rk != nullptr ? rd_kafka_name(rk) : "rdkafka";
  const std::string message = RedactKafkaText(raw_message);
  if (level <= 3) {
    LOG(ERROR) << name << " " << facility << ": " << message;
  } else if (level == 4) {
    LOG(WARNING) << name << " " << facility << ": " << message;
  } else if (level <= 6) {
    LOG(INFO) << name << " " << facility << ": " << message;
  } else {
    VLOG(1) << name << " " << facility << ": " << message;
  }
}

}  // namespace

absl::Status SetProperty(rd_kafka_conf_t* conf, absl::string_view name,
                         absl::string_view value) {
  char error[512];
  std::string n(name), v(value);
  if (rd_kafka_conf_set(conf, n.c_str(), v.c_str(), error, sizeof(error)) !=
      RD_KAFKA_CONF_OK) {
    const std::vector<std::string> secrets =
        IsSecretName(name) ? std::vector<std::string>{v} : SecretsIn(v);
    return absl::InvalidArgumentError(absl::StrCat(
        "kafka property '", name, "' = '", RedactValue(name, value),
        "': ", RedactText(error, secrets)));
  }
  return absl::OkStatus();
}

std::string RedactKafkaText(absl::string_view text) {
  return ProcessSecrets().Redact(text);
}

absl::StatusOr<ConfPtr> NewConf(const Config& config, ClientKind kind) {
  if (config.brokers.empty()) {
    return absl::InvalidArgumentError(
        "no Kafka brokers configured: set --brokers, HERALD_BROKERS or "
        "'brokers:' in the config file");
  }
  std::vector<std::string> secrets = SecretsIn(config.brokers);
  for (const auto& [name, value] : config.kafka_properties) {
    if (IsSecretName(name)) secrets.push_back(value);
  }
  ProcessSecrets().Add(std::move(secrets));
  ConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogToGlog);
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", config.brokers},
      {"client.id", config.client_id},
  };
  if (kind == ClientKind::kProducer) {
    const ProducerConfig& p = config.producer;
    props.insert(
        props.end(),
        {
            {"acks", "all"},
            {"enable.idempotence", "true"},
            {"compression.codec", CompressionName(p.compression)},
            {"linger.ms", absl::StrCat(p.linger_ms)},
            {"message.timeout.ms", absl::StrCat(p.delivery_timeout_ms)},
            {"partitioner", p.partitioner},
        });
  } else {
    const ConsumerConfig& c = config.consumer;
    if (c.group_id.empty()) {
      return absl::InvalidArgumentError(
          "no consumer group configured: set consumer.group_id "
          "(HERALD_CONSUMER_GROUP_ID)");
    }
    props.insert(
        props.end(),
        {
            {"group.id", c.group_id},
            // At-least-once: an offset is stored only after its handler
            // succeeded; stored offsets are committed in the background and
            // on close.
            {"enable.auto.commit", "true"},
            {"enable.auto.offset.store", "false"},
            {"auto.commit.interval.ms", absl::StrCat(c.commit_interval_ms)},
            {"auto.offset.reset", c.auto_offset_reset == OffsetReset::kEarliest
                                      ? "earliest"
                                      : "latest"},
            {"session.timeout.ms", absl::StrCat(c.session_timeout_ms)},
            {"heartbeat.interval.ms", absl::StrCat(c.heartbeat_interval_ms)},
            {"fetch.wait.max.ms", absl::StrCat(c.fetch_wait_max_ms)},
        });
  }
  for (const auto& [name, value] : props) {
    absl::Status s = SetProperty(conf.get(), name, value);
    if (!s.ok()) return s;
  }
  for (const auto& [name, value] : config.kafka_properties) {
    absl::Status s = SetProperty(conf.get(), name, value);
    if (!s.ok()) return s;
  }
  return conf;
}

Headers AllHeaders(const rd_kafka_message_t* message) {
  Headers out;
  ForEachHeader(message, [&out](const char* name, absl::string_view value) {
    out.emplace_back(name, std::string(value));
  });
  return out;
}

absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", rd_kafka_err2str(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return absl::ResourceExhaustedError(message);
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
      return absl::DeadlineExceededError(message);
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return absl::CancelledError(message);
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return absl::InvalidArgumentError(message);
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return absl::NotFoundError(message);
    case RD_KAFKA_RESP_ERR__FATAL:
      return absl::InternalError(message);
    default:
      return absl::UnavailableError(message);
  }
}

}  // namespace kafka_internal
}  // namespace herald
