// Each key is declared once, by the component that owns it; this test keeps
// the two other places that name keys in step with the components:
// base/known_keys.cc (every binary's list of Herald keys) and README.md's
// configuration reference.
#include "tools/settings_reference.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "base/settings.h"

namespace herald {
namespace tools {
namespace {

constexpr char kBegin[] = "<!-- settings-table: begin -->\n";
constexpr char kEnd[] = "<!-- settings-table: end -->";

TEST(SettingsReferenceTest, KnownKeysAreExactlyTheComponentsKeys) {
  std::set<std::string> declared;
  for (const SettingRow& row : AllSettings()) {
    std::string key = row.key;
    if (absl::EndsWith(key, ".<name>")) key.resize(key.size() - 6);
    declared.insert(key);
  }
  const std::vector<std::string>& known = settings::KnownKeys();
  std::set<std::string> listed(known.begin(), known.end());
  EXPECT_EQ(listed.size(), known.size()) << "a key is listed twice";
  EXPECT_EQ(declared, listed)
      << "base/known_keys.cc and the components' keys differ";
}

TEST(SettingsReferenceTest, TheReadmeTableIsTheComponentsKeys) {
  std::ifstream in(std::string(getenv("TEST_SRCDIR")) + "/herald/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  size_t begin = readme.find(kBegin);
  size_t end = readme.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "no " << kBegin << " in README.md";
  ASSERT_NE(end, std::string::npos) << "no " << kEnd << " in README.md";
  begin += sizeof(kBegin) - 1;
  EXPECT_EQ(readme.substr(begin, end - begin), SettingsTable())
      << "README.md's configuration table is out of date: replace it with "
         "the output of `bazel run //tools:settings_reference`";
}

}  // namespace
}  // namespace tools
}  // namespace herald
