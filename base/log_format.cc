#include "base/log_format.h"

// Debian's glog 0.6 is built with custom prefixes; its header declares them
// only when asked.
#define GLOG_CUSTOM_PREFIX_SUPPORT
#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>
#include <iomanip>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/json_string.h"
#include "base/trace_context.h"

namespace herald {
namespace {

void TextPrefix(std::ostream& s, const google::LogMessageInfo& info, void*) {
  const google::LogMessageTime& t = info.time;
  s << info.severity[0]
    << absl::StrFormat("%04d%02d%02d %02d:%02d:%02d.%06d %5d ", 1900 + t.year(),
                       1 + t.month(), t.day(), t.hour(), t.min(), t.sec(),
                       t.usec(), static_cast<int>(info.thread_id))
    << info.filename << ':' << info.line_number;
  if (const trace::Context* context = trace::Current()) {
    s << " trace=" << context->trace_id();
  }
  s << "]";
}

class JsonSink : public google::LogSink {
 public:
  void send(google::LogSeverity severity, const char* /*full_filename*/,
            const char* base_filename, int line, const struct ::tm* tm,
            const char* message, size_t message_len) override {
    // glog passes the microseconds only to the LogMessageTime form.
    std::string time = absl::StrFormat(
        "%04d-%02d-%02dT%02d:%02d:%02dZ", 1900 + tm->tm_year, 1 + tm->tm_mon,
        tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec);
    const trace::Context* context = trace::Current();
    std::string out = JsonLogLine(google::GetLogSeverityName(severity), time,
                                  gettid(), base_filename, line,
                                  context != nullptr ? context->trace_id() : "",
                                  absl::string_view(message, message_len));
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stderr);
  }
};

}  // namespace

std::vector<settings::Key> LogKeys(LogSettings& s) {
  return {settings::Choice(
      "log.format", &s.format,
      {{"text", LogFormat::kText}, {"json", LogFormat::kJson}},
      "log lines as glog text (with the trace id) or one JSON object a "
      "line, for log shippers")};
}

void InitLogging(const char* argv0) {
  google::InitGoogleLogging(argv0, &TextPrefix, nullptr);
  FLAGS_logtostderr = true;
}

void ApplyLogFormat(LogFormat format) {
  if (format != LogFormat::kJson) return;
  static JsonSink* sink = new JsonSink;  // lives as long as the process
  google::AddLogSink(sink);
  // glog writes nothing itself any more: not to stderr, not to files.
  FLAGS_logtostderr = false;
  FLAGS_alsologtostderr = false;
  FLAGS_stderrthreshold = google::NUM_SEVERITIES;
  for (int severity = 0; severity < google::NUM_SEVERITIES; ++severity) {
    google::SetLogDestination(severity, "");
  }
}

std::string JsonLogLine(absl::string_view level, absl::string_view time,
                        int64_t thread, absl::string_view file, int line,
                        absl::string_view trace_id, absl::string_view message) {
  std::string out = "{\"time\":";
  out += JsonQuote(time);
  out += ",\"level\":";
  out += JsonQuote(level);
  absl::StrAppend(&out, ",\"thread\":", thread, ",\"file\":");
  out += JsonQuote(file);
  absl::StrAppend(&out, ",\"line\":", line);
  if (!trace_id.empty()) {
    out += ",\"trace_id\":";
    out += JsonQuote(trace_id);
  }
  out += ",\"message\":";
  out += JsonQuote(message);
  out += "}";
  return out;
}

}  // namespace herald
