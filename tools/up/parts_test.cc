// The parts of `herald up` that need no process: the plan (its default
// ports are each component's own), the log stream, and the local API key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "database/database.h"
#include "devbroker/dev_broker.h"
#include "gateway/auth/api_keys.h"
#include "gateway/settings.h"
#include "tools/up/local_key.h"
#include "tools/up/log_printer.h"
#include "tools/up/stack.h"
#include "workers/analytics/analytics.h"
#include "workers/crm/crm.h"
#include "workers/email/email_worker.h"
#include "workers/realtime/realtime_settings.h"

namespace herald {
namespace up {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(StackTest, DefaultPortsAreEachComponentsOwn) {
  const StackPorts ports;
  EXPECT_EQ(ports.broker, devbroker::DevBrokerOptions().port);
  EXPECT_EQ(ports.http, gateway::GatewaySettings().http_port);
  EXPECT_EQ(ports.admin, gateway::GatewaySettings().admin_port);
  EXPECT_EQ(ports.realtime, workers::RealtimeSettings().http_port);
  EXPECT_EQ(ports.email_admin, workers::EmailWorkerSpec().admin_port);
  EXPECT_EQ(ports.analytics_admin, workers::AnalyticsWorkerSpec().admin_port);
  EXPECT_EQ(ports.crm_admin, workers::CrmWorkerSpec().admin_port);
}

std::vector<std::string> Names(const std::vector<ProcessSpec>& plan) {
  std::vector<std::string> names;
  for (const ProcessSpec& p : plan) names.push_back(p.name);
  return names;
}

TEST(StackTest, DevBrokerFirstAndEveryonePointedAtIt) {
  StackOptions options;
  options.bin_dir = "/bin-dir";
  options.ports.broker = 19092;
  options.ports.admin = 19090;
  std::vector<ProcessSpec> plan = PlanStack(options);
  ASSERT_THAT(Names(plan), ElementsAre("broker", "gateway", "email",
                                       "analytics", "crm", "realtime"));
  EXPECT_EQ(plan[0].argv[0], "/bin-dir/tools/dev_broker");
  EXPECT_THAT(plan[0].argv, Contains("--port=19092"));
  EXPECT_EQ(plan[0].ready.path, "");  // a TCP port
  EXPECT_EQ(plan[0].stage, 0);
  EXPECT_EQ(plan[1].ready.port, 19090);
  EXPECT_EQ(plan[1].ready.path, "/readyz");
  EXPECT_EQ(plan[1].stage, 1);
  for (size_t i = 1; i < plan.size(); ++i) {
    EXPECT_THAT(plan[i].argv, Contains("--brokers=127.0.0.1:19092"))
        << plan[i].name;
    EXPECT_THAT(plan[i].argv, Not(Contains(HasSubstr("--db="))));
    EXPECT_THAT(plan[i].argv, Not(Contains(HasSubstr("--config="))));
    if (i > 1) {
      EXPECT_EQ(plan[i].stage, 2) << plan[i].name;
    }
  }
}

TEST(StackTest, PassesBrokersDbAndConfigThrough) {
  StackOptions options;
  options.dev_broker = false;
  options.brokers = "kafka-1:9092";
  options.db = "postgresql://herald@db/herald";
  options.config = "herald.yaml";
  std::vector<ProcessSpec> plan = PlanStack(options);
  ASSERT_THAT(Names(plan),
              ElementsAre("gateway", "email", "analytics", "crm", "realtime"));
  for (const ProcessSpec& p : plan) {
    EXPECT_THAT(p.argv, Contains("--brokers=kafka-1:9092")) << p.name;
    EXPECT_THAT(p.argv, Contains("--config=herald.yaml")) << p.name;
    // The realtime worker has no database (and no --db flag).
    if (p.name == "realtime") {
      EXPECT_THAT(p.argv, Not(Contains(HasSubstr("--db="))));
    } else {
      EXPECT_THAT(p.argv, Contains("--db=postgresql://herald@db/herald"))
          << p.name;
    }
  }
}

// What a LogPrinter wrote, from a temporary file.
class Captured {
 public:
  Captured() : file_(std::tmpfile()) {}
  ~Captured() { std::fclose(file_); }
  std::FILE* file() { return file_; }
  std::string Text() {
    std::fflush(file_);
    std::rewind(file_);
    std::string text;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file_)) > 0) {
      text.append(buffer, n);
    }
    return text;
  }

 private:
  std::FILE* file_;
};

