#include "messaging/realtime/channel.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace herald {
namespace realtime {

absl::Status CheckChannel(absl::string_view channel) {
  absl::string_view name;
  if (absl::StartsWith(channel, "public.")) {
    name = channel.substr(7);
  } else if (absl::StartsWith(channel, "user.")) {
    name = channel.substr(5);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("channel '", channel.substr(0, 64),
                     "' is neither public.<name> nor user.<user_id>"));
  }
  if (name.empty() || channel.size() > kMaxChannelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty or too long channel name (at most ",
                     kMaxChannelBytes, " bytes)"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-' &&
        c != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("channel '", channel.substr(0, 64),
                       "' has a character other than letters, digits, ._-:"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEventName(absl::string_view event) {
  if (event.empty() || event.size() > kMaxEventNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an event name has 1 to ", kMaxEventNameBytes, " characters"));
  }
  for (char c : event) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-' &&
        c != ':') {
      return absl::InvalidArgumentError(
          "an event name may hold only letters, digits and ._-:");
    }
  }
  return absl::OkStatus();
}

absl::string_view UserOfChannel(absl::string_view channel) {
  if (!absl::StartsWith(channel, "user.")) return "";
  return channel.substr(5);
}

}  // namespace realtime
}  // namespace herald
