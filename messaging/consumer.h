// File: messaging/consumer.h
//
// `Consumer` reads typed events from Kafka as one member of a consumer group
// and hands each to the handler subscribed for its topic. Delivery is at least
// once: a record's offset is committed only after its handler returned OK.
//
// - A handler error leaves the offset uncommitted; the record is delivered
//   again after consumer.retry_backoff_ms (records behind it on the same
//   partition wait, so per-key order holds).
// - A record that cannot be decoded as the subscribed type (bad bytes, or a
//   `ce_type` naming another type) is reported to the undecodable callback
//   with its topic/partition/offset and then skipped, so it never stalls the
//   partition.
// - Stop() lets the running handler finish, commits, and leaves the group.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::Consumer>> consumer =
//       herald::Consumer::Create(config);
//   if (!consumer.ok()) return consumer.status();
//   (*consumer)->Subscribe<UserRegistered>(
//       [&](const UserRegistered& user, const herald::Metadata& meta) {
//         return mailer.SendWelcome(user);
//       });
//   absl::Status done = (*consumer)->Run();  // until Stop()
#ifndef HERALD_MESSAGING_CONSUMER_H_
#define HERALD_MESSAGING_CONSUMER_H_

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "messaging/config.h"
#include "messaging/contract.h"
#include "messaging/metadata.h"

namespace herald {

// A typed event handler. Returning an error means: not handled, deliver again.
template <typename T>
using Handler = std::function<absl::Status(const T&, const Metadata&)>;

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

class Consumer {
 public:
  // Fails with InvalidArgument on bad configuration or a missing group id.
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const Config& config);

  // Stops (if running) and closes the consumer.
  ~Consumer();

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Subscribe()
  //
  // Routes records of T's contract topic to `handler`. Call before Run().
  // Errors: FailedPrecondition when T is not a contract or Run() has started,
  // AlreadyExists when the topic already has a handler.
  template <typename T>
  absl::Status Subscribe(Handler<T> handler) {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "Subscribe<T> takes a Protobuf contract message");
    absl::StatusOr<const Contract*> contract = ContractOf(*T::descriptor());
    if (!contract.ok()) return contract.status();
    return Subscribe<T>((*contract)->topic, std::move(handler));
  }

  // Routes records of `topic` to `handler`, decoded as T.
  template <typename T>
  absl::Status Subscribe(absl::string_view topic, Handler<T> handler) {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "Subscribe<T> takes a Protobuf contract message");
    return SubscribeMessage(
        topic, std::make_unique<T>(),
        [handler = std::move(handler)](const google::protobuf::Message& event,
                                       const Metadata& metadata) {
          return handler(static_cast<const T&>(event), metadata);
        });
  }

  // SubscribeMessage()
  //
  // The untyped form of Subscribe: records are parsed into (a reused copy of)
  // `prototype`.
  absl::Status SubscribeMessage(
      absl::string_view topic,
      std::unique_ptr<google::protobuf::Message> prototype,
      Handler<google::protobuf::Message> handler);

  // OnUndecodable()
  //
  // Replaces the default report (an ERROR log line) for undecodable records.
  // Call before Run().
  void OnUndecodable(UndecodableCallback callback);

  // Run()
  //
  // Joins the group and dispatches records until Stop(). Returns OK after a
  // clean stop, or the error that ended it (e.g. subscribing failed).
  absl::Status Run();

  // Stop()
  //
  // Asks Run() to return: the running handler finishes, handled offsets are
  // committed and the consumer leaves its group. Safe from any thread, and
  // before Run() (which then returns at once).
  void Stop();

  // Records handled successfully so far.
  int64_t handled_count() const;

  // The partitions currently assigned to this member, as "topic/partition".
  std::vector<std::string> Assignment() const;

 private:
  class Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald

#endif  // HERALD_MESSAGING_CONSUMER_H_
