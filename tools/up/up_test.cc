// `herald up` as a user runs it (tools/up:up, the binary ./herald execs),
// on free ports in a directory of its own: it prints the ready message,
// the curl it prints works and the welcome email lands in the maildir,
// SIGTERM stops every process in order and leaves none running; and a child
// killed with SIGKILL is reported with its last lines, the others are
// stopped and `up` exits non-zero.
#include <errno.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/testing/free_port.h"
#include "database/database.h"
#include "database/testing/backends.h"
#include "devbroker/dev_broker.h"
#include "gateway/auth/api_keys.h"

namespace {

namespace fs = std::filesystem;
using herald::FreePort;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether `pid` runs (a zombie has exited: it only waits for its parent).
bool Running(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t end = stat.rfind(')');  // "<pid> (<name>) <state> ..."
  return end != std::string::npos && end + 2 < stat.size() &&
         stat[end + 2] != 'Z';
}

// A flag for each port `up` opens, on free ports.
std::vector<std::string> FreePortFlags() {
  std::vector<std::string> flags;
  for (const char* port : {"http", "admin", "realtime", "broker", "email_admin",
                           "analytics_admin", "crm_admin"}) {
    flags.push_back(absl::StrCat("--", port, "_port=", FreePort()));
  }
  return flags;
}

// One run of `up` in a fresh directory, its output in a file.
class Up {
 public:
  explicit Up(const std::string& name,
              std::vector<std::string> flags = FreePortFlags()) {
    dir_ = absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    output_ = absl::StrCat(dir_, "/up.log");
    std::vector<std::string> args = {
        absl::StrCat(getenv("TEST_SRCDIR"), "/herald/tools/up/up")};
    args.insert(args.end(), flags.begin(), flags.end());
    pid_ = fork();
    if (pid_ == 0) {
      if (chdir(dir_.c_str()) != 0) _exit(126);
      int fd = open(output_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  ~Up() {
    if (!exit_code_.has_value()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  std::string Output() const { return ReadFile(output_); }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

  // Waits until the output holds `text`; false if `up` exits first.
  bool WaitFor(absl::string_view text,
               absl::Duration timeout = absl::Seconds(90)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (absl::StrContains(Output(), text)) return true;
      if (Exited()) return absl::StrContains(Output(), text);
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  // Its exit code once it has exited (-1: killed by a signal; nullopt: still
  // running after `timeout`).
  std::optional<int> Wait(absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!Exited() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    return exit_code_;
  }

  // The pid of each child, from "started <name> (pid <n>)".
  std::map<std::string, pid_t> Children() const {
    std::map<std::string, pid_t> pids;
    for (absl::string_view line : absl::StrSplit(Output(), '\n')) {
      const size_t at = line.find("| started ");
      if (at == absl::string_view::npos) continue;
      std::vector<absl::string_view> words =
          absl::StrSplit(line.substr(at + 10), ' ');
      int pid = 0;
      if (words.size() == 3 &&
          absl::SimpleAtoi(absl::StripSuffix(words[2], ")"), &pid)) {
        pids[std::string(words[0])] = pid;
      }
    }
    return pids;
  }

  // The line of the ready message that starts with "curl ".
  std::string CurlLine() const {
    for (absl::string_view line : absl::StrSplit(Output(), '\n')) {
      if (absl::StartsWith(line, "curl ")) return std::string(line);
    }
    return "";
  }

 private:
  bool Exited() {
    if (exit_code_.has_value()) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return true;
  }

  std::string dir_;
  std::string output_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Runs `command` with sh; its standard output.
std::string Shell(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0)
    out.append(buffer, n);
  pclose(pipe);
  return out;
}

std::vector<std::string> Emails(const std::string& maildir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(maildir + "/new", ec)) {
    out.push_back(ReadFile(entry.path()));
  }
  return out;
}

const std::vector<std::string>& AllProcesses() {
  static const auto* names = new std::vector<std::string>{
      "broker", "gateway", "email", "analytics", "crm", "realtime"};
  return *names;
}

TEST(UpTest, ReadyCurlWorksAndSigtermStopsEverythingInOrder) {
  Up up("up");
  ASSERT_TRUE(up.WaitFor("==== Herald is up ====")) << up.Output();
  std::map<std::string, pid_t> children = up.Children();
  for (const std::string& name : AllProcesses()) {
    ASSERT_EQ(children.count(name), 1u) << name << "\n" << up.Output();
    EXPECT_TRUE(Running(children[name])) << name;
  }
  const std::string output = up.Output();
  // One stream: before the ready message, every line is "<process> | ...",
  // plain (not a terminal).
  for (absl::string_view line :
       absl::StrSplit(output.substr(0, output.find("\n==== Herald is up")),
                      '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits(" | ", 1));
    ASSERT_EQ(parts.size(), 2u) << line;
    const std::string name(absl::StripTrailingAsciiWhitespace(parts[0]));
    EXPECT_TRUE(name == "up" || children.count(name) == 1) << line;
    EXPECT_FALSE(absl::StrContains(line, "\033[")) << line;
  }
  EXPECT_THAT(output, HasSubstr("Live page:  http://localhost:"));
  EXPECT_THAT(output, HasSubstr("API key:    hk_"));
  // The secret is in the ready message only (and in the curl).
  const std::string key_file = ReadFile(up.dir() + "/.herald/api_key");
  ASSERT_THAT(key_file, StartsWith("hk_"));
  const std::string secret = key_file.substr(0, key_file.size() - 1);
  EXPECT_GT(output.find(secret), output.find("==== Herald is up"))
      << "the key appears before the ready message";

  // The printed curl, as the user pastes it.
  const std::string curl = up.CurlLine();
  ASSERT_THAT(curl, HasSubstr(secret));
  const std::string answer = Shell(curl);
  EXPECT_THAT(answer, HasSubstr("\"user_id\":\"user_")) << curl;

  // The welcome email.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (Emails(up.dir() + "/maildir").empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::vector<std::string> emails = Emails(up.dir() + "/maildir");
  ASSERT_EQ(emails.size(), 1u) << up.Output();
  EXPECT_THAT(emails[0], HasSubstr("example.com"));

  ASSERT_EQ(kill(up.pid(), SIGTERM), 0);
  std::optional<int> code = up.Wait();
  ASSERT_TRUE(code.has_value()) << "up did not exit\n" << up.Output();
  EXPECT_EQ(*code, 0) << up.Output();
  for (const auto& [name, pid] : children) {
    EXPECT_FALSE(Running(pid)) << name << " (pid " << pid << ") still runs";
  }
  // Workers first, then the gateway, then the broker; each cleanly.
  const std::string log = up.Output();
  size_t gateway = log.find("| gateway stopped\n");
  size_t broker = log.find("| broker stopped\n");
  ASSERT_NE(gateway, std::string::npos) << log;
  ASSERT_NE(broker, std::string::npos) << log;
  EXPECT_LT(gateway, broker);
  for (const char* worker : {"email", "analytics", "crm", "realtime"}) {
    size_t stopped = log.find(absl::StrCat("| ", worker, " stopped\n"));
    ASSERT_NE(stopped, std::string::npos) << worker << "\n" << log;
    EXPECT_LT(stopped, gateway) << worker;
  }
}

TEST(UpTest, AChildKilledIsReportedAndStopsTheOthers) {
  Up up("fault");
  ASSERT_TRUE(up.WaitFor("==== Herald is up ====")) << up.Output();
  std::map<std::string, pid_t> children = up.Children();
  ASSERT_EQ(children.count("crm"), 1u) << up.Output();
  ASSERT_EQ(kill(children["crm"], SIGKILL), 0);

  std::optional<int> code = up.Wait();
  ASSERT_TRUE(code.has_value()) << "up did not exit\n" << up.Output();
  EXPECT_NE(*code, 0);
  const std::string log = up.Output();
  EXPECT_THAT(log, HasSubstr(absl::StrCat("crm (pid ", children["crm"],
                                          ") exited unexpectedly (signal 9")));
  // Its last lines follow, as it printed them.
  const size_t report = log.find("its last lines:");
  ASSERT_NE(report, std::string::npos) << log;
  EXPECT_THAT(log.substr(report), HasSubstr("|   crm: ")) << log;
  for (const auto& [name, pid] : children) {
    EXPECT_FALSE(Running(pid)) << name << " (pid " << pid << ") still runs";
    if (name != "crm") {
      EXPECT_THAT(log, HasSubstr(absl::StrCat("| ", name, " stopped\n")));
    }
  }
}

// The supervisor itself killed with SIGKILL (it can clean nothing up): its
// children get SIGTERM from the kernel (PR_SET_PDEATHSIG) and exit.
TEST(UpTest, ChildrenDoNotOutliveAKilledSupervisor) {
  // Orphans become this test's children, so that they can be reaped here.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  Up up("killed");
  ASSERT_TRUE(up.WaitFor("==== Herald is up ====")) << up.Output();
  std::map<std::string, pid_t> children = up.Children();
  ASSERT_EQ(children.size(), AllProcesses().size()) << up.Output();
  ASSERT_EQ(kill(up.pid(), SIGKILL), 0);
  ASSERT_TRUE(up.Wait().has_value());

  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (const auto& [name, pid] : children) {
    while (Running(pid) && absl::Now() < deadline) {
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_FALSE(Running(pid)) << name << " (pid " << pid << ") still runs";
  }
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// The same command against servers of one's own: --brokers (here a broker
// the test runs: `up` starts none), --db (a PostgreSQL database, shared by
// the gateway and the workers, where the key is made) and --config (a file
// that moves the gateway's API port; the printed curl follows it).
class UpServersTest : public herald::db::testing::ForEachBackend {};

TEST_P(UpServersTest, PassesBrokersDbAndConfigThrough) {
  if (IsSkipped()) return;
  herald::devbroker::DevBrokerOptions options;
  options.port = FreePort();
  auto broker = herald::devbroker::DevBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string db_url = DatabaseUrl("herald");
  ASSERT_FALSE(db_url.empty());
  const int http_port = FreePort();
  const std::string config =
      absl::StrCat(getenv("TEST_TMPDIR"), "/servers.yaml");
  std::ofstream(config) << "http_port: " << http_port << "\n";

  std::vector<std::string> flags = {
      absl::StrCat("--brokers=", (*broker)->address()),
      absl::StrCat("--db=", db_url), absl::StrCat("--config=", config)};
  for (const std::string& flag : FreePortFlags()) {
    if (!absl::StartsWith(flag, "--http_port=") &&
        !absl::StartsWith(flag, "--broker_port=")) {
      flags.push_back(flag);
    }
  }
  Up up("servers", flags);
  ASSERT_TRUE(up.WaitFor("==== Herald is up ====")) << up.Output();
  std::map<std::string, pid_t> children = up.Children();
  EXPECT_EQ(children.count("broker"), 0u) << up.Output();
  EXPECT_EQ(children.size(), AllProcesses().size() - 1) << up.Output();

  const std::string curl = up.CurlLine();
  ASSERT_THAT(curl, HasSubstr(absl::StrCat("localhost:", http_port, "/")));
  EXPECT_THAT(Shell(curl), HasSubstr("\"user_id\":\"user_")) << curl;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (Emails(up.dir() + "/maildir").empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Emails(up.dir() + "/maildir").size(), 1u) << up.Output();
  // No SQLite file of their own: everything went to --db.
  for (const char* file : {"herald.db", "email-worker.db", "crm-worker.db",
                           "analytics-worker.db"}) {
    EXPECT_FALSE(fs::exists(up.dir() + "/" + file)) << file;
  }

  ASSERT_EQ(kill(up.pid(), SIGTERM), 0);
  std::optional<int> code = up.Wait();
  ASSERT_TRUE(code.has_value()) << "up did not exit\n" << up.Output();
  EXPECT_EQ(*code, 0) << up.Output();
  for (const auto& [name, pid] : children) {
    EXPECT_FALSE(Running(pid)) << name << " (pid " << pid << ") still runs";
  }
  auto db = herald::db::Database::Open(db_url);
  ASSERT_TRUE(db.ok()) << db.status();
  auto keys = herald::gateway::auth::ListApiKeys(**db);
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].name, "local-1");
}

INSTANTIATE_TEST_SUITE_P(
    Backends, UpServersTest,
    ::testing::Values(herald::db::testing::Backend::kPostgres),
    herald::db::testing::BackendParamName);

}  // namespace