TEST(LogPrinterTest, PrefixesWholeLinesWithTheProcessName) {
  Captured out;
  LogPrinter log(out.file(), /*colour=*/false, /*keep=*/2);
  log.AddSource("gateway");
  log.AddSource("crm");
  log.Write("gateway", "one\ntw");
  log.Write("crm", "a\r\n");
  log.Write("gateway", "o\nthree\n");
  log.Write("gateway", "unfinished");
  log.Flush("gateway");
  log.Say("ready");
  EXPECT_EQ(out.Text(),
            "gateway | one\n"
            "crm     | a\n"
            "gateway | two\n"
            "gateway | three\n"
            "gateway | unfinished\n"
            "up      | ready\n");
  EXPECT_THAT(log.LastLines("gateway"), ElementsAre("three", "unfinished"));
  EXPECT_THAT(log.LastLines("crm"), ElementsAre("a"));
}

TEST(LogPrinterTest, ColoursOnlyWhenAsked) {
  Captured plain, coloured;
  LogPrinter a(plain.file(), /*colour=*/false);
  LogPrinter b(coloured.file(), /*colour=*/true);
  for (LogPrinter* log : {&a, &b}) {
    log->AddSource("email");
    log->Write("email", "sent\n");
  }
  EXPECT_THAT(plain.Text(), Not(HasSubstr("\033[")));
  EXPECT_THAT(coloured.Text(), HasSubstr("\033["));
  EXPECT_THAT(coloured.Text(), HasSubstr("email |\033[0m sent\n"));
}

std::string Tmp(const std::string& name) {
  std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LocalKeyTest, MadeOnceThenReusedUntilRevoked) {
  const std::string dir = Tmp("reuse");
  const std::string db_url = absl::StrCat("sqlite:", dir, "/herald.db");
  const std::string key_file = absl::StrCat(dir, "/state/api_key");

  absl::StatusOr<LocalKey> first = LocalApiKey(db_url, key_file);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->name, "local-1");
  EXPECT_THAT(first->secret, ::testing::StartsWith("hk_"));
  EXPECT_EQ(Read(key_file), first->secret + "\n");
  struct stat st;
  ASSERT_EQ(stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  absl::StatusOr<LocalKey> again = LocalApiKey(db_url, key_file);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->name, "local-1");
  EXPECT_EQ(again->secret, first->secret);

  {
    auto db = db::Database::Open(db_url);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(gateway::auth::RevokeApiKey(**db, "local-1").ok());
  }
  absl::StatusOr<LocalKey> after = LocalApiKey(db_url, key_file);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->created);
  EXPECT_EQ(after->name, "local-2");
  EXPECT_NE(after->secret, first->secret);
  EXPECT_EQ(Read(key_file), after->secret + "\n");

  auto db = db::Database::Open(db_url);
  ASSERT_TRUE(db.ok());
  auto keys = gateway::auth::ListApiKeys(**db);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 2u);  // reruns did not pile keys up
}

TEST(LocalKeyTest, AKeyOfAnotherDatabaseIsReplaced) {
  const std::string dir = Tmp("other");
  const std::string key_file = absl::StrCat(dir, "/api_key");
  absl::StatusOr<LocalKey> a =
      LocalApiKey(absl::StrCat("sqlite:", dir, "/a.db"), key_file);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<LocalKey> b =
      LocalApiKey(absl::StrCat("sqlite:", dir, "/b.db"), key_file);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(b->created);
  EXPECT_NE(a->secret, b->secret);
}

}  // namespace
}  // namespace up
}  // namespace herald
