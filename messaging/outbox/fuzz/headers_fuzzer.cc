// Fuzz target: the outbox's header codec (messaging/outbox/outbox_store.h),
// both formats: format 2, which EncodeHeaders writes, and format 1, which
// rows written by earlier versions still hold.
//
// Each input is used twice:
//   1. as stored headers, read back from a row: DecodeHeaders either
//      decodes them or says DataLoss, never crashes; VisitHeaders visits
//      what DecodeHeaders returns; what decodes, encodes again to the same
//      headers;
//   2. as a header list (event id, then names and values, separated by
//      0x1f): it round-trips through format 2 (decode(encode(x)) == x),
//      through format 1, and through an outbox row (ToMessage).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/testing/fuzz_check.h"
#include "messaging/envelope.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace outbox {
namespace {

// Format 1: (u32 name length, name, u32 value length, value)*, little
// endian.
std::string EncodeFormat1(const Headers& headers) {
  std::string out;
  auto put = [&](absl::string_view bytes) {
    const uint32_t n = static_cast<uint32_t>(bytes.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
    out.append(bytes.data(), bytes.size());
  };
  for (const auto& [name, value] : headers) {
    put(name);
    put(value);
  }
  return out;
}

void CheckStored(absl::string_view stored, absl::string_view event_id) {
  const absl::StatusOr<Headers> decoded = DecodeHeaders(stored, event_id);
  Headers visited;
  const absl::Status visit = VisitHeaders(
      stored, event_id, [&](absl::string_view name, absl::string_view value) {
        visited.emplace_back(std::string(name), std::string(value));
      });
  FUZZ_CHECK(visit.code() == decoded.status().code()) << visit;
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == absl::StatusCode::kDataLoss)
        << decoded.status();
    return;
  }
  FUZZ_CHECK(visited == *decoded);
  const absl::StatusOr<Headers> again =
      DecodeHeaders(EncodeHeaders(*decoded, event_id), event_id);
  FUZZ_CHECK(again.ok()) << again.status();
  FUZZ_CHECK(*again == *decoded) << "decoded headers do not re-encode";
}

void CheckRoundTrip(const Headers& headers, const std::string& event_id) {
  const std::string format2 = EncodeHeaders(headers, event_id);
  const absl::StatusOr<Headers> decoded = DecodeHeaders(format2, event_id);
  FUZZ_CHECK(decoded.ok()) << decoded.status();
  FUZZ_CHECK(*decoded == headers) << "format 2 does not round-trip";

  const std::string format1 = EncodeFormat1(headers);
  // Format 1 would read as format 2 only with a name of 64 KiB or more.
  if (!absl::StartsWith(format1, absl::string_view("\xff\xff\x02", 3))) {
    const absl::StatusOr<Headers> old = DecodeHeaders(format1, event_id);
    FUZZ_CHECK(old.ok()) << old.status();
    FUZZ_CHECK(*old == headers) << "format 1 does not round-trip";
  }

  OutgoingMessage message;
  message.topic = "payment.created";
  message.key = "pay_1";
  message.headers = headers;
  message.value = std::string("\x0a\x05pay_1", 7);
  message.event_id = event_id;
  const absl::StatusOr<OutgoingMessage> read =
      ToMessage(PrepareOutboxRow(message));
  FUZZ_CHECK(read.ok()) << read.status();
  FUZZ_CHECK(read->headers == headers && read->topic == message.topic &&
             read->key == message.key && read->value == message.value &&
             read->event_id == event_id)
      << "an outbox row does not give back its message";
}

}  // namespace
}  // namespace outbox
}  // namespace herald

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald;  // NOLINT: one target, one namespace
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<absl::string_view> fields = absl::StrSplit(input, '\x1f');
  const std::string event_id(fields[0]);
  outbox::CheckStored(input, event_id);

  Headers headers;
  for (size_t i = 1; i + 1 < fields.size(); i += 2) {
    headers.emplace_back(fields[i], fields[i + 1]);
  }
  outbox::CheckRoundTrip(headers, event_id);
  return 0;
}
