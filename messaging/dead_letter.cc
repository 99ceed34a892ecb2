#include "messaging/dead_letter.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace herald {
namespace {

std::string BigEndian(uint64_t value, int bytes) {
  std::string out(bytes, '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

}  // namespace

OutgoingMessage DeadLetterRecord(const FailedRecord& failed) {
  OutgoingMessage out;
  out.topic = absl::StrCat(failed.topic, dlt::kTopicSuffix);
  out.key = failed.key;
  out.value = failed.value;
  out.headers = failed.headers;
  if (const std::string* id = FindHeader(failed.headers, ce::kId)) {
    out.event_id = *id;
  }
  out.headers.emplace_back(dlt::kOriginalTopic, failed.topic);
  out.headers.emplace_back(
      dlt::kOriginalPartition,
      BigEndian(static_cast<uint32_t>(failed.partition), 4));
  out.headers.emplace_back(dlt::kOriginalOffset,
                           BigEndian(static_cast<uint64_t>(failed.offset), 8));
  out.headers.emplace_back(
      dlt::kOriginalTimestamp,
      BigEndian(static_cast<uint64_t>(failed.timestamp_ms), 8));
  out.headers.emplace_back(dlt::kOriginalTimestampType, failed.log_append_time
                                                            ? "LogAppendTime"
                                                            : "CreateTime");
  out.headers.emplace_back(dlt::kOriginalConsumerGroup, failed.consumer_group);
  out.headers.emplace_back(dlt::kExceptionFqcn,
                           absl::StatusCodeToString(failed.error.code()));
  out.headers.emplace_back(dlt::kExceptionMessage,
                           std::string(failed.error.message()));
  out.headers.emplace_back(dlt::kAttempts, absl::StrCat(failed.attempts));
  return out;
}

int32_t DecodeBigEndian32(absl::string_view bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < bytes.size() && i < 4; ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return static_cast<int32_t>(v);
}

int64_t DecodeBigEndian64(absl::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return static_cast<int64_t>(v);
}

}  // namespace herald
