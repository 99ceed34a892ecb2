// File: base/trace_context.h
//
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the
// `traceparent` and `tracestate` that follow a request from the gateway's
// HTTP API through the outbox and Kafka to the workers, and on into the
// events their handlers send.
//
//   traceparent: 00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>
//
// Each thread has the trace of the request or record it is working for:
// the gateway sets it for an API request (the caller's, or a new root),
// the consumer for each record a handler runs on (the record's), and what
// the thread sends (EncodeEvent, the outbox) carries it as a child: the
// same trace id, a new span id. Log lines show its trace id
// (base/log_format.h).
//
// Example:
//
//   std::optional<trace::Context> caller =
//       trace::Parse(request.Header("traceparent").value_or(""),
//                    request.Header("tracestate").value_or(""));
//   trace::Scope scope(caller ? trace::ChildOf(*caller) : trace::NewRoot());
//   ... trace::Current()->trace_id() ...
#ifndef HERALD_BASE_TRACE_CONTEXT_H_
#define HERALD_BASE_TRACE_CONTEXT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace herald {
namespace trace {

inline constexpr char kTraceparent[] = "traceparent";
inline constexpr char kTracestate[] = "tracestate";

class Context {
 public:
  absl::string_view trace_id() const { return {trace_id_, 32}; }
  absl::string_view span_id() const { return {span_id_, 16}; }
  uint8_t flags() const { return flags_; }
  const std::string& tracestate() const { return tracestate_; }

  // "00-<trace id>-<span id>-<flags>".
  std::string Traceparent() const;

 private:
  friend std::optional<Context> Parse(absl::string_view, absl::string_view);
  friend Context NewRoot();
  friend Context ChildOf(const Context&);
  char trace_id_[32];  // lowercase hex, not all zeros
  char span_id_[16];   // lowercase hex, not all zeros
  uint8_t flags_ = 1;  // 01: sampled
  std::string tracestate_;
};

// A valid traceparent (version 00, or a later version read as 00 allows),
// with its tracestate (kept as it is, up to 512 bytes; longer is dropped);
// nullopt for anything else (the caller then starts a new root).
std::optional<Context> Parse(absl::string_view traceparent,
                             absl::string_view tracestate = "");

// A new trace: random trace and span ids, sampled.
Context NewRoot();

// The same trace, flags and tracestate, with a new span id.
Context ChildOf(const Context& parent);

// ChildOf(parent).Traceparent() written into `out`, without allocating;
// returns kTraceparentSize.
inline constexpr size_t kTraceparentSize = 55;
size_t WriteChildTraceparent(const Context& parent, char* out);

// The trace this thread works for, or null.
const Context* Current();

// Makes `context` this thread's Current() until destroyed (then restores
// the one before).
class Scope {
 public:
  explicit Scope(Context context);
  // From a record's or request's headers: Current() is null while this
  // scope lives when `traceparent` is not valid.
  Scope(std::optional<absl::string_view> traceparent,
        std::optional<absl::string_view> tracestate);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  std::optional<Context> context_;
  const Context* previous_;
};

}  // namespace trace
}  // namespace herald

#endif  // HERALD_BASE_TRACE_CONTEXT_H_
