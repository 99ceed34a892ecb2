// The email worker's parts: templates, RFC 5322 rendering, Maildir and SMTP
// delivery (against a small SMTP sink on loopback).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "workers/email/email_message.h"
#include "workers/email/mailer.h"
#include "workers/email/templates.h"

namespace herald {
namespace workers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Accepts SMTP sessions on a loopback port and keeps each message's DATA.
class SmtpSink {
 public:
  SmtpSink() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SmtpSink() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

 private:
  void Serve() {
    while (true) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      Session(c);
      close(c);
    }
  }
  void Session(int c) {
    auto say = [c](const std::string& line) {
      std::string out = line + "\r\n";
      (void)!write(c, out.data(), out.size());
    };
    say("220 sink ESMTP");
    std::string buffer, data;
    bool in_data = false;
    char chunk[4096];
    while (true) {
      ssize_t n = read(c, chunk, sizeof(chunk));
      if (n <= 0) return;
      buffer.append(chunk, n);
      size_t eol;
      while ((eol = buffer.find("\r\n")) != std::string::npos) {
        std::string line = buffer.substr(0, eol);
        buffer.erase(0, eol + 2);
        if (in_data) {
          if (line == ".") {
            in_data = false;
            {
              absl::MutexLock lock(&mu_);
              messages_.push_back(data);
            }
            data.clear();
            say("250 queued");
          } else {
            data += line + "\r\n";
          }
        } else if (line.rfind("DATA", 0) == 0) {
          in_data = true;
          say("354 go ahead");
        } else if (line.rfind("QUIT", 0) == 0) {
          say("221 bye");
          return;
        } else {
          say("250 ok");
        }
      }
    }
  }

  int fd_;
  int port_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> messages_;
};

TEST(TemplatesTest, RendersVariablesAndEscapesHtml) {
  auto email = RenderTemplate("welcome", {{"name", "Ada <3"}}, "ada@x.io");
  ASSERT_TRUE(email.ok());
  EXPECT_EQ(email->subject, "Welcome to Herald, Ada <3!");
  EXPECT_THAT(email->text, HasSubstr("Hello Ada <3,"));
  EXPECT_THAT(email->html, HasSubstr("Hello Ada &lt;3,"));
  EXPECT_EQ(RenderTemplate("nope", {}, "a@b.co").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FormatAmount(1999, "EUR"), "19.99 EUR");
  EXPECT_EQ(FormatAmount(500, "JPY"), "500 JPY");
  EXPECT_EQ(FormatAmount(1234, "KWD"), "1.234 KWD");
  EXPECT_EQ(FormatAmount(5, "USD"), "0.05 USD");
}

TEST(EmailMessageTest, IsRfc5322MultipartWithCrlf) {
  Email email{"ada@x.io", "Grüße", "line one\nline two", "<p>hi</p>"};
  std::string eml =
      RenderRfc5322(email, "evt-1", absl::FromUnixSeconds(1764000000));
  EXPECT_THAT(eml, HasSubstr("To: ada@x.io\r\n"));
  EXPECT_THAT(eml, HasSubstr("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"));
  EXPECT_THAT(eml, HasSubstr("Date: Mon, 24 Nov 2025 16:00:00 +0000\r\n"));
  EXPECT_THAT(eml, HasSubstr("Message-ID: <evt-1@herald.local>\r\n"));
  EXPECT_THAT(eml, HasSubstr("multipart/alternative"));
  EXPECT_THAT(eml, HasSubstr("line one\r\nline two\r\n"));
  EXPECT_THAT(eml, HasSubstr("Content-Type: text/html; charset=utf-8"));
  EXPECT_EQ(eml.find("\n\n"), std::string::npos) << "bare LF";
}

TEST(MaildirTest, SameIdDeliveredTwiceLeavesOneFile) {
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/maildir");
  auto mailer = NewMaildirMailer(dir);
  ASSERT_TRUE(mailer.ok());
  ASSERT_TRUE((*mailer)->Deliver("evt-1", "a@b.co", "first").ok());
  ASSERT_TRUE((*mailer)->Deliver("evt-1", "a@b.co", "second").ok());
  ASSERT_TRUE((*mailer)->Deliver("evt-2", "a@b.co", "other").ok());
  int files = 0;
  for (auto& e : fs::directory_iterator(dir + "/new")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 2);
  std::ifstream in(dir + "/new/evt-1.eml");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "first");
  EXPECT_TRUE(fs::is_empty(dir + "/tmp"));
  EXPECT_FALSE((*mailer)->Deliver("../evil", "a@b.co", "x").ok());
}

TEST(SmtpTest, DeliversToAnSmtpServer) {
  SmtpSink sink;
  auto mailer = NewSmtpMailer(absl::StrCat("smtp://127.0.0.1:", sink.port()),
                              "<no-reply@herald.local>");
  ASSERT_TRUE(mailer.ok());
  Email email{"ada@x.io", "Hello", "body text", "<p>body</p>"};
  std::string eml = RenderRfc5322(email, "evt-9", absl::Now());
  absl::Status sent = (*mailer)->Deliver("evt-9", "ada@x.io", eml);
  ASSERT_TRUE(sent.ok()) << sent;
  ASSERT_EQ(sink.messages().size(), 1u);
  EXPECT_THAT(sink.messages()[0], HasSubstr("Subject: Hello"));
  EXPECT_THAT(sink.messages()[0], HasSubstr("body text"));
}

TEST(SmtpTest, UnreachableServerIsUnavailable) {
  int port;
  {
    SmtpSink gone;
    port = gone.port();
  }
  auto mailer = NewSmtpMailer(absl::StrCat("smtp://127.0.0.1:", port),
                              "<no-reply@herald.local>");
  ASSERT_TRUE(mailer.ok());
  absl::Status sent = (*mailer)->Deliver("evt", "a@b.co", "x");
  EXPECT_EQ(sent.code(), absl::StatusCode::kUnavailable) << sent;
  EXPECT_FALSE(NewSmtpMailer("http://x", "f").ok());
}

}  // namespace
}  // namespace workers
}  // namespace herald
