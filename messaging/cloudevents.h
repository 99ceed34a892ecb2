// File: messaging/cloudevents.h
//
// The CloudEvents Kafka protocol binding (binary mode) as Herald writes it:
// every record carries these headers and its value is the Protobuf encoding.
//
// clang-format off
//   ce_specversion  1.0
//   ce_id           a random UUID (version 4), unique per event
//   ce_type         the full Protobuf message name,
//                   e.g. herald.contracts.v1.PaymentCreated
//   ce_source       the sending service (Config::service)
//   ce_time         RFC 3339 UTC time with milliseconds
//   content-type    application/protobuf
// clang-format on
#ifndef HERALD_MESSAGING_CLOUDEVENTS_H_
#define HERALD_MESSAGING_CLOUDEVENTS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/trace_context.h"

namespace herald {

// A Kafka record header; the value may hold any bytes.
using Header = std::pair<std::string, std::string>;
using Headers = std::vector<Header>;

namespace ce {
inline constexpr char kSpecVersion[] = "ce_specversion";
inline constexpr char kId[] = "ce_id";
inline constexpr char kType[] = "ce_type";
inline constexpr char kSource[] = "ce_source";
inline constexpr char kTime[] = "ce_time";
inline constexpr char kContentType[] = "content-type";
inline constexpr char kSpecVersionValue[] = "1.0";
inline constexpr char kProtobufContentType[] = "application/protobuf";
}  // namespace ce

// NewEventId()
//
// A random version-4 UUID in canonical text form (36 characters).
std::string NewEventId();
inline constexpr size_t kEventIdSize = 36;
// Writes a new event id into `out` (exactly kEventIdSize chars, no NUL).
void WriteEventId(char* out);

// FormatEventTime()
//
// `time` as RFC 3339 in UTC with milliseconds: "2026-11-24T06:25:56.123Z".
std::string FormatEventTime(absl::Time time);
inline constexpr size_t kEventTimeMaxSize = 32;
// Writes FormatEventTime(time) into `out` (up to kEventTimeMaxSize chars, no
// NUL) and returns its length.
size_t WriteEventTime(absl::Time time, char* out);

// ParseEventTime()
//
// Parses any RFC 3339 time (offsets and fractional seconds allowed), and
// nothing else: InvalidArgument otherwise.
absl::StatusOr<absl::Time> ParseEventTime(absl::string_view text);

// ForEachEventHeader()
//
// Calls `add(name, value)` for each CloudEvents header of one event, in the
// order Herald writes them, then `traceparent` and `tracestate`. The one list
// of those headers: EncodeEvent and the producer's send path both build theirs
// from it.
template <typename Add>
void ForEachEventHeader(absl::string_view id, absl::string_view type,
                        absl::string_view source, absl::string_view time,
                        Add add) {
  add(ce::kSpecVersion, ce::kSpecVersionValue);
  add(ce::kId, id);
  add(ce::kType, type);
  add(ce::kSource, source);
  add(ce::kTime, time);
  add(ce::kContentType, ce::kProtobufContentType);
  // W3C trace context: a child of the request or record this thread works
  // for (base/trace_context.h), when it has one.
  if (const trace::Context* parent = trace::Current()) {
    char traceparent[trace::kTraceparentSize];
    add(trace::kTraceparent,
        absl::string_view(traceparent,
                          trace::WriteChildTraceparent(*parent, traceparent)));
    if (!parent->tracestate().empty()) {
      add(trace::kTracestate, parent->tracestate());
    }
  }
}

// FindHeader()
//
// The value of the last header named `name`, or nullptr.
const std::string* FindHeader(const Headers& headers, absl::string_view name);

}  // namespace herald

#endif  // HERALD_MESSAGING_CLOUDEVENTS_H_
