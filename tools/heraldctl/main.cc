// heraldctl: publish and inspect Herald events from the command line.
//
//   bazel run //tools/heraldctl -- send UserRegistered
//   '{"userId":"u1","email":"a@b.co"}' bazel run //tools/heraldctl -- tail
//   user.registered --count=5 bazel run //tools/heraldctl -- tail
//   payment.created.dlq
//
// Uses the shared flags (--brokers, --config) and defaults to the
// development broker at 127.0.0.1:9092.
#include <glog/logging.h>

#include <cstdio>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "base/flags.h"
#include "messaging/config.h"
#include "messaging/flags.h"
#include "tools/heraldctl/heraldctl.h"

ABSL_FLAG(int, count, -1, "tail: stop after this many records");
ABSL_FLAG(int, timeout_s, -1, "tail: stop after this many seconds");
ABSL_FLAG(bool, from_beginning, true, "tail: start at the oldest record");

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 2;
  const char* usage =
      "usage: heraldctl send <Type> '<json>' | heraldctl tail <topic> "
      "[--count=N] [--timeout_s=S] [--from_beginning=false]\n";
  if (args.size() < 3) {
    std::fputs(usage, stderr);
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
  std::fputs(usage, stderr);
  return 2;
}
