// heraldctl: publish and inspect Herald events, replay dead letters, look at
// the outbox, topics and consumer groups, and manage the gateway's API keys,
// from the command line.
//
//   bazel run //tools/heraldctl -- send UserRegistered '{"userId":"u1"}'
//   bazel run //tools/heraldctl -- tail user.registered --count=5
//   bazel run //tools/heraldctl -- dlq list payment.created.dlq
//   bazel run //tools/heraldctl -- dlq replay payment.created.dlq --dry_run
//   bazel run //tools/heraldctl -- outbox status --db=sqlite:herald.db
//   bazel run //tools/heraldctl -- topics ensure --brokers=kafka:9092
//   bazel run //tools/heraldctl -- groups lag --group=email-worker-group
//   bazel run //tools/heraldctl -- keys create --db=sqlite:herald.db \
//       --name=laptop --scopes=payments:write,payments:read
//
// Uses the shared flags (--brokers, --config, --db) and defaults to the
// development broker at 127.0.0.1:9092 and the gateway's sqlite:herald.db.
#include <glog/logging.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "base/flags.h"
#include "base/usage.h"
#include "database/flags.h"
#include "database/settings.h"
#include "messaging/config.h"
#include "messaging/flags.h"
#include "tools/heraldctl/admin.h"
#include "tools/heraldctl/dlq.h"
#include "tools/heraldctl/heraldctl.h"
#include "tools/heraldctl/keys.h"

ABSL_FLAG(int, count, -1, "tail: stop after this many records");
ABSL_FLAG(int, timeout_s, -1, "tail: stop after this many seconds");
ABSL_FLAG(bool, from_beginning, true, "tail: start at the oldest record");
ABSL_FLAG(int, limit, 100, "dlq list: print at most this many (-1: all)");
ABSL_FLAG(std::optional<int>, partition, std::nullopt,
          "dlq replay: only records of this dead-letter partition");
ABSL_FLAG(std::optional<int64_t>, offset, std::nullopt,
          "dlq replay: only the record at this dead-letter offset");
ABSL_FLAG(std::optional<std::string>, key, std::nullopt,
          "dlq replay: only records with this key");
ABSL_FLAG(std::optional<std::string>, event_id, std::nullopt,
          "dlq replay: only the record with this ce_id");
ABSL_FLAG(bool, dry_run, false, "dlq replay: print what it would replay");
ABSL_FLAG(int, partitions, 6, "topics ensure: partitions of a new topic");
ABSL_FLAG(int, replication, 3, "topics ensure: replication factor");
ABSL_FLAG(int, retention_h, -1,
          "topics ensure: retention.ms of a new topic, in hours (-1: the "
          "cluster's default)");
ABSL_FLAG(std::string, group, "",
          "groups lag: the consumer group (empty: every group listed)");
ABSL_FLAG(std::string, name, "", "keys create: the key's name");
ABSL_FLAG(std::string, scopes, "",
          "keys create: its scopes, e.g. payments:write,payments:read");

