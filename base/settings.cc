#include "base/settings.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/redact.h"

extern char** environ;

namespace herald {
namespace settings {
namespace {

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

absl::StatusOr<int64_t> ParseInteger(absl::string_view v, int64_t min,
                                     int64_t max) {
  int64_t value;
  if (!absl::SimpleAtoi(v, &value)) return Invalid("expected an integer");
  if (value < min || value > max) {
    return Invalid(
        absl::StrCat("expected an integer in [", min, ", ", max, "]"));
  }
  return value;
}

bool Matches(const Key& key, absl::string_view name) {
  if (key.prefix) {
    return name.size() > key.name.size() && absl::StartsWith(name, key.name);
  }
  return key.name == name;
}

bool KnownElsewhere(absl::string_view name) {
  for (const std::string& known : KnownKeys()) {
    if (known.back() == '.') {
      if (name.size() > known.size() && absl::StartsWith(name, known)) {
        return true;
      }
    } else if (known == name) {
      return true;
    }
  }
  return false;
}

std::string KnownList() {
  std::vector<std::string> names;
  for (const std::string& known : KnownKeys()) {
    names.push_back(known.back() == '.'
                        ? absl::StrCat(known, "<librdkafka property>")
                        : known);
  }
  return absl::StrJoin(names, ", ");
}

// Applies one (key, value) pair from `source`.
class Applier {
 public:
  explicit Applier(const std::vector<Key>& keys) : keys_(keys) {}

  absl::Status Set(absl::string_view name, absl::string_view value,
                   absl::string_view source) {
    for (const Key& key : keys_) {
      if (!Matches(key, name)) continue;
      absl::Status s =
          key.prefix
              ? key.set(absl::StrCat(name.substr(key.name.size()), "=", value))
              : key.set(value);
      if (!s.ok()) {
        // A secret's value is never echoed, nor a password in a URL.
        const std::vector<std::string> secrets =
            IsSecretName(name) ? std::vector<std::string>{std::string(value)}
                               : SecretsIn(value);
        return Invalid(absl::StrCat("configuration key '", name, "' = '",
                                    RedactValue(name, value), "' in ", source,
                                    ": ", RedactText(s.message(), secrets)));
      }
      return absl::OkStatus();
    }
    if (KnownElsewhere(name)) return absl::OkStatus();  // another binary's
    return Invalid(absl::StrCat("unknown configuration key '", name, "' in ",
                                source, "; known keys: ", KnownList()));
  }

 private:
  const std::vector<Key>& keys_;
};

// Bounds on a YAML file's shape. Herald's deepest keys
// (kafka.properties.<a dotted librdkafka name>) nest a handful of levels and
// a file holds tens of keys; the bounds stop an alias of an enclosing map
// (`a: &x {b: *x}`, a cycle) and aliases that multiply (a "billion laughs").
constexpr int kMaxYamlDepth = 32;
constexpr int kMaxYamlEntries = 10000;

absl::Status ApplyYamlNode(Applier& applier, const YAML::Node& node,
                           const std::string& prefix, const std::string& source,
                           int depth, int& entries) {
  if (depth > kMaxYamlDepth) {
    return Invalid(absl::StrCat("configuration key '", prefix, "' in ", source,
                                ": nested more than ", kMaxYamlDepth,
                                " levels deep (an alias of a map it is in?)"));
  }
  if (++entries > kMaxYamlEntries) {
    return Invalid(absl::StrCat("configuration file ", source, ": more than ",
                                kMaxYamlEntries,
                                " entries (aliases that multiply?)"));
  }
  if (node.IsMap()) {
    for (const auto& entry : node) {
      std::string name = entry.first.as<std::string>();
      std::string key = prefix.empty() ? name : absl::StrCat(prefix, ".", name);
      absl::Status s =
          ApplyYamlNode(applier, entry.second, key, source, depth + 1, entries);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }
  if (node.IsNull()) return absl::OkStatus();
  if (!node.IsScalar()) {
    return Invalid(absl::StrCat("configuration key '", prefix, "' in ", source,
                                ": expected a single value, got a list"));
  }
  return applier.Set(prefix, node.Scalar(), source);
}

absl::Status ApplyYamlFile(Applier& applier, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("configuration file '", path, "' cannot be read"));
  }
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root.IsNull()) return absl::OkStatus();
    if (!root.IsMap()) {
      return Invalid(absl::StrCat("configuration file '", path,
                                  "': expected a map of keys at the top"));
    }
    int entries = 0;
    return ApplyYamlNode(applier, root, "", absl::StrCat("'", path, "'"), 0,
                         entries);
  } catch (const YAML::Exception& e) {
    return Invalid(absl::StrCat("configuration file '", path,
                                "' is not valid YAML: ", e.what()));
  }
}

std::vector<std::string> EnvironNames() {
  std::vector<std::string> names;
  for (char** env = environ; env != nullptr && *env != nullptr; ++env) {
    absl::string_view entry(*env);
    if (!absl::StartsWith(entry, "HERALD_")) continue;
    names.emplace_back(entry.substr(0, entry.find('=')));
  }
  return names;
}

}  // namespace

Key Int(std::string name, int* field, int min, int max, std::string help) {
  Key key;
  key.name = std::move(name);
  key.help = std::move(help);
  key.set = [=](absl::string_view v) -> absl::Status {
    absl::StatusOr<int64_t> value = ParseInteger(v, min, max);
    if (!value.ok()) return value.status();
    *field = static_cast<int>(*value);
    return absl::OkStatus();
  };
  key.get = [field] { return absl::StrCat(*field); };
  return key;
}

