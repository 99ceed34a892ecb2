#include "metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace herald {
namespace metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, RendersPrometheusText) {
  Registry registry;
  registry.GetCounter("requests_total", "Requests", {{"route", "/a\"b"}})
      .Increment(2);
  registry.GetGauge("pending", "Pending rows").Set(7);
  Histogram& h = registry.GetHistogram("latency_seconds", "Latency", {0.1, 1},
                                       {{"route", "/x"}});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  registry.AddCallbackGauge("oldest_seconds", "Age", [] { return 1.5; });
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE requests_total counter\n"
                              "requests_total{route=\"/a\\\"b\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("pending 7\n"));
  EXPECT_THAT(text,
              HasSubstr("latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("latency_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"));
  EXPECT_THAT(
      text, HasSubstr("latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_count{route=\"/x\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("latency_seconds_sum{route=\"/x\"} 5.55\n"));
  EXPECT_THAT(text,
              HasSubstr("# TYPE oldest_seconds gauge\noldest_seconds 1.5\n"));
}

TEST(RegistryTest, SameNameAndLabelsIsSameMetric) {
  Registry registry;
  Counter& a = registry.GetCounter("c", "h", {{"k", "v"}});
  Counter& b = registry.GetCounter("c", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &registry.GetCounter("c", "h", {{"k", "w"}}));
}

TEST(RegistryTest, ConcurrentIncrementsAreNotLost) {
  Registry registry;
  Counter& c = registry.GetCounter("c", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.Increment();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
}

}  // namespace
}  // namespace metrics
}  // namespace herald
