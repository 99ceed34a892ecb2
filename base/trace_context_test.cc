// W3C trace context parsing and generation, the thread's current trace, and
// the log lines that carry its id (text and JSON).
#include "base/trace_context.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "base/log_format.h"

namespace herald {
namespace trace {
namespace {

// The example of the W3C recommendation, section 3.2.
constexpr char kW3cExample[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContextTest, ParsesTheW3cExample) {
  std::optional<Context> context = Parse(kW3cExample, "congo=t61rcWkgMzE");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->span_id(), "00f067aa0ba902b7");
  EXPECT_EQ(context->flags(), 1);
  EXPECT_EQ(context->tracestate(), "congo=t61rcWkgMzE");
  EXPECT_EQ(context->Traceparent(), kW3cExample);
}

TEST(TraceContextTest, RefusesWhatTheRecommendationRefuses) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",   // short
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // ver
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00+
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
       }) {
    EXPECT_FALSE(Parse(bad).has_value()) << bad;
  }
  // A later version may append fields.
  EXPECT_TRUE(
      Parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later")
          .has_value());
}

TEST(TraceContextTest, RootsAreValidAndChildrenKeepTheTrace) {
  Context root = NewRoot();
  ASSERT_TRUE(Parse(root.Traceparent()).has_value()) << root.Traceparent();
  EXPECT_NE(NewRoot().trace_id(), root.trace_id());
  Context parent = *Parse(kW3cExample, "a=b");
  Context child = ChildOf(parent);
  EXPECT_EQ(child.trace_id(), parent.trace_id());
  EXPECT_NE(child.span_id(), parent.span_id());
  EXPECT_EQ(child.tracestate(), "a=b");
  char written[kTraceparentSize];
  std::string text(written, WriteChildTraceparent(parent, written));
  std::optional<Context> reread = Parse(text);
  ASSERT_TRUE(reread.has_value()) << text;
  EXPECT_EQ(reread->trace_id(), parent.trace_id());
  EXPECT_NE(reread->span_id(), parent.span_id());
}

TEST(TraceContextTest, ScopesNestPerThread) {
  EXPECT_EQ(Current(), nullptr);
  {
    Scope outer(*Parse(kW3cExample));
    ASSERT_NE(Current(), nullptr);
    EXPECT_EQ(Current()->trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    {
      Scope none(std::optional<absl::string_view>("garbage"), std::nullopt);
      EXPECT_EQ(Current(), nullptr);  // a record without a valid trace
    }
    EXPECT_NE(Current(), nullptr);
  }
  EXPECT_EQ(Current(), nullptr);
}

TEST(LogFormatTest, TextLinesCarryTheTraceId) {
  InitLogging("trace_context_test");
  ::testing::internal::CaptureStderr();
  LOG(INFO) << "outside";
  {
    Scope scope(*Parse(kW3cExample));
    LOG(INFO) << "inside";
  }
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(std::regex_search(
      err, std::regex("trace_context_test.cc:[0-9]+ "
                      "trace=4bf92f3577b34da6a3ce929d0e0e4736\\] inside")))
      << err;
  EXPECT_TRUE(std::regex_search(
      err, std::regex("trace_context_test.cc:[0-9]+\\] outside")))
      << err;
}

TEST(LogFormatTest, JsonLinesAreEscaped) {
  EXPECT_EQ(
      JsonLogLine("INFO", "2026-12-02T16:08:37Z", 98, "a.cc", 7,
                  "4bf92f3577b34da6a3ce929d0e0e4736", "say \"hi\"\\\n\x01"),
      R"({"time":"2026-12-02T16:08:37Z","level":"INFO","thread":98,)"
      R"("file":"a.cc","line":7,)"
      R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",)"
      R"("message":"say \"hi\"\\\n\u0001"})");
  EXPECT_EQ(JsonLogLine("WARNING", "t", 1, "b.cc", 2, "", "m"),
            R"({"time":"t","level":"WARNING","thread":1,"file":"b.cc",)"
            R"("line":2,"message":"m"})");
}

}  // namespace
}  // namespace trace
}  // namespace herald
