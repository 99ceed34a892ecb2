// File: messaging/handler.h
//
// What a consumer hands records to: a typed handler for one record, or a
// batch handler for several, and a callback for records that cannot be
// decoded. See messaging/consumer.h for subscribing them and
// messaging/retry.h for what their return values mean.
//
// Example:
//
//   herald::Handler<UserRegistered> welcome =
//       [&](const UserRegistered& user, const herald::Metadata& meta) {
//         return mailer.SendWelcome(user);
//       };
#ifndef HERALD_MESSAGING_HANDLER_H_
#define HERALD_MESSAGING_HANDLER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "messaging/metadata.h"

namespace herald {

// A typed event handler. Returning an error means: not handled, retry.
template <typename T>
using Handler = std::function<absl::Status(const T&, const Metadata&)>;

// One record of a batch; both pointers are valid during the handler call.
template <typename T>
struct Received {
  const T* event;
  const Metadata* metadata;
};

// A batch handler: OK settles the whole batch. FailedAt(i, error) settles
// the records before i and retries record i on its own; any other error
// splits the batch to find the record at fault (messaging/retry.h).
template <typename T>
using BatchHandler =
    std::function<absl::Status(const std::vector<Received<T>>&)>;

// A batch is handed over when it holds `max_size` records, or as soon as
// nothing more is coming: what the client has fetched is taken at once, and
// a partial batch waits only while more records are known to be on their
// way (fetched and not yet taken, or on the broker past what was fetched),
// and then at most `max_wait` after its first record arrived. A quiet
// consumer hands each record over at once; under a backlog batches are
// full. (Workers set them with consumer.batch_size and
// consumer.batch_wait_ms.)
struct BatchOptions {
  int max_size = 100;
  absl::Duration max_wait = absl::Milliseconds(50);
};

// A record the consumer could not decode; views valid during the callback.
struct UndecodableRecord {
  absl::string_view topic;
  int32_t partition = -1;
  int64_t offset = -1;
  absl::string_view key;
  absl::string_view value;
  // Why it could not be decoded.
  absl::Status reason;
  // The record itself, for code that needs its headers.
  const Metadata* metadata = nullptr;
};
using UndecodableCallback = std::function<void(const UndecodableRecord&)>;

}  // namespace herald

#endif  // HERALD_MESSAGING_HANDLER_H_
