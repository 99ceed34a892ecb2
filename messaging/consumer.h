// File: messaging/consumer.h
//
// `Consumer` reads typed events from Kafka as one member of a consumer group
// and hands each (or each batch, with SubscribeBatch) to the handler
// subscribed for its topic. Delivery is at least once, and a partition's
// committed offset never passes a record that is not settled: handled (its
// handler returned OK) or safely in its dead-letter topic (the broker
// acknowledged it). A crash or a rebalance redelivers every record that was
// not settled, and nothing else is lost. README.md, "How a record is
// settled", tells the whole story; in short:
//
// - A handler error is retried with exponential backoff and jitter, up to
//   consumer.max_attempts, then the record goes to `<topic>.dlq` with Spring
//   Kafka's provenance headers (messaging/dead_letter.h). Permanent() errors
//   skip the retries; DependencyOutage() errors (the worker's database is
//   down) pause the topic's partitions and wait, using no attempts. See
//   messaging/retry.h. With consumer.dead_letter=false a record that
//   exhausted its attempts is retried forever instead.
// - A batch handler may return FailedAt(i, error); a batch that fails
//   without saying where is split until the record at fault is found. A
//   good record is never dead-lettered because of a neighbour.
// - While a record waits for its retry only its lane waits: its partition,
//   or its key with consumer.ordering=key. Other partitions, keys and topics
//   go on.
// - consumer.concurrency > 1 runs handlers on that many threads, in parallel
//   across partitions (ordering=partition), across keys even within one
//   partition (ordering=key), or freely (ordering=unordered). Handlers must
//   then be safe to call from several threads at once. A partition stops
//   fetching while it holds consumer.max_in_flight records not settled.
// - A record that cannot be decoded as the subscribed type (bad bytes, or a
//   `ce_type` naming another type) goes to the dead-letter topic at once and
//   is reported to the undecodable callback; it never stalls the partition.
// - Stop() lets running handlers finish, commits what is settled, and leaves
//   the group; records not started yet are redelivered to the next owner.
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
#include "messaging/handler.h"
#include "messaging/metadata.h"
#include "metrics/registry.h"

namespace herald {

// Counts since the consumer started.
struct ConsumerStats {
  int64_t handled = 0;        // records handled successfully
  int64_t failed = 0;         // failed handler attempts
  int64_t retries = 0;        // attempts after the first
  int64_t dead_lettered = 0;  // records sent to a dead-letter topic
};

// What the consumer is waiting for, for health endpoints.
struct ConsumerHealth {
  // True while a handler's dependency (its database, an SMTP server) or the
  // dead-letter topic is unavailable and the consumer waits for it.
  bool waiting_on_dependency = false;
  std::string dependency_error;  // the latest error of the oldest wait
  absl::Time waiting_since = absl::InfinitePast();
  int64_t in_flight = 0;  // records fetched and not yet settled
  // True while the consumer is a member of its group (with or without
  // partitions: a group may have more members than partitions). False
  // before it joined and while it cannot reach the group's coordinator.
  bool in_group = false;
};

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

  // Health()
  //
  // Whether the consumer waits on a dependency, and since when. Safe from
  // any thread.
  ConsumerHealth Health() const;

  // OnUndecodable()
  //
  // Replaces the default report (an ERROR log line) for undecodable records.
  // Call before Run(). With consumer.concurrency > 1 it runs on handler
  // threads, possibly several at once.
  void OnUndecodable(UndecodableCallback callback);

  // Run()
  //
  // Joins the group and dispatches records until Stop(). Returns OK after a
  // clean stop, or the error that ended it (e.g. subscribing failed).
  absl::Status Run();

  // Stop()
  //
  // Asks Run() to return: running handlers finish, settled offsets are
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
