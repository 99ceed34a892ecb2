#include "messaging/pipeline/instrumented.h"

#include <glog/logging.h>

#include <string>

#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "messaging/retry.h"

namespace herald {
namespace pipeline {
namespace {

using google::protobuf::Message;

// Counts one call that handled `n` records and returned `status`.
void Count(const TopicMetrics& m, const absl::Status& status, size_t n,
           absl::Duration took) {
  m.latency->Observe(absl::ToDoubleSeconds(took));
  size_t handled = n;
  if (!status.ok()) {
    std::optional<size_t> at = FailedIndex(status);
    handled = at.has_value() && *at < n ? *at : 0;
    if (!IsDependencyOutage(status)) m.failed->Increment();
  }
  if (handled > 0) m.handled->Increment(static_cast<double>(handled));
}

}  // namespace

TopicMetrics TopicMetricsFor(metrics::Registry& registry,
                             absl::string_view topic) {
  metrics::Labels labels = {{"topic", std::string(topic)}};
  TopicMetrics m;
  m.handled = &registry.GetCounter("herald_consumer_handled_total",
                                   "Records handled successfully", labels);
  m.failed = &registry.GetCounter("herald_consumer_failed_total",
                                  "Failed handler attempts", labels);
  m.retries = &registry.GetCounter("herald_consumer_retries_total",
                                   "Handler retries", labels);
  m.dead_lettered =
      &registry.GetCounter("herald_consumer_dead_lettered_total",
                           "Records sent to the dead-letter topic", labels);
  m.outages = &registry.GetCounter(
      "herald_consumer_dependency_outages_total",
      "Handler calls that met an unavailable dependency (not counted as "
      "attempts)",
      labels);
  m.waiting_on_dependency = &registry.GetGauge(
      "herald_consumer_waiting_on_dependency",
      "1 while the topic's handler waits for a dependency to come back",
      labels);
  m.latency = &registry.GetHistogram("herald_consumer_handler_duration_seconds",
                                     "Handler latency per call",
                                     metrics::LatencyBuckets(), labels);
  return m;
}

Handler<Message> Instrumented(Handler<Message> handler,
                              const TopicMetrics& metrics) {
  return [handler = std::move(handler), metrics](const Message& event,
                                                 const Metadata& meta) {
    absl::Time start = absl::Now();
    absl::Status status = handler(event, meta);
    Count(metrics, status, 1, absl::Now() - start);
    if (!status.ok()) {
      VLOG(1) << "handler for " << meta.topic << "/" << meta.partition << "@"
              << meta.offset << " failed: " << status;
    }
    return status;
  };
}

BatchHandler<Message> Instrumented(BatchHandler<Message> handler,
                                   const TopicMetrics& metrics) {
  return [handler = std::move(handler),
          metrics](const std::vector<Received<Message>>& batch) {
    absl::Time start = absl::Now();
    absl::Status status = handler(batch);
    Count(metrics, status, batch.size(), absl::Now() - start);
    if (!status.ok() && !batch.empty()) {
      VLOG(1) << "batch handler for " << batch[0].metadata->topic << " ("
              << batch.size() << " records) failed: " << status;
    }
    return status;
  };
}

}  // namespace pipeline
}  // namespace herald
