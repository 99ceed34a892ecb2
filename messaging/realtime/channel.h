// File: messaging/realtime/channel.h
//
// Realtime channel names, one rule for everyone who names a channel: the
// gateway (POST /api/v1/realtime/channels/{channel}/messages), heraldctl and
// the realtime worker (which drops a RealtimeMessage with a bad channel).
//
//   public.<name>     open to every client
//   user.<user_id>    only to clients holding a token for that user
//
// <name> and <user_id>: letters, digits and "._-:", not empty; the whole
// channel at most kMaxChannelBytes bytes. Event names: CheckEventName().
//
// Example:
//
//   absl::Status ok = herald::realtime::CheckChannel("public.news");  // OK
//   herald::realtime::UserOfChannel("user.u42");                      // "u42"
#ifndef HERALD_MESSAGING_REALTIME_CHANNEL_H_
#define HERALD_MESSAGING_REALTIME_CHANNEL_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace realtime {

inline constexpr size_t kMaxChannelBytes = 200;
inline constexpr size_t kMaxEventNameBytes = 100;

// OK for a well-formed channel name; InvalidArgument saying what is wrong
// otherwise.
absl::Status CheckChannel(absl::string_view channel);

// OK for a message's event name: 1 to kMaxEventNameBytes letters, digits
// and "._-:". It becomes an SSE `event:` line, so nothing in it may break
// that line (a line break would let a producer forge events).
absl::Status CheckEventName(absl::string_view event);

// The user of a `user.<id>` channel, or "" for any other.
absl::string_view UserOfChannel(absl::string_view channel);

}  // namespace realtime
}  // namespace herald

#endif  // HERALD_MESSAGING_REALTIME_CHANNEL_H_
