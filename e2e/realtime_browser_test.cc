// A real browser on the realtime worker's live page: headless Chromium
// (Debian's `chromium`, tools/setup.sh) opens GET /, a payment is POSTed
// through the gateway, and the page's DOM shows it within 2 seconds. The
// browser is driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4),
// so nothing is downloaded and no port is guessed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gateway/auth/scopes.h"
#include "gateway/gateway.h"
#include "gateway/schema.h"
#include "messaging/mock_cluster.h"
#include "messaging/testing/test_support.h"
#include "web/client.h"
#include "web/json.h"
#include "workers/realtime/channels.h"
#include "workers/realtime/realtime_worker.h"

namespace herald {
namespace {

const char* Chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return nullptr;
}

// Chromium with its DevTools protocol on a pipe.
class Browser {
 public:
  bool Launch(const std::string& profile) {
    int to_browser[2], from_browser[2];
    if (pipe(to_browser) != 0 || pipe(from_browser) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      // The browser reads commands on fd 3 and writes answers on fd 4.
      dup2(to_browser[0], 3);
      dup2(from_browser[1], 4);
      for (int fd = 5; fd < 1024; ++fd) close(fd);
      const std::string data_dir = absl::StrCat("--user-data-dir=", profile);
      setenv("HOME", profile.c_str(), 1);
      execl(Chromium(), "chromium", "--headless=new", "--no-sandbox",
            "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--remote-debugging-pipe", data_dir.c_str(),
            "about:blank", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    out_ = to_browser[1];
    in_ = from_browser[0];
    return pid_ > 0;
  }

  ~Browser() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (in_ >= 0) close(in_);
  }

  // Sends a command and returns its answer's "result" (null on error or
  // after `timeout`).
  json::value Call(const std::string& method, json::object params,
                   const std::string& session = "",
                   absl::Duration timeout = absl::Seconds(15)) {
    const int id = ++next_id_;
    json::object message{{"id", id}, {"method", method}, {"params", params}};
    if (!session.empty()) message["sessionId"] = session;
    std::string text = json::serialize(message);
    text.push_back('\0');
    if (write(out_, text.data(), text.size()) !=
        static_cast<ssize_t>(text.size())) {
      return nullptr;
    }
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      size_t end;
      while ((end = buffer_.find('\0')) != std::string::npos) {
        std::string one = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        json::error_code ec;
        json::value answer = json::parse(one, ec);
        if (ec || !answer.is_object()) continue;
        const json::value* got = answer.as_object().if_contains("id");
        if (got == nullptr || !got->is_int64() || got->as_int64() != id) {
          continue;  // an event, or another answer
        }
        if (const json::value* r = answer.as_object().if_contains("result")) {
          return *r;
        }
        ADD_FAILURE() << method << ": " << one;
        return nullptr;
      }
      pollfd p{in_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char chunk[65536];
      ssize_t n = read(in_, chunk, sizeof(chunk));
      if (n <= 0) return nullptr;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return nullptr;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int in_ = -1;
  int next_id_ = 0;
  std::string buffer_;
};

std::string Field(const std::string& body, const char* key) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains(key)) return "";
  return std::string(v.as_object().at(key).as_string());
}

// The lines of a component's /metrics that start with `prefix`, to tell
// where events stopped when the page does not show them.
std::string MetricsOf(const std::string& who, int port,
                      absl::string_view prefix) {
  auto metrics = web::HttpClient("127.0.0.1", port).Send("GET", "/metrics");
  if (!metrics.ok())
    return absl::StrCat(who, ": ", metrics.status().ToString());
  std::string out;
  for (absl::string_view line : absl::StrSplit(metrics->body, '\n')) {
    if (absl::StartsWith(line, prefix))
      absl::StrAppend(&out, who, ": ", line, "\n");
  }
  return out;
}

TEST(RealtimeBrowserTest, ThePageShowsAPaymentPostedThroughTheGateway) {
  ASSERT_NE(Chromium(), nullptr)
      << "chromium is not installed: run tools/setup.sh";
  auto cluster = MockCluster::Start();
  ASSERT_TRUE(cluster.ok());
  for (const std::string& topic : workers::RealtimeTopics()) {
    ASSERT_TRUE((*cluster)->CreateTopic(topic, 3).ok());
  }
  ASSERT_TRUE((*cluster)->CreateTopic("notification.email", 1).ok());
  const std::string tmp = std::getenv("TEST_TMPDIR");
  Config config = testing::TestConfig(**cluster);
  gateway::GatewaySettings gateway_settings;
  gateway_settings.database.url = absl::StrCat("sqlite:", tmp, "/gateway.db");
  gateway_settings.http_address = "127.0.0.1";
  gateway_settings.http_port = 0;
  gateway_settings.admin_port = 0;
  absl::StatusOr<std::string> key =
      gateway::CreateApiKeyIn(gateway_settings.database.url, "browser-test",
                              gateway::auth::ScopeSet::All());
  ASSERT_TRUE(key.ok()) << key.status();
  const web::HeaderList auth = {{"Authorization", "Bearer " + *key},
                                {"Content-Type", "application/json"}};
  auto gw = gateway::Gateway::Start(config, gateway_settings,
                                    gateway::GatewayOptions());
  ASSERT_TRUE(gw.ok()) << gw.status();
  workers::RealtimeSettings settings;
  settings.http_port = 0;
  auto realtime = workers::RealtimeWorker::Start(config, settings);
  ASSERT_TRUE(realtime.ok()) << realtime.status();

  Browser browser;
  ASSERT_TRUE(browser.Launch(absl::StrCat(tmp, "/chromium")));
  json::value target = browser.Call(
      "Target.createTarget",
      {{"url", absl::StrCat("http://127.0.0.1:", (*realtime)->port(), "/")}});
  ASSERT_TRUE(target.is_object()) << "the browser did not answer";
  json::value attached =
      browser.Call("Target.attachToTarget",
                   {{"targetId", target.at("targetId")}, {"flatten", true}});
  ASSERT_TRUE(attached.is_object());
  const std::string session(attached.at("sessionId").as_string());
  auto evaluate = [&](const std::string& expression) -> std::string {
    json::value r = browser.Call(
        "Runtime.evaluate",
        {{"expression", expression}, {"returnByValue", true}}, session);
    if (!r.is_object() || !r.as_object().contains("result")) return "";
    const json::value& value = r.at("result").as_object().contains("value")
                                   ? r.at("result").at("value")
                                   : json::value(nullptr);
    return value.is_string() ? std::string(value.as_string()) : "";
  };
  auto page_text = [&] {
    return evaluate("document.body ? document.body.innerText : ''");
  };
  // The page is subscribed: its connection state says "live" once the
  // server's `subscribed` event arrived (the page's subtitle says "live"
  // from the start, so the state element itself is read). Events POSTed
  // before that would be missed, as by any client not yet connected.
  std::string state;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        state = evaluate(
            "(document.getElementById('state') || {}).textContent || ''");
        return absl::StartsWith(state, "live");
      },
      absl::Seconds(20)))
      << "the page's connection state: " << state << "\n"
      << page_text();
  std::string text;
  web::HttpClient client("127.0.0.1", (*gw)->port());
  auto user = client.Send("POST", "/api/v1/users",
                          R"({"email":"ada@example.com","name":"Ada"})", auth);
  ASSERT_TRUE(user.ok());
  ASSERT_EQ(user->status, 201) << user->body;
  const absl::Time posted = absl::Now();
  auto payment =
      client.Send("POST", "/api/v1/payments",
                  absl::StrCat(R"({"user_id":")", Field(user->body, "user_id"),
                               R"(","amount":1999,"currency":"EUR"})"),
                  auth);
  ASSERT_TRUE(payment.ok());
  ASSERT_EQ(payment->status, 201) << payment->body;
  const std::string payment_id = Field(payment->body, "payment_id");
  ASSERT_FALSE(payment_id.empty());
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        text = page_text();
        return absl::StrContains(text, payment_id);
      },
      absl::Seconds(2)))
      << "the page does not show " << payment_id << " 2 s after the POST:\n"
      << text << "\nWhere the events stopped:\n"
      << MetricsOf("gateway", (*gw)->admin_port(), "herald_outbox")
      << MetricsOf("realtime worker", (*realtime)->port(), "herald_realtime");
  const absl::Duration shown = absl::Now() - posted;
  EXPECT_LT(shown, absl::Seconds(2));
  EXPECT_TRUE(absl::StrContains(text, "pending")) << text;
  // No email reached the public page.
  EXPECT_FALSE(absl::StrContains(text, "ada@example.com")) << text;
  std::cout << "payment shown " << shown << " after its POST\n";
}

}  // namespace
}  // namespace herald
