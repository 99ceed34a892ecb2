#include "base/trace_context.h"

#include <cstring>
#include <utility>

#include "absl/random/random.h"

namespace herald {
namespace trace {
namespace {

thread_local const Context* current = nullptr;

constexpr char kHex[] = "0123456789abcdef";

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZeros(absl::string_view text) {
  return text.find_first_not_of('0') == absl::string_view::npos;
}

// Random lowercase hex, never all zeros (which W3C reserves as invalid).
void RandomHex(char* out, size_t size) {
  thread_local absl::BitGen random;
  do {
    for (size_t i = 0; i < size; i += 16) {
      uint64_t bits = absl::Uniform<uint64_t>(random);
      for (size_t j = i; j < i + 16 && j < size; ++j) {
        out[j] = kHex[bits & 0xf];
        bits >>= 4;
      }
    }
  } while (AllZeros(absl::string_view(out, size)));
}

}  // namespace

std::string Context::Traceparent() const {
  std::string out = "00-";
  out.append(trace_id_, 32).append("-").append(span_id_, 16).append("-");
  out.push_back(kHex[flags_ >> 4]);
  out.push_back(kHex[flags_ & 0xf]);
  return out;
}

std::optional<Context> Parse(absl::string_view traceparent,
                             absl::string_view tracestate) {
  // version-traceid-parentid-flags; a version above 00 may append fields.
  if (traceparent.size() < 55 || traceparent[2] != '-' ||
      traceparent[35] != '-' || traceparent[52] != '-') {
    return std::nullopt;
  }
  const absl::string_view version = traceparent.substr(0, 2);
  const absl::string_view trace_id = traceparent.substr(3, 32);
  const absl::string_view span_id = traceparent.substr(36, 16);
  const absl::string_view flags = traceparent.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace_id) ||
      !IsLowerHex(span_id) || !IsLowerHex(flags) || AllZeros(trace_id) ||
      AllZeros(span_id)) {
    return std::nullopt;
  }
  if (version == "00" ? traceparent.size() != 55
                      : traceparent.size() > 55 && traceparent[55] != '-') {
    return std::nullopt;
  }
  Context context;
  trace_id.copy(context.trace_id_, 32);
  span_id.copy(context.span_id_, 16);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  context.flags_ =
      static_cast<uint8_t>(nibble(flags[0]) << 4 | nibble(flags[1]));
  if (tracestate.size() <= 512) context.tracestate_ = std::string(tracestate);
  return context;
}

Context NewRoot() {
  Context context;
  RandomHex(context.trace_id_, 32);
  RandomHex(context.span_id_, 16);
  return context;
}

Context ChildOf(const Context& parent) {
  Context child = parent;
  RandomHex(child.span_id_, 16);
  return child;
}

size_t WriteChildTraceparent(const Context& parent, char* out) {
  std::memcpy(out, "00-", 3);
  std::memcpy(out + 3, parent.trace_id().data(), 32);
  out[35] = '-';
  RandomHex(out + 36, 16);
  out[52] = '-';
  out[53] = kHex[parent.flags() >> 4];
  out[54] = kHex[parent.flags() & 0xf];
  return kTraceparentSize;
}

const Context* Current() { return current; }

Scope::Scope(Context context)
    : context_(std::move(context)), previous_(current) {
  current = &*context_;
}

Scope::Scope(std::optional<absl::string_view> traceparent,
             std::optional<absl::string_view> tracestate)
    : previous_(current) {
  if (traceparent.has_value()) {
    context_ = Parse(*traceparent, tracestate.value_or(""));
  }
  current = context_.has_value() ? &*context_ : nullptr;
}

Scope::~Scope() { current = previous_; }

}  // namespace trace
}  // namespace herald
