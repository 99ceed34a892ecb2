// File: workers/realtime/channels.h
//
// What the realtime worker broadcasts, and to whom:
//   - RealtimeMessage (realtime.messages): to its channel, as it is;
//   - PaymentCreated, PaymentUpdated: to `user.<user_id>` (with the
//     reason of an update) and to `public.payments` (no user id, no reason);
//   - UserRegistered: to `public.users` (no email, no name: public
//     channels carry no personal data).
// Channel names: messaging/realtime/channel.h (CheckChannel, shared with
// the gateway and heraldctl).
//
// Example:
//
//   for (const Delivery& d : DeliveriesOf(record)) Broadcast(d);
#ifndef HERALD_WORKERS_REALTIME_CHANNELS_H_
#define HERALD_WORKERS_REALTIME_CHANNELS_H_

#include <string>
#include <vector>

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

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_REALTIME_CHANNELS_H_
