#include "messaging/cloudevents.h"

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace herald {

void WriteEventId(char* out) {
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  static constexpr char kHex[] = "0123456789abcdef";
  int pos = 0;
  auto put = [&](uint64_t bits) {
    for (int i = 15; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) out[pos++] = '-';
      out[pos++] = kHex[(bits >> (i * 4)) & 0xf];
    }
  };
  put(hi);
  put(lo);
}

std::string NewEventId() {
  std::string id(kEventIdSize, '\0');
  WriteEventId(id.data());
  return id;
}

size_t WriteEventTime(absl::Time time, char* out) {
  // absl::FormatTime goes through the time-zone library; this is on the hot
  // send path, so format the UTC calendar second once per second per thread.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char prefix[kEventTimeMaxSize];
  thread_local size_t prefix_size = 0;
  int64_t millis = absl::ToUnixMillis(time);
  int64_t second = millis >= 0 ? millis / 1000 : (millis - 999) / 1000;
  int ms = static_cast<int>(millis - second * 1000);
  if (second != cached_second) {
    time_t t = static_cast<time_t>(second);
    struct tm tm;
    gmtime_r(&t, &tm);
    int n =
        std::snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                      tm.tm_min, tm.tm_sec);
    prefix_size = std::min<size_t>(n, sizeof(prefix) - 5);
    cached_second = second;
  }
  std::memcpy(out, prefix, prefix_size);
  char* p = out + prefix_size;
  *p++ = '.';
  *p++ = static_cast<char>('0' + ms / 100);
  *p++ = static_cast<char>('0' + ms / 10 % 10);
  *p++ = static_cast<char>('0' + ms % 10);
  *p++ = 'Z';
  return p - out;
}

std::string FormatEventTime(absl::Time time) {
  char out[kEventTimeMaxSize];
  return std::string(out, WriteEventTime(time, out));
}

absl::StatusOr<absl::Time> ParseEventTime(absl::string_view text) {
  // absl::ParseTime also takes years of any length, negative years and
  // whitespace around the time; RFC 3339 has four-digit years and no space.
  if (text.size() < 5 || !absl::ascii_isdigit(text[0]) ||
      !absl::ascii_isdigit(text[1]) || !absl::ascii_isdigit(text[2]) ||
      !absl::ascii_isdigit(text[3]) || text[4] != '-' ||
      absl::ascii_isspace(static_cast<unsigned char>(text.back()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not an RFC 3339 time: expected YYYY-MM-DDTHH:MM:SS"));
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not an RFC 3339 time: ", error));
  }
  // absl::ParseTime also takes "infinite-future" and "infinite-past".
  if (time == absl::InfiniteFuture() || time == absl::InfinitePast()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not an RFC 3339 time"));
  }
  return time;
}

const std::string* FindHeader(const Headers& headers, absl::string_view name) {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->first == name) return &it->second;
  }
  return nullptr;
}

}  // namespace herald