namespace {

constexpr char kCommands[] =
    "Commands:\n"
    "  send <Type> '<json>'          publish one event (Protobuf JSON)\n"
    "  tail <topic>                  print records (dead letters with where\n"
    "                                and why) [--count --timeout_s\n"
    "                                --from_beginning]\n"
    "  dlq list <topic>.dlq          one line per dead letter: origin,\n"
    "                                attempts, age, key, event id, error\n"
    "                                [--limit]\n"
    "  dlq replay <topic>.dlq        republish dead letters to their topic\n"
    "                                (same ce_id: inboxes deduplicate)\n"
    "                                [--partition --offset --key --event_id\n"
    "                                --dry_run]\n"
    "  outbox status                 pending outbox rows per topic [--db]\n"
    "  topics ensure                 create every contract topic and its\n"
    "                                .dlq [--partitions --replication\n"
    "                                --retention_h]\n"
    "  groups lag                    committed offset, end, lag per\n"
    "                                partition [--group]\n"
    "  keys create|list|revoke       the gateway's API keys [--db --name\n"
    "                                --scopes]\n";

int Fail(const absl::Status& status) {
  std::cerr << status.message() << "\n";
  return 1;
}

int RunDatabaseCommand(const std::vector<char*>& args) {
  herald::db::DatabaseSettings database;
  absl::Status status = herald::settings::Load(
      herald::db::DatabaseKeys(database),
      herald::SourcesFromFlags({}, {herald::db::DatabaseFlags()}));
  if (!status.ok()) {
    std::cerr << status.message() << "\n";
    return 2;
  }
  if (std::string(args[1]) == "outbox") {
    absl::Status shown = herald::ctl::OutboxStatus(database.url, std::cout);
    return shown.ok() ? 0 : Fail(shown);
  }
  herald::ctl::KeysFlags flags;
  flags.name = absl::GetFlag(FLAGS_name);
  flags.scopes = absl::GetFlag(FLAGS_scopes);
  return herald::ctl::RunKeys(
      std::vector<std::string>(args.begin() + 2, args.end()), database.url,
      flags, std::cout, std::cerr);
}

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
  const std::string command = args.size() >= 2 ? args[1] : "";
  const std::string sub = args.size() >= 3 ? args[2] : "";
  if (command == "keys" || (command == "outbox" && sub == "status")) {
    return RunDatabaseCommand(args);
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
  auto print = [](const std::string& line) { std::cout << line << std::endl; };
  if (command == "send" && args.size() == 4) {
    auto report = herald::ctl::SendJson(*config, args[2], args[3]);
    if (!report.ok()) return Fail(report.status());
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
    auto printed = herald::ctl::Tail(*config, options, print);
    return printed.ok() ? 0 : Fail(printed.status());
  }
  if (command == "dlq" && sub == "list" && args.size() == 4) {
    auto letters = herald::ctl::ReadDeadLetters(*config, args[3],
                                                absl::GetFlag(FLAGS_limit));
    if (!letters.ok()) return Fail(letters.status());
    const absl::Time now = absl::Now();
    for (const auto& letter : *letters) {
      print(herald::ctl::FormatDeadLetter(letter, now));
    }
    return 0;
  }
  if (command == "dlq" && sub == "replay" && args.size() == 4) {
    herald::ctl::ReplayFilter filter;
    filter.partition = absl::GetFlag(FLAGS_partition);
    filter.offset = absl::GetFlag(FLAGS_offset);
    filter.key = absl::GetFlag(FLAGS_key);
    filter.event_id = absl::GetFlag(FLAGS_event_id);
    const bool dry_run = absl::GetFlag(FLAGS_dry_run);
    auto replayed = herald::ctl::ReplayDeadLetters(*config, args[3], filter,
                                                   dry_run, print);
    if (!replayed.ok()) return Fail(replayed.status());
    print(absl::StrCat(dry_run ? "would replay " : "replayed ", *replayed,
                       " record(s)"));
    return 0;
  }
  if (command == "topics" && sub == "ensure") {
    herald::ctl::EnsureOptions options;
    options.partitions = absl::GetFlag(FLAGS_partitions);
    options.replication = absl::GetFlag(FLAGS_replication);
    if (absl::GetFlag(FLAGS_retention_h) >= 0) {
      options.retention = absl::Hours(absl::GetFlag(FLAGS_retention_h));
    }
    absl::Status ensured =
        herald::ctl::EnsureContractTopics(*config, options, std::cout);
    return ensured.ok() ? 0 : Fail(ensured);
  }
  if (command == "groups" && sub == "lag") {
    absl::Status printed = herald::ctl::PrintGroupLag(
        *config, absl::GetFlag(FLAGS_group), std::cout);
    return printed.ok() ? 0 : Fail(printed);
  }
  std::fputs(usage.c_str(), stderr);
  return 2;
}
