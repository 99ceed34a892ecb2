// File: messaging/producer.h
//
// `Producer` publishes typed events to Kafka. Topic and key come from the
// event's contract (see messaging/contract.h); every record carries the
// CloudEvents headers (messaging/cloudevents.h) and the Protobuf encoding.
// Sends are asynchronous: each returns a future of its delivery report, or
// calls a callback. Defaults: acks=all, idempotence on.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::Producer>> producer =
//       herald::Producer::Create(config);
//   if (!producer.ok()) return producer.status();
//   herald::contracts::v1::PaymentCreated payment;
//   payment.set_payment_id("pay_123");
//   std::future<herald::DeliveryResult> sent = (*producer)->Send(payment);
//   absl::StatusOr<herald::DeliveryReport> report = sent.get();
//
// Thread safety: every method may be called from any thread. Delivery
// callbacks run on the producer's own polling thread or, under load, inside a
// later Send/Publish on the sending thread (as librdkafka's own produce loop
// serves reports; it is much cheaper). So: keep callbacks short, make them
// safe to run on two threads at once, and do not call Send while holding a
// lock that a callback takes.
#ifndef HERALD_MESSAGING_PRODUCER_H_
#define HERALD_MESSAGING_PRODUCER_H_

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "messaging/config.h"
#include "messaging/envelope.h"

namespace herald {

struct Contract;  // messaging/contract.h

// Where a record landed.
struct DeliveryReport {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string event_id;
};

// The outcome of one send. Errors: DeadlineExceeded (not delivered within
// producer.delivery_timeout_ms), ResourceExhausted (local queue full for
// producer.enqueue_timeout_ms), Cancelled (producer closed first),
// FailedPrecondition (not a contract), InvalidArgument (too large),
// Internal (fatal producer error), Unavailable (other broker errors).
using DeliveryResult = absl::StatusOr<DeliveryReport>;
using DeliveryCallback = std::function<void(const DeliveryResult&)>;

class Producer {
 public:
  // Connects lazily: creation succeeds while brokers are down, and sends wait
  // (up to producer.delivery_timeout_ms) for them. Fails with InvalidArgument
  // on bad configuration.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const Config& config);

  // Waits up to producer.close_timeout_ms for outstanding deliveries, then
  // cancels the rest (their callbacks run with Cancelled).
  ~Producer();

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Send()
  //
  // Publishes `event` to its contract's topic, keyed by its partition key.
  template <typename T>
  std::future<DeliveryResult> Send(const T& event) {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "Send<T> takes a Protobuf contract message");
    return SendTyped(event, TypeOf<T>(event), "");
  }

  // Publishes `event` to `topic` instead of its contract's topic.
  template <typename T>
  std::future<DeliveryResult> Send(absl::string_view topic, const T& event) {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "Send<T> takes a Protobuf contract message");
    return SendTyped(event, TypeOf<T>(event), topic);
  }

  // Publishes `event`; `on_delivery` runs once with the outcome.
  template <typename T>
  void Send(const T& event, DeliveryCallback on_delivery) {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "Send<T> takes a Protobuf contract message");
    SendTyped(event, TypeOf<T>(event), "", std::move(on_delivery));
  }

  // Publishes `event` to `topic`; `on_delivery` runs once with the outcome.
  template <typename T>
  void Send(absl::string_view topic, const T& event,
            DeliveryCallback on_delivery) {
    static_assert(std::is_base_of_v<google::protobuf::Message, T>,
                  "Send<T> takes a Protobuf contract message");
    SendTyped(event, TypeOf<T>(event), topic, std::move(on_delivery));
  }

  // SendMessage()
  //
  // The untyped form of Send, for code that holds a `Message&`.
  std::future<DeliveryResult> SendMessage(
      const google::protobuf::Message& event, absl::string_view topic);
  void SendMessage(const google::protobuf::Message& event,
                   absl::string_view topic, DeliveryCallback on_delivery);

  // Publish()
  //
  // Publishes an already encoded record as it is.
  void Publish(OutgoingMessage message, DeliveryCallback on_delivery);
  std::future<DeliveryResult> Publish(OutgoingMessage message);
  // The same from views, which need to live only for the call: librdkafka
  // copies the record first (the outbox relay publishes its rows so).
  void Publish(const RecordView& record, DeliveryCallback on_delivery);

  // Flush()
  //
  // Waits until every send so far has its delivery report; DeadlineExceeded
  // if `timeout` passes first.
  absl::Status Flush(absl::Duration timeout);

  // Sends whose delivery report has not arrived yet.
  int64_t InFlight() const;

  // False after librdkafka reported every broker down, until a delivery
  // succeeds again (a hint for readiness probes, not a guarantee).
  bool BrokersReachable() const;

  // OK, or the fatal error librdkafka raised (e.g. an idempotence violation);
  // after one the producer accepts nothing more and must be recreated.
  absl::Status FatalError() const;

  // Makes librdkafka raise a fatal error, as a fenced or reset broker would
  // (for tests of recovery code).
  void TriggerFatalErrorForTesting(absl::string_view reason);

 private:
  // A message type's descriptor and reflection, and its contract when
  // already known (else null: looked up).
  struct MessageType {
    const google::protobuf::Descriptor* descriptor;
    const google::protobuf::Reflection* reflection;
    const Contract* contract = nullptr;
  };
  // The contract of `type`, or null when it is not one.
  static const Contract* ContractOrNull(
      const google::protobuf::Descriptor& type);
  // Those of a generated type T, asked once: each ask of a message is a
  // virtual call through a once-flag, a tenth of Send's own cost. Others
  // (Message itself, DynamicMessage) are asked each time.
  template <typename T, typename = void>
  struct IsGenerated : std::false_type {};
  template <typename T>
  struct IsGenerated<
      T, std::void_t<decltype(T::descriptor()), decltype(T::GetReflection())>>
      : std::true_type {};
  template <typename T>
  static MessageType TypeOf(const T& event) {
    if constexpr (IsGenerated<T>::value) {
      static const MessageType type{T::descriptor(), T::GetReflection(),
                                    ContractOrNull(*T::descriptor())};
      return type;
    } else {
      return {event.GetDescriptor(), event.GetReflection()};
    }
  }
  std::future<DeliveryResult> SendTyped(const google::protobuf::Message& event,
                                        const MessageType& type,
                                        absl::string_view topic);
  void SendTyped(const google::protobuf::Message& event,
                 const MessageType& type, absl::string_view topic,
                 DeliveryCallback&& on_delivery);

  class Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace herald

#endif  // HERALD_MESSAGING_PRODUCER_H_
