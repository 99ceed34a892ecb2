// File: messaging/internal/kafka.h
//
// The one place that turns a herald::Config into librdkafka configuration and
// librdkafka errors into absl::Status. Private to //messaging: public headers
// never include librdkafka.
#ifndef HERALD_MESSAGING_INTERNAL_KAFKA_H_
#define HERALD_MESSAGING_INTERNAL_KAFKA_H_

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "messaging/cloudevents.h"
#include "messaging/config.h"

namespace herald {
namespace kafka_internal {

enum class ClientKind { kProducer, kConsumer };

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// A librdkafka configuration for `kind` from `config`: Herald's settings first,
// then `config.kafka_properties` untouched. Fails with InvalidArgument naming
// the property when librdkafka rejects one, and when no brokers are set.
absl::StatusOr<ConfPtr> NewConf(const Config& config, ClientKind kind);

// Sets one property, with an error that names it. The value of a
// secret-named property (base/redact.h IsSecretName: sasl.password,
// ssl.key.pem, ...) is never echoed, not even inside librdkafka's own text.
absl::Status SetProperty(rd_kafka_conf_t* conf, absl::string_view name,
                         absl::string_view value);

// `text` from librdkafka (an rd_kafka_new() error, an error callback's
// reason) without the secrets this process gave librdkafka: the values of
// secret-named properties and passwords in broker URLs passed to NewConf().
// librdkafka's log lines (routed into glog by NewConf) get the same.
std::string RedactKafkaText(absl::string_view text);

// Calls `visit(name, value)` for each header of `message`, in order: `name`
// NUL-terminated, `value` empty for a header without one, both librdkafka's
// memory (valid while `message` lives). Inline: the consume path reads every
// record's headers through it.
template <typename Visit>
void ForEachHeader(const rd_kafka_message_t* message, Visit&& visit) {
  rd_kafka_headers_t* headers = nullptr;
  // librdkafka parses headers lazily; `message` stays the caller's.
  if (message == nullptr || rd_kafka_message_headers(message, &headers) !=
                                RD_KAFKA_RESP_ERR_NO_ERROR) {
    return;
  }
  const char* name;
  const void* value;
  size_t size;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
       RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    visit(name, value == nullptr
                    ? absl::string_view()
                    : absl::string_view(static_cast<const char*>(value), size));
  }
}

// Every header of `message`, in order (a header without a value has an
// empty one). Empty when it has none.
Headers AllHeaders(const rd_kafka_message_t* message);

// Maps a librdkafka error to the closest absl code, keeping its text.
absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context);

}  // namespace kafka_internal
}  // namespace herald

#endif  // HERALD_MESSAGING_INTERNAL_KAFKA_H_
