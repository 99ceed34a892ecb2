// File: messaging/consumer.h
//
// `Consumer` reads typed events from Kafka as one member of a consumer group
// and hands each (or each batch, with SubscribeBatch) to the handler
// subscribed for its topic. Delivery is at least once: a record's offset is
// committed only after its handler returned OK, or after the record was
// safely published to its dead-letter topic.
//
// - A handler error is retried with exponential backoff and jitter, up to
//   consumer.max_attempts (see messaging/retry.h; Permanent() errors skip the
//   retries). Records behind it on the same partition wait: per-key order
//   holds.
// - After the last attempt the record goes to `<topic>.dlq` with Spring
//   Kafka's provenance headers (messaging/dead_letter.h), and the consumer
//   moves on. With consumer.dead_letter=false it is redelivered instead.
// - A record that cannot be decoded as the subscribed type (bad bytes, or a
//   `ce_type` naming another type) goes to the dead-letter topic at once and
//   is reported to the undecodable callback; it never stalls the partition.
// - Stop() lets the running handler finish, commits, and leaves the group;
//   records buffered for a batch that has not started are redelivered later.
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
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "messaging/config.h"
#include "messaging/contract.h"
#include "messaging/metadata.h"
#include "metrics/registry.h"

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

// A batch handler: OK commits the whole batch; an error retries the whole
// batch, then dead-letters each of its records.
template <typename T>
using BatchHandler =
    std::function<absl::Status(const std::vector<Received<T>>&)>;

// A batch is handed over when it holds `max_size` records or `max_wait`
// after its first record arrived, whichever comes first.
struct BatchOptions {
  int max_size = 100;
  absl::Duration max_wait = absl::Milliseconds(100);
};

// Counts since the consumer started.
struct ConsumerStats {
  int64_t handled = 0;        // records handled successfully
  int64_t failed = 0;         // failed handler attempts
  int64_t retries = 0;        // attempts after the first
  int64_t dead_lettered = 0;  // records sent to a dead-letter topic
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

  // SubscribeBatch()
  //
  // Routes records of T's topic to `handler` in batches (see BatchOptions).
  template <typename T>
  absl::Status SubscribeBatch(const BatchOptions& options,
                              BatchHandler<T> handler) {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "SubscribeBatch<T> takes a Protobuf contract message");
    absl::StatusOr<const Contract*> contract = ContractOf(*T::descriptor());
    if (!contract.ok()) return contract.status();
    return SubscribeBatchMessage(
        (*contract)->topic, std::make_unique<T>(), options,
        [handler = std::move(handler)](
            const std::vector<Received<google::protobuf::Message>>& batch) {
          std::vector<Received<T>> typed;
          typed.reserve(batch.size());
          for (const auto& r : batch) {
            typed.push_back({static_cast<const T*>(r.event), r.metadata});
          }
          return handler(typed);
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

  // The untyped form of SubscribeBatch.
  absl::Status SubscribeBatchMessage(
      absl::string_view topic,
      std::unique_ptr<google::protobuf::Message> prototype,
      const BatchOptions& options,
      BatchHandler<google::protobuf::Message> handler);

  // Instrument()
  //
  // Records per-topic counters (handled, failed, retries, dead-lettered),
  // handler latency and, on UpdateLagMetrics(), lag per partition, in
  // `registry` (which must outlive the consumer). Call before Run().
  void Instrument(metrics::Registry* registry);

  // Sets herald_consumer_lag{topic,partition} from librdkafka's latest
  // positions and high watermarks. Call before rendering the metrics.
  void UpdateLagMetrics();

  ConsumerStats Stats() const;

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
