// File: workers/realtime/channels.h
//
// What the realtime worker broadcasts, and to whom:
//   - RealtimeMessage (realtime.messages): to its channel, as it is;
//   - PaymentCreated, PaymentUpdated: to `user.<user_id>` (with the
//     reason of an update) and to `public.payments` (no user id, no reason);
//   - UserRegistered: to `public.users` (no email, no name: public
//     channels carry no personal data).
// Channel names: `public.<name>` (open) or `user.<user_id>` (a token for
// that user), letters, digits and "._-:" (at most 200 bytes).
//
// Example:
//
//   for (const Delivery& d : DeliveriesOf(record)) Broadcast(d);
#ifndef HERALD_WORKERS_REALTIME_CHANNELS_H_
#define HERALD_WORKERS_REALTIME_CHANNELS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "messaging/tail_reader.h"

namespace herald {
namespace workers {

// One message for the clients of one channel.
struct Delivery {
  std::string channel;
  std::string event;      // "payment.created", or a RealtimeMessage's event
  std::string data_json;  // one JSON value
};

// The topics the worker reads.
std::vector<std::string> RealtimeTopics();

// What `record` (of one of RealtimeTopics()) sends to which channel; empty
// for a record that does not decode or names a bad channel.
std::vector<Delivery> DeliveriesOf(const TailRecord& record);

// OK for a well-formed channel name; InvalidArgument otherwise.
absl::Status CheckChannel(absl::string_view channel);

// The user of a `user.<id>` channel, or "" for any other.
absl::string_view UserOfChannel(absl::string_view channel);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_REALTIME_CHANNELS_H_
