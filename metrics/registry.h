// File: metrics/registry.h
//
// Counters, gauges and histograms, rendered in the Prometheus text exposition
// format (version 0.0.4) for a `/metrics` endpoint. Metrics are created once
// (by name and label values) and then updated lock-free from any thread.
//
// Example:
//
//   herald::metrics::Registry registry;
//   herald::metrics::Counter& published = registry.GetCounter(
//       "herald_events_published_total", "Events delivered to Kafka",
//       {{"topic", "payment.created"}});
//   published.Increment();
//   std::string text = registry.Render();
#ifndef HERALD_METRICS_REGISTRY_H_
#define HERALD_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace herald {
namespace metrics {

// Label name/value pairs, e.g. {{"route", "/api/v1/payments"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up.
class Counter {
 public:
  void Increment(double amount = 1);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value);
  void Add(double amount);
  double value() const;

 private:
  std::atomic<double> value_{0};
};

// Observations counted into cumulative buckets (upper bounds, ascending).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Cumulative count per bound, then +Inf; and the sum.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const;
  uint64_t count() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds + 1 (+Inf)
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> LatencyBuckets();

class Registry {
 public:
  // Returns the metric for (name, labels), creating it on first use. `help`
  // is kept from the first call for a name. References stay valid for the
  // registry's lifetime.
  Counter& GetCounter(absl::string_view name, absl::string_view help,
                      Labels labels = {});
  Gauge& GetGauge(absl::string_view name, absl::string_view help,
                  Labels labels = {});
  Histogram& GetHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> bounds, Labels labels = {});

  // A gauge computed when scraped (e.g. a database count).
  void AddCallbackGauge(absl::string_view name, absl::string_view help,
                        std::function<double()> read);
  // A counter kept elsewhere, read when scraped.
  void AddCallbackCounter(absl::string_view name, absl::string_view help,
                          std::function<double()> read);

  // All metrics in Prometheus text format.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
    std::function<double()> callback;
  };
  Family& FamilyFor(absl::string_view name, absl::string_view help, Type type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace metrics
}  // namespace herald

#endif  // HERALD_METRICS_REGISTRY_H_
