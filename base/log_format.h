// File: base/log_format.h
//
// How Herald's log lines look (setting `log.format`):
//
//   text (default): glog's line, with the trace id of the request or record
//     the thread works for (base/trace_context.h) before the "]":
//       I20261202 16:08:37.253239  98 store.cc:77 trace=4bf92f35...] text
//   json: one JSON object a line on stderr, for log shippers:
//       {"time":"2026-12-02T16:08:37.253239Z","level":"INFO","thread":98,
//        "file":"store.cc","line":77,"trace_id":"4bf92f35...","message":"text"}
//
// InitProcess (base/process.h) installs the text form; a binary applies the
// setting once its settings are loaded:
//
//   herald::LogSettings log;                // keys: LogKeys(log)
//   ... settings::Load(...) ...
//   herald::ApplyLogFormat(log.format);
#ifndef HERALD_BASE_LOG_FORMAT_H_
#define HERALD_BASE_LOG_FORMAT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/settings.h"

namespace herald {

enum class LogFormat { kText, kJson };

struct LogSettings {
  LogFormat format = LogFormat::kText;
};

// log.format.
std::vector<settings::Key> LogKeys(LogSettings& s);

// Initializes glog with the text form's prefix (InitProcess calls it).
void InitLogging(const char* argv0);

// Switches this process's log lines to `format` (json: glog's own output
// to stderr is replaced by the JSON lines).
void ApplyLogFormat(LogFormat format);

// The JSON line for one message (for tests and the sink).
std::string JsonLogLine(absl::string_view level, absl::string_view time,
                        int64_t thread, absl::string_view file, int line,
                        absl::string_view trace_id, absl::string_view message);

}  // namespace herald

#endif  // HERALD_BASE_LOG_FORMAT_H_
