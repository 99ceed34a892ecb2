#include "base/usage.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace herald {
namespace {

// A heading per folder that defines flags shared by several binaries; a
// binary's own flags come under "this program".
std::string GroupOf(absl::string_view file) {
  if (absl::StartsWith(file, "base/")) return "configuration";
  if (absl::StartsWith(file, "messaging/")) return "Kafka";
  if (absl::StartsWith(file, "database/")) return "database";
  return "this program";
}

// Abseil's own flags (--flagfile, --fromenv, ...) and --help itself are not
// the program's.
bool IsHeraldFlag(const absl::CommandLineFlag& flag) {
  return !absl::StrContains(flag.Filename(), "absl/");
}

}  // namespace

std::string HelpText(const Usage& usage) {
  std::string text = absl::StrCat("usage: ", usage.synopsis, "\n");
  if (!usage.description.empty()) {
    absl::StrAppend(&text, "\n", usage.description);
    if (!absl::EndsWith(usage.description, "\n")) text += "\n";
  }
  // group -> flag name -> line; std::map sorts both.
  std::map<std::string, std::map<std::string, std::string>> groups;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsHeraldFlag(*flag)) continue;
    std::string line = absl::StrCat("  --", name, "  ", flag->Help());
    std::string default_value = flag->DefaultValue();
    // std::optional flags print their default in their help (it is a
    // setting's); others get it here.
    if (!default_value.empty()) {
      absl::StrAppend(&line, " (default: ", default_value, ")");
    }
    groups[GroupOf(flag->Filename())][std::string(name)] = line;
  }
  if (!groups.empty()) {
    text += "\nFlags (they win over the environment and the file):\n";
    // The program's own first.
    auto print = [&text](const std::string& group,
                         const std::map<std::string, std::string>& lines) {
      absl::StrAppend(&text, " ", group, ":\n");
      for (const auto& [name, line] : lines) absl::StrAppend(&text, line, "\n");
    };
    auto own = groups.find("this program");
    if (own != groups.end()) print(own->first, own->second);
    for (const auto& [group, lines] : groups) {
      if (group != "this program") print(group, lines);
    }
  }
  if (!usage.keys.empty()) {
    text +=
        "\nSettings, from a YAML file (--config or $HERALD_CONFIG), the "
        "environment\n(HERALD_ + the key upper-cased, dots as underscores) "
        "and the flags above;\nREADME.md's \"Configuration reference\" "
        "explains them:\n";
    for (const settings::Key& key : usage.keys) {
      std::string name =
          key.prefix ? absl::StrCat(key.name, "<name>") : key.name;
      std::string env = settings::EnvVarForKey(key.name);
      if (key.prefix) env += "<NAME>";
      std::string value = key.get ? key.get() : "";
      for (const auto& [default_key, default_value] : usage.defaults) {
        if (default_key == key.name) value = default_value;
      }
      absl::StrAppend(&text, "  ", name, " = ", value.empty() ? "\"\"" : value,
                      "  (", env, ")\n      ", key.help, "\n");
    }
  }
  return text;
}

void HandleHelp(int argc, char** argv, const Usage& usage) {
  absl::SetProgramUsageMessage(absl::StrCat("usage: ", usage.synopsis));
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h" ||
        arg == "--helpfull") {
      std::fputs(HelpText(usage).c_str(), stdout);
      std::fflush(stdout);
      std::exit(0);
    }
  }
}

}  // namespace herald
