// File: base/json_string.h
//
// Text as a JSON string literal, for every place that writes JSON by hand
// (HTTP error bodies, realtime frames, JSON log lines): one escaping rule,
// and the result is always valid JSON, whatever bytes came in.
//
// Example:
//
//   std::string body = absl::StrCat("{\"name\":", herald::JsonQuote(name),
//   "}");
#ifndef HERALD_BASE_JSON_STRING_H_
#define HERALD_BASE_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace herald {

// `text` as a JSON string literal, quotes included. Bytes that are not
// valid UTF-8 (e.g. echoed from a request) become \ufffd (U+FFFD).
std::string JsonQuote(absl::string_view text);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or
// code points beyond U+10FFFF).
bool IsValidUtf8(absl::string_view text);

}  // namespace herald

#endif  // HERALD_BASE_JSON_STRING_H_
