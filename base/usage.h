// File: base/usage.h
//
// What `--help` prints, the same way for every Herald binary: the usage
// line, what the program does, its flags grouped by the component that
// defines them (each with its default and meaning), and the settings keys
// it reads from `--config`/`HERALD_CONFIG`, the `HERALD_*` environment and
// flags, with their defaults. InitProcess (base/process.h) calls
// HandleHelp first, so a binary only describes itself:
//
//   herald::Config config;                       // keys bind to these
//   herald::Usage usage;
//   usage.synopsis = "gateway [--http_port=N] [--brokers=LIST] [--db=URL]";
//   usage.description = "The Herald HTTP gateway.";
//   usage.keys = herald::MessagingKeys(config);
//   herald::InitProcess(argc, argv, usage);     // --help: prints, exits 0
#ifndef HERALD_BASE_USAGE_H_
#define HERALD_BASE_USAGE_H_

#include <string>
#include <utility>
#include <vector>

#include "base/settings.h"

namespace herald {

struct Usage {
  // The line after "usage: ", e.g. "heraldctl <command> [flags]".
  std::string synopsis;
  // What the program does, a few lines.
  std::string description;
  // The settings keys the program reads, their current values (the
  // defaults, before settings::Load) shown as defaults. Empty: none.
  std::vector<settings::Key> keys;
  // The binary's own defaults (its settings::Sources::defaults), shown
  // instead of the keys' values.
  std::vector<std::pair<std::string, std::string>> defaults;
};

// The text of --help for `usage` and the program's flags.
std::string HelpText(const Usage& usage);

// If argv holds --help, -h, --helpfull or -help: prints HelpText to stdout
// and exits 0. Also installs the usage line as absl's program usage message.
void HandleHelp(int argc, char** argv, const Usage& usage);

}  // namespace herald

#endif  // HERALD_BASE_USAGE_H_
