// File: tools/settings_reference.h
//
// Every settings key of every Herald binary, gathered from the components
// that own them (messaging, database, outbox, gateway, workers, email), with
// the defaults their structs hold: the source of README.md's configuration
// reference, which `bazel run //tools:settings_reference` prints and
// tools/settings_reference_test keeps in step.
//
// Example:
//
//   std::string table = herald::tools::SettingsTable();
#ifndef HERALD_TOOLS_SETTINGS_REFERENCE_H_
#define HERALD_TOOLS_SETTINGS_REFERENCE_H_

#include <string>
#include <vector>

namespace herald {
namespace tools {

struct SettingRow {
  std::string key;            // "kafka.properties.<name>" for the prefix
  std::string default_value;  // as text; empty when empty
  std::string help;
};

// One row per key, each key once, in the components' order.
std::vector<SettingRow> AllSettings();

// The Markdown table of AllSettings(): | key | default | meaning |.
std::string SettingsTable();

}  // namespace tools
}  // namespace herald

#endif  // HERALD_TOOLS_SETTINGS_REFERENCE_H_
