#include "metrics/registry.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "glog/logging.h"

namespace herald {
namespace metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double amount) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + amount,
                                       std::memory_order_relaxed)) {
  }
}

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrCat(value);
}

std::string EscapeLabel(absl::string_view value) {
  return absl::StrReplaceAll(value,
                             {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

std::string LabelText(
    const Labels& labels,
    const std::pair<std::string, std::string>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::pair<std::string, std::string>& label) {
    if (!first) out += ",";
    first = false;
    absl::StrAppend(&out, label.first, "=\"", EscapeLabel(label.second), "\"");
  };
  for (const auto& label : labels) add(label);
  if (extra != nullptr) add(*extra);
  out += "}";
  return out;
}

}  // namespace

void Counter::Increment(double amount) { AtomicAdd(value_, amount); }
double Counter::value() const { return value_.load(); }

void Gauge::Set(double value) { value_.store(value); }
void Gauge::Add(double amount) { AtomicAdd(value_, amount); }
double Gauge::value() const { return value_.load(); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

double Histogram::sum() const { return sum_.load(); }

uint64_t Histogram::count() const { return CumulativeCounts().back(); }

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

Registry::Family& Registry::FamilyFor(absl::string_view name,
                                      absl::string_view help, Type type) {
  auto [it, inserted] = families_.try_emplace(std::string(name));
  if (inserted) {
    it->second.type = type;
    it->second.help = std::string(help);
  }
  CHECK(it->second.type == type) << "metric " << name << " type mismatch";
  return it->second;
}

Counter& Registry::GetCounter(absl::string_view name, absl::string_view help,
                              Labels labels) {
  absl::MutexLock lock(&mu_);
  auto& slot = FamilyFor(name, help, Type::kCounter).counters[labels];
  if (slot == nullptr) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(absl::string_view name, absl::string_view help,
                          Labels labels) {
  absl::MutexLock lock(&mu_);
  auto& slot = FamilyFor(name, help, Type::kGauge).gauges[labels];
  if (slot == nullptr) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(absl::string_view name,
                                  absl::string_view help,
                                  std::vector<double> bounds, Labels labels) {
  absl::MutexLock lock(&mu_);
  auto& slot = FamilyFor(name, help, Type::kHistogram).histograms[labels];
  if (slot == nullptr) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

void Registry::AddCallbackGauge(absl::string_view name, absl::string_view help,
                                std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  FamilyFor(name, help, Type::kGauge).callback = std::move(read);
}

void Registry::AddCallbackCounter(absl::string_view name,
                                  absl::string_view help,
                                  std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  FamilyFor(name, help, Type::kCounter).callback = std::move(read);
}

std::string Registry::Render() const {
  // Callbacks may be slow (a database query): read them outside the lock.
  struct Scraped {
    std::string name, help, type;
    std::function<double()> read;
  };
  std::vector<Scraped> callbacks;
  std::string out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, family] : families_) {
      const char* type = family.type == Type::kCounter ? "counter"
                         : family.type == Type::kGauge ? "gauge"
                                                       : "histogram";
      if (family.callback) {
        callbacks.push_back({name, family.help, type, family.callback});
        continue;
      }
      absl::StrAppend(&out, "# HELP ", name, " ", family.help, "\n# TYPE ",
                      name, " ", type, "\n");
      for (const auto& [labels, counter] : family.counters) {
        absl::StrAppend(&out, name, LabelText(labels), " ",
                        FormatValue(counter->value()), "\n");
      }
      for (const auto& [labels, gauge] : family.gauges) {
        absl::StrAppend(&out, name, LabelText(labels), " ",
                        FormatValue(gauge->value()), "\n");
      }
      for (const auto& [labels, histogram] : family.histograms) {
        std::vector<uint64_t> counts = histogram->CumulativeCounts();
        for (size_t i = 0; i < counts.size(); ++i) {
          std::pair<std::string, std::string> le(
              "le", i < histogram->bounds().size()
                        ? FormatValue(histogram->bounds()[i])
                        : "+Inf");
          absl::StrAppend(&out, name, "_bucket", LabelText(labels, &le), " ",
                          counts[i], "\n");
        }
        absl::StrAppend(&out, name, "_sum", LabelText(labels), " ",
                        FormatValue(histogram->sum()), "\n", name, "_count",
                        LabelText(labels), " ", counts.back(), "\n");
      }
    }
  }
  for (const Scraped& c : callbacks) {
    absl::StrAppend(&out, "# HELP ", c.name, " ", c.help, "\n# TYPE ", c.name,
                    " ", c.type, "\n", c.name, " ", FormatValue(c.read()),
                    "\n");
  }
  return out;
}

}  // namespace metrics
}  // namespace herald
