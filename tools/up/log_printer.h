// File: tools/up/log_printer.h
//
// One stream of logs for many processes: each line is prefixed with its
// process's name, padded to line up, coloured when writing to a terminal,
// and the last lines of each process are kept for when it dies.
//
// Example:
//
//   LogPrinter log(stdout, /*colour=*/isatty(STDOUT_FILENO));
//   log.AddSource("gateway");
//   log.Write("gateway", "I1202 started\nI1202 rea");  // prints one line
//   log.Write("gateway", "dy\n");                        // and the second
//   log.Say("the gateway is ready");                     // "up      | ..."
//   std::vector<std::string> last = log.LastLines("gateway");
#ifndef HERALD_TOOLS_UP_LOG_PRINTER_H_
#define HERALD_TOOLS_UP_LOG_PRINTER_H_

#include <cstdio>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace herald {
namespace up {

class LogPrinter {
 public:
  // `keep`: how many last lines to keep per source.
  LogPrinter(std::FILE* out, bool colour, size_t keep = 20);

  // A process whose lines will be printed; each gets its own colour.
  void AddSource(const std::string& name);
  // Some bytes of its output; complete lines are printed, the rest waits.
  void Write(const std::string& name, absl::string_view bytes);
  // Prints what is left of its last line (at its exit).
  void Flush(const std::string& name);
  // The supervisor's own line, under the name "up".
  void Say(absl::string_view line);
  // Lines printed as they are, no prefix (the ready message).
  void Plain(absl::string_view text);

  std::vector<std::string> LastLines(const std::string& name) const;

 private:
  struct Source {
    std::string colour;  // an ANSI escape, or ""
    std::string partial;
    std::deque<std::string> last;
  };
  void PrintLine(const std::string& name, Source& source,
                 absl::string_view line);

  std::FILE* out_;
  bool colour_;
  size_t keep_;
  size_t width_ = 2;  // "up"
  std::map<std::string, Source> sources_;
};

}  // namespace up
}  // namespace herald

#endif  // HERALD_TOOLS_UP_LOG_PRINTER_H_
