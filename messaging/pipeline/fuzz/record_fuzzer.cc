// Fuzz target: the consumer's decode of an arbitrary record, value and
// headers (messaging/pipeline/decode.h, the ce_time of messaging/metadata.h)
// and the dead-letter record an undecodable one becomes
// (messaging/dead_letter.h).
//
// Input: header names and values separated by 0x1f (name, value, name, ...),
// then 0x1e, then the record's value (any bytes). librdkafka's own parsing
// of the wire format is not covered: the consumer sees the headers as
// librdkafka hands them over, the last of each name winning (FindHeader).
//
// Properties, for each contract type as the subscribed type:
//   - the record decodes, or is undecodable with InvalidArgument and a
//     reason; a ce_type naming another type is always undecodable;
//   - a decoded event serializes to bytes that decode to the same event;
//   - its dead-letter record keeps the key, value and original headers in
//     order and adds provenance headers that read back as written;
//   - ce_time parses to a finite time or is refused with a reason; a time
//     Herald can write (years 1 to 9999) reads back to the millisecond.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/testing/fuzz_check.h"
#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "messaging/cloudevents.h"
#include "messaging/dead_letter.h"
#include "messaging/pipeline/decode.h"

namespace herald {
namespace {

struct Record {
  Headers headers;
  std::string value;
};

Record Split(absl::string_view input) {
  Record record;
  const size_t end = input.find('\x1e');
  if (end != absl::string_view::npos) {
    record.value = std::string(input.substr(end + 1));
    input = input.substr(0, end);
  }
  std::vector<absl::string_view> fields = absl::StrSplit(input, '\x1f');
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    record.headers.emplace_back(fields[i], fields[i + 1]);
  }
  return record;
}

absl::string_view LastHeader(const Headers& headers, absl::string_view name) {
  const std::string* value = FindHeader(headers, name);
  return value == nullptr ? absl::string_view() : absl::string_view(*value);
}

void CheckDeadLetter(const Record& record, const absl::Status& reason,
                     absl::string_view topic) {
  FailedRecord failed;
  failed.topic = std::string(topic);
  failed.partition = 3;
  failed.offset = 1234567890123;
  failed.timestamp_ms = -1;
  failed.consumer_group = "fuzz";
  failed.key = "key";
  failed.value = record.value;
  failed.headers = record.headers;
  failed.error = reason;
  const OutgoingMessage dead = DeadLetterRecord(failed);
  FUZZ_CHECK(dead.topic == std::string(topic) + dlt::kTopicSuffix)
      << dead.topic;
  FUZZ_CHECK(dead.key == failed.key && dead.value == record.value);
  FUZZ_CHECK(dead.headers.size() > record.headers.size());
  FUZZ_CHECK(Headers(dead.headers.begin(),
                     dead.headers.begin() + record.headers.size()) ==
             record.headers)
      << "original headers not kept in order";
  FUZZ_CHECK(dead.event_id == LastHeader(record.headers, ce::kId));
  // A record read back from a dead-letter topic may carry provenance headers
  // already: the last of each name is this failure's.
  FUZZ_CHECK(LastHeader(dead.headers, dlt::kOriginalTopic) == topic);
  FUZZ_CHECK(DecodeBigEndian32(LastHeader(
                 dead.headers, dlt::kOriginalPartition)) == failed.partition);
  FUZZ_CHECK(DecodeBigEndian64(LastHeader(
                 dead.headers, dlt::kOriginalOffset)) == failed.offset);
  FUZZ_CHECK(
      DecodeBigEndian64(LastHeader(dead.headers, dlt::kOriginalTimestamp)) ==
      failed.timestamp_ms);
  FUZZ_CHECK(LastHeader(dead.headers, dlt::kExceptionMessage) ==
             reason.message());
}

void CheckDecode(const Record& record, google::protobuf::Message& event,
                 absl::string_view topic) {
  const absl::string_view type = LastHeader(record.headers, ce::kType);
  const absl::Status decoded = pipeline::DecodeEvent(type, record.value, event);
  const std::string& name = event.GetDescriptor()->full_name();
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.code() == absl::StatusCode::kInvalidArgument) << decoded;
    FUZZ_CHECK(!decoded.message().empty());
    CheckDeadLetter(record, decoded, topic);
    return;
  }
  FUZZ_CHECK(type.empty() || type == name)
      << "decoded despite ce_type " << type;
  std::unique_ptr<google::protobuf::Message> again(event.New());
  FUZZ_CHECK(
      pipeline::DecodeEvent(name, event.SerializeAsString(), *again).ok());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(event, *again))
      << name << " does not survive a re-encoding";
}

void CheckEventTime(const Record& record) {
  const std::string* text = FindHeader(record.headers, ce::kTime);
  if (text == nullptr) return;
  const absl::StatusOr<absl::Time> time = ParseEventTime(*text);
  if (!time.ok()) {
    FUZZ_CHECK(time.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!time.status().message().empty());
    return;
  }
  // Four-digit years, give or take a day of UTC offset.
  const absl::CivilYear year = absl::ToCivilYear(*time, absl::UTCTimeZone());
  FUZZ_CHECK(year.year() >= -1 && year.year() <= 10000)
      << *text << " is not an RFC 3339 time";
  const absl::Time earliest =
      absl::FromCivil(absl::CivilSecond(1, 1, 1), absl::UTCTimeZone());
  const absl::Time latest = absl::FromCivil(
      absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone());
  if (*time < earliest || *time > latest) return;
  const absl::Time millis = absl::FromUnixMillis(absl::ToUnixMillis(*time));
  const absl::StatusOr<absl::Time> again =
      ParseEventTime(FormatEventTime(*time));
  FUZZ_CHECK(again.ok()) << FormatEventTime(*time) << ": " << again.status();
  FUZZ_CHECK(*again == millis)
      << *text << " -> " << FormatEventTime(*time) << " -> " << *again;
}

}  // namespace
}  // namespace herald

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald;  // NOLINT: one target, one namespace
  const Record record =
      Split(absl::string_view(reinterpret_cast<const char*>(data), size));
  contracts::v1::PaymentCreated payment_created;
  contracts::v1::PaymentUpdated payment_updated;
  contracts::v1::UserRegistered user_registered;
  contracts::v1::EmailNotification email;
  CheckDecode(record, payment_created, "payment.created");
  CheckDecode(record, payment_updated, "payment.updated");
  CheckDecode(record, user_registered, "user.registered");
  CheckDecode(record, email, "notification.email");
  CheckEventTime(record);
  return 0;
}
