// No password reaches a binary's output. Each Herald binary (the gateway,
// the three workers, heraldctl) runs here as a real process with settings
// that hold secrets: database URLs with passwords, librdkafka properties
// named like secrets (one of them refused by librdkafka), an smtp_url with
// credentials. Start-up failures and a running email worker that
// dead-letters an email alike: its whole stdout and stderr (and glog files,
// if any) must not hold a secret, while the error still names the setting.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "database/testing/backends.h"
#include "database/testing/postgres_server.h"
#include "messaging/mock_cluster.h"

namespace herald {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Every secret the settings below hold; none may appear in any output.
const std::vector<std::string>& Secrets() {
  static const auto* secrets = new std::vector<std::string>{
      "DbS3cret", "KafkaS3cret", "RefusedS3cret", "SmtpS3cret"};
  return *secrets;
}

std::string Tmp(absl::string_view name) {
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
  fs::create_directories(dir);
  return dir;
}

std::string Binary(absl::string_view path) {
  return absl::StrCat(getenv("TEST_SRCDIR"), "/herald/", path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A YAML file with librdkafka properties named like secrets; `refused` adds
// one librdkafka refuses (ssl_key is never settable).
std::string KafkaConfig(bool refused) {
  static int n = 0;
  std::string path = absl::StrCat(Tmp("config"), "/herald", ++n, ".yaml");
  std::ofstream out(path);
  out << "kafka:\n  properties:\n"
      << "    sasl.password: KafkaS3cret\n"
      << "    ssl.key.password: KafkaS3cret\n";
  if (refused) out << "    ssl_key: RefusedS3cret\n";
  return path;
}

// One run of a binary, its output going to a file.
class Process {
 public:
  Process(std::string binary, std::vector<std::string> args,
          std::vector<std::pair<std::string, std::string>> env = {}) {
    static int n = 0;
    output_path_ = absl::StrCat(Tmp("output"), "/", ++n, ".log");
    log_dir_ = Tmp(absl::StrCat("glog", n));
    args.insert(args.begin(), binary);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("GLOG_log_dir", log_dir_.c_str(), 1);
      for (const auto& [name, value] : env) {
        setenv(name.c_str(), value.c_str(), 1);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }

  ~Process() {
    if (!exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Waits for the process to exit (SIGKILL after `timeout`); its exit code.
  int Wait(absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (absl::Now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Waits until the output holds `text` (or the process exits).
  bool WaitForOutput(absl::string_view text,
                     absl::Duration timeout = absl::Seconds(60)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (absl::StrContains(ReadFile(output_path_), text)) return true;
      if (waitpid(pid_, nullptr, WNOHANG) != 0) {
        exited_ = true;
        return absl::StrContains(ReadFile(output_path_), text);
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return false;
  }

  // SIGTERM, then waits for the exit.
  int Stop() {
    kill(pid_, SIGTERM);
    return Wait();
  }

  // stdout, stderr and every glog file.
  std::string Output() const {
    std::string all = ReadFile(output_path_);
    for (const auto& entry : fs::recursive_directory_iterator(log_dir_)) {
      if (entry.is_regular_file()) all += ReadFile(entry.path());
    }
    return all;
  }

 private:
  pid_t pid_;
  bool exited_ = false;
  std::string output_path_;
  std::string log_dir_;
};

void ExpectNoSecret(const std::string& output, const std::string& what) {
  for (const std::string& secret : Secrets()) {
    EXPECT_THAT(output, Not(HasSubstr(secret))) << what << ":\n" << output;
  }
}

struct FailureCase {
  std::string what;
  std::string binary;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  int exit_code;
  std::string names;  // the error still says what is wrong
};

TEST(SecretsTest, StartUpFailuresNameTheSettingNotItsSecret) {
  const std::string db = absl::StrCat("--db=sqlite:", Tmp("db"), "/");
  const std::string unreachable_pg =
      "--db=postgresql://herald:DbS3cret@127.0.0.1:1/herald";
  const std::string malformed_pg =
      "--db=postgresql://herald:DbS3cret@[::1/herald";
  const std::string bad_db = "mysql://herald:DbS3cret@db/herald";
  const std::string no_broker = "--brokers=127.0.0.1:1";
  const std::vector<FailureCase> cases = {
      {"gateway, PostgreSQL unreachable",
       "gateway/gateway",
       {no_broker, unreachable_pg, "--http_port=0"},
       {},
       1,
       "cannot connect to PostgreSQL"},
      {"gateway, URL libpq cannot parse",
       "gateway/gateway",
       {no_broker, malformed_pg, "--http_port=0"},
       {},
       1,
       "postgresql://herald:***@[::1"},
      {"gateway, bad db value",
       "gateway/gateway",
       {no_broker, "--http_port=0"},
       {{"HERALD_DB", bad_db}},
       2,
       "'db' = 'mysql://herald:***@db/herald' in environment variable"},
      {"gateway, refused kafka property",
       "gateway/gateway",
       {no_broker, db + "gateway.db", "--http_port=0",
        "--config=" + KafkaConfig(true)},
       {},
       1,
       "kafka property 'ssl_key' = '***'"},
      {"email worker, PostgreSQL unreachable",
       "workers/email",
       {no_broker, unreachable_pg, "--admin_port=0",
        "--smtp_url=smtp://mailer:SmtpS3cret@127.0.0.1:1"},
       {},
       1,
       "cannot connect to PostgreSQL"},
      {"email worker, bad smtp_url",
       "workers/email",
       {no_broker, db + "email.db", "--admin_port=0",
        "--smtp_url=smtpx://mailer:SmtpS3cret@127.0.0.1:1"},
       {},
       1,
       "smtp_url 'smtpx://mailer:***@127.0.0.1:1'"},
      {"analytics worker, URL libpq cannot parse",
       "workers/analytics",
       {no_broker, malformed_pg, "--admin_port=0"},
       {},
       1,
       "postgresql://herald:***@[::1"},
      {"analytics worker, bad db value",
       "workers/analytics",
       {no_broker, "--admin_port=0", "--db=" + bad_db},
       {},
       2,
       "'db' = 'mysql://herald:***@db/herald' in flag --db"},
      {"crm worker, refused kafka property",
       "workers/crm",
       {no_broker, db + "crm.db", "--admin_port=0",
        "--config=" + KafkaConfig(true)},
       {},
       1,
       "kafka property 'ssl_key' = '***'"},
      {"crm worker, PostgreSQL unreachable",
       "workers/crm",
       {no_broker, unreachable_pg, "--admin_port=0"},
       {},
       1,
       "cannot connect to PostgreSQL"},
      {"heraldctl, refused kafka property",
       "tools/heraldctl/heraldctl",
       {no_broker, "--config=" + KafkaConfig(true), "send", "UserRegistered",
        R"({"userId":"u1","email":"a@b.co"})"},
       {},
       1,
       "kafka property 'ssl_key' = '***'"},
  };
  for (const FailureCase& c : cases) {
    Process process(Binary(c.binary), c.args, c.env);
    EXPECT_EQ(process.Wait(), c.exit_code) << c.what << process.Output();
    const std::string output = process.Output();
    EXPECT_THAT(output, HasSubstr(c.names)) << c.what;
    ExpectNoSecret(output, c.what);
  }
}

TEST(SecretsTest, RunningGatewayLogsItsDatabaseWithoutThePassword) {
  std::string db = absl::StrCat("sqlite:", Tmp("db"), "/running.db");
  std::string shown = db;
  std::unique_ptr<db::testing::PostgresServer> server;
  if (db::testing::PostgresAvailable()) {
    auto started = db::testing::PostgresServer::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    server = *std::move(started);
    // The throwaway server trusts loopback: the password is carried along
    // (and must be hidden), not checked.
    db = absl::StrCat("postgresql://postgres:DbS3cret@127.0.0.1:",
                      server->port(), "/herald_test");
    shown = "postgresql://postgres:***@127.0.0.1:";
  } else if (db::testing::CiRequiresEveryBackend()) {
    FAIL() << "CI=true and no PostgreSQL (bash tools/setup.sh)";
  }
  Process gateway(Binary("gateway/gateway"),
                  {"--brokers=127.0.0.1:1", "--db=" + db, "--http_port=0",
                   "--config=" + KafkaConfig(false)});
  ASSERT_TRUE(gateway.WaitForOutput("gateway listening on"))
      << gateway.Output();
  EXPECT_EQ(gateway.Stop(), 0);
  const std::string output = gateway.Output();
  EXPECT_THAT(output, HasSubstr(shown));
  ExpectNoSecret(output, "running gateway");
}

// Answers every SMTP session with a permanent refusal at the greeting.
class RefusingSmtpServer {
 public:
  RefusingSmtpServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this] {
      while (true) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        const char kRefusal[] = "554 no mail service here\r\n";
        (void)!write(c, kRefusal, sizeof(kRefusal) - 1);
        close(c);
      }
    });
  }
  ~RefusingSmtpServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
  std::thread thread_;
};

TEST(SecretsTest, DeadLetteredEmailCarriesNoSmtpPassword) {
  auto cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  for (const char* topic : {"notification.email", "notification.email.dlq"}) {
    ASSERT_TRUE((*cluster)->CreateTopic(topic, 1).ok());
  }
  const std::string brokers =
      absl::StrCat("--brokers=", (*cluster)->bootstrap_servers());
  RefusingSmtpServer smtp;
  Process worker(
      Binary("workers/email"),
      {brokers, absl::StrCat("--db=sqlite:", Tmp("db"), "/email-running.db"),
       "--admin_port=0", "--config=" + KafkaConfig(false),
       absl::StrCat("--smtp_url=smtp://mailer:SmtpS3cret@127.0.0.1:",
                    smtp.port())},
      {{"HERALD_CONSUMER_SESSION_TIMEOUT_MS", "6000"},
       {"HERALD_CONSUMER_HEARTBEAT_INTERVAL_MS", "1000"}});
  Process send(
      Binary("tools/heraldctl/heraldctl"),
      {brokers, "--config=" + KafkaConfig(false), "send", "EmailNotification",
       R"({"to":"ada@example.com","subject":"Hi","body":"Hello"})"});
  ASSERT_EQ(send.Wait(), 0) << send.Output();
  // The 554 is permanent: the email is dead-lettered at once, with the
  // error in its headers; heraldctl prints them.
  Process tail(Binary("tools/heraldctl/heraldctl"),
               {brokers, "--config=" + KafkaConfig(false), "tail",
                "notification.email.dlq", "--count=1", "--timeout_s=90"});
  ASSERT_EQ(tail.Wait(absl::Seconds(120)), 0) << tail.Output();
  EXPECT_EQ(worker.Stop(), 0);
  const std::string dead_letter = tail.Output();
  EXPECT_THAT(dead_letter, HasSubstr("smtp://mailer:***@127.0.0.1:"));
  EXPECT_THAT(dead_letter, HasSubstr("(last reply 554)"));
  EXPECT_THAT(dead_letter, HasSubstr("attempts=1 "));  // Permanent
  ExpectNoSecret(dead_letter, "heraldctl tail of the dead letter");
  ExpectNoSecret(worker.Output(), "email worker");
  ExpectNoSecret(send.Output(), "heraldctl send");
}

}  // namespace
}  // namespace herald
