// File: messaging/pipeline/instrumented.h
//
// Handler decorators that measure and log each call, so that the pipeline
// itself stays free of both:
//
//   herald_consumer_handler_duration_seconds{topic}  latency per call
//   herald_consumer_handled_total{topic}             records the handler
//                                                    returned OK for
//   herald_consumer_failed_total{topic}              calls that failed (not
//                                                    counting outages)
//
// A failed call is logged at VLOG(1); what the consumer then decides
// (retry, dead-letter) it logs itself. TopicMetrics also holds the counters
// the pipeline updates on those decisions (retries, dead letters, outages).
//
// Example:
//
//   TopicMetrics metrics = TopicMetricsFor(registry, "payment.created");
//   route.handler = Instrumented(std::move(route.handler), metrics);
#ifndef HERALD_MESSAGING_PIPELINE_INSTRUMENTED_H_
#define HERALD_MESSAGING_PIPELINE_INSTRUMENTED_H_

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "messaging/handler.h"
#include "metrics/registry.h"

namespace herald {
namespace pipeline {

struct TopicMetrics {
  metrics::Counter* handled = nullptr;
  metrics::Counter* failed = nullptr;
  metrics::Counter* retries = nullptr;
  metrics::Counter* dead_lettered = nullptr;
  metrics::Counter* outages = nullptr;
  metrics::Gauge* waiting_on_dependency = nullptr;
  metrics::Histogram* latency = nullptr;
};

// The instruments for `topic` in `registry` (which must outlive them).
TopicMetrics TopicMetricsFor(metrics::Registry& registry,
                             absl::string_view topic);

Handler<google::protobuf::Message> Instrumented(
    Handler<google::protobuf::Message> handler, const TopicMetrics& metrics);

BatchHandler<google::protobuf::Message> Instrumented(
    BatchHandler<google::protobuf::Message> handler,
    const TopicMetrics& metrics);

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_INSTRUMENTED_H_
