#include "tools/up/log_printer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace herald {
namespace up {
namespace {

constexpr const char* kReset = "\033[0m";
// Cyan, green, yellow, blue, magenta, red: one per process, in start order.
constexpr const char* kPalette[] = {"\033[36m", "\033[32m", "\033[33m",
                                    "\033[34m", "\033[35m", "\033[31m"};
constexpr const char* kBold = "\033[1m";
constexpr const char kSupervisor[] = "up";

}  // namespace

LogPrinter::LogPrinter(std::FILE* out, bool colour, size_t keep)
    : out_(out), colour_(colour), keep_(keep) {
  sources_[kSupervisor].colour = colour_ ? kBold : "";
}

void LogPrinter::AddSource(const std::string& name) {
  if (sources_.count(name) != 0) return;
  const size_t n = sources_.size() - 1;  // "up" is there from the start
  Source& source = sources_[name];
  if (colour_)
    source.colour = kPalette[n % (sizeof(kPalette) / sizeof(*kPalette))];
  width_ = std::max(width_, name.size());
}

void LogPrinter::Write(const std::string& name, absl::string_view bytes) {
  Source& source = sources_[name];
  while (!bytes.empty()) {
    const size_t end = bytes.find('\n');
    if (end == absl::string_view::npos) {
      source.partial.append(bytes.data(), bytes.size());
      return;
    }
    source.partial.append(bytes.data(), end);
    PrintLine(name, source, source.partial);
    source.partial.clear();
    bytes.remove_prefix(end + 1);
  }
}

void LogPrinter::Flush(const std::string& name) {
  Source& source = sources_[name];
  if (source.partial.empty()) return;
  PrintLine(name, source, source.partial);
  source.partial.clear();
}

void LogPrinter::Say(absl::string_view line) {
  PrintLine(kSupervisor, sources_[kSupervisor], line);
}

void LogPrinter::Plain(absl::string_view text) {
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

std::vector<std::string> LogPrinter::LastLines(const std::string& name) const {
  auto it = sources_.find(name);
  if (it == sources_.end()) return {};
  return std::vector<std::string>(it->second.last.begin(),
                                  it->second.last.end());
}

void LogPrinter::PrintLine(const std::string& name, Source& source,
                           absl::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string padded = name;
  padded.resize(width_, ' ');
  const std::string text =
      source.colour.empty()
          ? absl::StrCat(padded, " | ", line, "\n")
          : absl::StrCat(source.colour, padded, " |", kReset, " ", line, "\n");
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
  source.last.emplace_back(line);
  if (source.last.size() > keep_) source.last.pop_front();
}

}  // namespace up
}  // namespace herald
