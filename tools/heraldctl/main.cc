// heraldctl: publish and inspect Herald events, and manage the gateway's
// API keys, from the command line.
//
//   bazel run //tools/heraldctl -- send UserRegistered '{"userId":"u1"}'
//   bazel run //tools/heraldctl -- tail user.registered --count=5
//   bazel run //tools/heraldctl -- tail payment.created.dlq
//   bazel run //tools/heraldctl -- keys create --db=sqlite:herald.db \
//       --name=laptop --scopes=payments:write,payments:read
//   bazel run //tools/heraldctl -- keys list | keys revoke <name>
//
// Uses the shared flags (--brokers, --config, --db) and defaults to the
// development broker at 127.0.0.1:9092 and the gateway's sqlite:herald.db.
#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "base/flags.h"
#include "base/usage.h"
#include "database/flags.h"
#include "database/settings.h"
#include "messaging/config.h"
#include "messaging/flags.h"
#include "tools/heraldctl/heraldctl.h"
#include "tools/heraldctl/keys.h"

ABSL_FLAG(int, count, -1, "tail: stop after this many records");
ABSL_FLAG(int, timeout_s, -1, "tail: stop after this many seconds");
ABSL_FLAG(bool, from_beginning, true, "tail: start at the oldest record");
ABSL_FLAG(std::string, name, "", "keys create: the key's name");
ABSL_FLAG(std::string, scopes, "",
          "keys create: its scopes, e.g. payments:write,payments:read");

namespace {

constexpr char kCommands[] =
    "Commands:\n"
    "  send <Type> '<json>'        publish one event (Protobuf JSON)\n"
    "  tail <topic>                print records (dead letters with where and\n"
    "                              why) [--count --timeout_s "
    "--from_beginning]\n"
    "  keys create|list|revoke     the gateway's API keys [--db --name "
    "--scopes]\n";

}  // namespace

int main(int argc, char** argv) {
  {
    // Only for --help: the keys show their defaults.
    herald::Config config;
    herald::db::DatabaseSettings database;
    herald::Usage usage;
    usage.synopsis = "heraldctl <command> [arguments] [flags]";
    usage.description = kCommands;
    usage.keys = herald::MessagingKeys(config);
    for (auto& key : herald::db::DatabaseKeys(database)) {
      usage.keys.push_back(key);
    }
    herald::HandleHelp(argc, argv, usage);
  }
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 2;
  // Under `bazel run`, a relative --db (sqlite:herald.db) means the user's
  // directory, as for the gateway.
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (chdir(dir) != 0) std::cerr << "cannot enter " << dir << "\n";
  }
  const std::string usage =
      absl::StrCat("usage: heraldctl <command> [arguments] [flags]\n",
                   kCommands, "heraldctl --help: every flag and setting\n");
  if (args.size() >= 2 && std::string(args[1]) == "keys") {
    herald::db::DatabaseSettings database;
    absl::Status status = herald::settings::Load(
        herald::db::DatabaseKeys(database),
        herald::SourcesFromFlags({}, {herald::db::DatabaseFlags()}));
    if (!status.ok()) {
      std::cerr << status.message() << "\n";
      return 2;
    }
    herald::ctl::KeysFlags flags;
    flags.name = absl::GetFlag(FLAGS_name);
    flags.scopes = absl::GetFlag(FLAGS_scopes);
    return herald::ctl::RunKeys(
        std::vector<std::string>(args.begin() + 2, args.end()), database.url,
        flags, std::cout, std::cerr);
  }
  if (args.size() < 3) {
    std::fputs(usage.c_str(), stderr);
    return 2;
  }
  herald::Config loaded;
  absl::Status status = herald::settings::Load(
      herald::MessagingKeys(loaded),
      herald::SourcesFromFlags(
          {{"service", "heraldctl"}, {"client_id", "heraldctl"}},
          {herald::MessagingFlags()}));
  if (!status.ok()) {
    std::cerr << status.message() << "\n";
    return 2;
  }
  herald::Config* config = &loaded;
  if (config->brokers.empty()) config->brokers = "127.0.0.1:9092";
  std::string command = args[1];
  if (command == "send" && args.size() == 4) {
    auto report = herald::ctl::SendJson(*config, args[2], args[3]);
    if (!report.ok()) {
      std::cerr << report.status().message() << "\n";
      return 1;
    }
    std::cout << "sent " << report->event_id << " to " << report->topic << "/"
              << report->partition << "@" << report->offset << "\n";
    return 0;
  }
  if (command == "tail") {
    herald::ctl::TailOptions options;
    options.topic = args[2];
    options.count = absl::GetFlag(FLAGS_count);
    if (absl::GetFlag(FLAGS_timeout_s) >= 0) {
      options.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout_s));
    }
    options.from_beginning = absl::GetFlag(FLAGS_from_beginning);
    auto printed = herald::ctl::Tail(
        *config, options,
        [](const std::string& line) { std::cout << line << std::endl; });
    if (!printed.ok()) {
      std::cerr << printed.status().message() << "\n";
      return 1;
    }
    return 0;
  }
  std::fputs(usage.c_str(), stderr);
  return 2;
}
