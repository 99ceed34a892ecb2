// Prints README.md's configuration reference table:
//
//   bazel run //tools:settings_reference
#include <cstdio>

#include "tools/settings_reference.h"

int main() {
  std::fputs(herald::tools::SettingsTable().c_str(), stdout);
  return 0;
}
