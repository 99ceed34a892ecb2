#include "messaging/metadata.h"

#include <librdkafka/rdkafka.h>

#include "messaging/internal/kafka.h"

namespace herald {
namespace {

rd_kafka_headers_t* HeadersOf(const void* record) {
  if (record == nullptr) return nullptr;
  rd_kafka_headers_t* headers = nullptr;
  // Headers are parsed lazily by librdkafka; the record stays ours.
  if (rd_kafka_message_headers(static_cast<const rd_kafka_message_t*>(record),
                               &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return nullptr;
  }
  return headers;
}

}  // namespace

std::optional<absl::string_view> Metadata::Header(
    absl::string_view name) const {
  rd_kafka_headers_t* headers = HeadersOf(record_);
  if (headers == nullptr) return std::nullopt;
  const void* value;
  size_t size;
  std::string n(name);
  if (rd_kafka_header_get_last(headers, n.c_str(), &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  if (value == nullptr) return absl::string_view();
  return absl::string_view(static_cast<const char*>(value), size);
}

Headers Metadata::AllHeaders() const {
  return kafka_internal::AllHeaders(
      static_cast<const rd_kafka_message_t*>(record_));
}

absl::Time Metadata::EventTime() const {
  std::optional<absl::string_view> text = Header(ce::kTime);
  if (text.has_value()) {
    absl::StatusOr<absl::Time> time = ParseEventTime(*text);
    if (time.ok()) return *time;
  }
  return timestamp;
}

std::optional<trace::Context> Metadata::Trace() const {
  std::optional<absl::string_view> traceparent = TraceparentHeader();
  if (!traceparent.has_value()) return std::nullopt;
  return trace::Parse(*traceparent, TracestateHeader().value_or(""));
}

std::optional<absl::string_view> Metadata::TraceparentHeader() const {
  return trace_read_ ? traceparent_ : Header(trace::kTraceparent);
}

std::optional<absl::string_view> Metadata::TracestateHeader() const {
  return trace_read_ ? tracestate_ : Header(trace::kTracestate);
}

}  // namespace herald