Key String(std::string name, std::string* field, std::string help,
           std::function<absl::Status(absl::string_view)> check) {
  Key key;
  key.name = std::move(name);
  key.help = std::move(help);
  key.set = [field, check](absl::string_view v) -> absl::Status {
    if (check) {
      absl::Status s = check(v);
      if (!s.ok()) return s;
    }
    *field = std::string(v);
    return absl::OkStatus();
  };
  key.get = [field] { return *field; };
  return key;
}

Key Bool(std::string name, bool* field, std::string help) {
  return Choice(std::move(name), field, {{"true", true}, {"false", false}},
                std::move(help));
}

Key Milliseconds(std::string name, absl::Duration* field, int64_t min_ms,
                 int64_t max_ms, std::string help) {
  Key key;
  key.name = std::move(name);
  key.help = std::move(help);
  key.set = [=](absl::string_view v) -> absl::Status {
    absl::StatusOr<int64_t> value = ParseInteger(v, min_ms, max_ms);
    if (!value.ok()) return value.status();
    *field = absl::Milliseconds(*value);
    return absl::OkStatus();
  };
  key.get = [field] { return absl::StrCat(absl::ToInt64Milliseconds(*field)); };
  return key;
}

Key Hours(std::string name, absl::Duration* field, int64_t min_hours,
          int64_t max_hours, std::string help) {
  Key key;
  key.name = std::move(name);
  key.help = std::move(help);
  key.set = [=](absl::string_view v) -> absl::Status {
    absl::StatusOr<int64_t> value = ParseInteger(v, min_hours, max_hours);
    if (!value.ok()) return value.status();
    *field = absl::Hours(*value);
    return absl::OkStatus();
  };
  key.get = [field] { return absl::StrCat(absl::ToInt64Hours(*field)); };
  return key;
}

Key Map(std::string prefix, std::map<std::string, std::string>* field,
        std::string help) {
  Key key;
  key.name = std::move(prefix);
  key.help = std::move(help);
  key.prefix = true;
  // Set() hands over "<rest of the key>=<value>".
  key.set = [field](absl::string_view entry) -> absl::Status {
    size_t eq = entry.find('=');
    (*field)[std::string(entry.substr(0, eq))] =
        std::string(entry.substr(eq + 1));
    return absl::OkStatus();
  };
  key.get = [] { return std::string(); };
  return key;
}

namespace settings_internal {

Key ChoiceKey(std::string name, std::vector<std::string> names,
              std::function<void(size_t)> set_index,
              std::function<size_t()> get_index, std::string help) {
  Key key;
  key.name = std::move(name);
  key.help = std::move(help);
  key.set = [names, set_index](absl::string_view v) -> absl::Status {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == v) {
        set_index(i);
        return absl::OkStatus();
      }
    }
    if (names.size() == 2) {
      return Invalid(absl::StrCat("expected ", names[0], " or ", names[1]));
    }
    std::vector<std::string> head(names.begin(), names.end() - 1);
    return Invalid(absl::StrCat("expected one of ", absl::StrJoin(head, ", "),
                                " or ", names.back()));
  };
  key.get = [names, get_index] { return names[get_index()]; };
  return key;
}

}  // namespace settings_internal

std::string EnvVarForKey(absl::string_view key) {
  return absl::StrCat(
      "HERALD_", absl::AsciiStrToUpper(absl::StrReplaceAll(key, {{".", "_"}})));
}

absl::Status Load(const std::vector<Key>& keys, const Sources& sources) {
  Applier applier(keys);
  for (const auto& [key, value] : sources.defaults) {
    absl::Status s = applier.Set(key, value, "built-in defaults");
    if (!s.ok()) return s;
  }
  if (sources.file.has_value() && !sources.file->empty()) {
    absl::Status s = ApplyYamlFile(applier, *sources.file);
    if (!s.ok()) return s;
  }

  auto getenv = sources.getenv;
  if (!getenv) {
    getenv = [](const std::string& name) -> std::optional<std::string> {
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) return std::nullopt;
      return std::string(value);
    };
  }
  const std::vector<std::string> env_names =
      sources.env_names ? sources.env_names() : EnvironNames();
  for (const std::string& name : env_names) {
    bool known = name == "HERALD_CONFIG";  // the file, read by the flag layer
    for (const std::string& key : KnownKeys()) {
      if (key.back() != '.' && EnvVarForKey(key) == name) known = true;
    }
    for (const Key& key : keys) {
      if (!key.prefix && EnvVarForKey(key.name) == name) known = true;
    }
    if (!known) {
      return Invalid(absl::StrCat("unknown environment variable '", name,
                                  "': no configuration key maps to it"));
    }
  }
  for (const Key& key : keys) {
    if (key.prefix) continue;  // no environment variable for a prefix
    const std::string name = EnvVarForKey(key.name);
    std::optional<std::string> value = getenv(name);
    if (!value.has_value()) continue;
    absl::Status s = applier.Set(key.name, *value,
                                 absl::StrCat("environment variable ", name));
    if (!s.ok()) return s;
  }

  for (const auto& [key, value] : sources.overrides) {
    absl::Status s = applier.Set(key, value, absl::StrCat("flag --", key));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace settings
}  // namespace herald
