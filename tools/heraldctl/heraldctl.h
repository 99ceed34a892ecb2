// File: tools/heraldctl/heraldctl.h
//
// The logic of `heraldctl`, the command line for a Herald cluster:
//
//   heraldctl send PaymentCreated '{"paymentId":"pay_1","amount":"1999"}'
//   heraldctl send RealtimeMessage
//   '{"channel":"public.news","event":"note","dataJson":"{}"}' heraldctl tail
//   payment.created --count=10 heraldctl tail payment.created.dlq      # dead
//   letters with provenance
//
// Events are written and printed as Protobuf JSON; the type comes from the
// contract (by its short or full name) or, when tailing, from the topic.
#ifndef HERALD_TOOLS_HERALDCTL_HERALDCTL_H_
#define HERALD_TOOLS_HERALDCTL_HERALDCTL_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "messaging/config.h"
#include "messaging/producer.h"

namespace herald {
namespace ctl {

// Publishes one event of contract `type` ("PaymentCreated" or its full
// name) from its JSON form. InvalidArgument for unknown types or bad JSON.
absl::StatusOr<DeliveryReport> SendJson(const Config& config,
                                        absl::string_view type,
                                        absl::string_view json);

struct TailOptions {
  std::string topic;
  int count = -1;  // stop after this many records; -1: until `timeout`
  absl::Duration timeout = absl::InfiniteDuration();
  bool from_beginning = true;
};

// Prints each record of `options.topic` as one line of text: partition,
// offset, key, event id, type, the event as JSON, and for dead-letter topics
// where it came from and why. Returns how many records were printed.
absl::StatusOr<int> Tail(const Config& config, const TailOptions& options,
                         const std::function<void(const std::string&)>& print);

}  // namespace ctl
}  // namespace herald

#endif  // HERALD_TOOLS_HERALDCTL_HERALDCTL_H_
