// The email worker's parts: templates, RFC 5322 rendering, Maildir and SMTP
// delivery (against a small SMTP sink on loopback, and file systems that
// really fill up or turn read-only), and which failures are outages.
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
#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "database/testing/tmpfs.h"
#include "workers/email/email_message.h"
#include "workers/email/mailer.h"
#include "workers/email/templates.h"

namespace herald {
namespace workers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// How an SmtpSink behaves, for the failures a real server shows.
struct SinkBehavior {
  // The first line; a 4xx or 5xx greeting is followed by a hang-up.
  std::string greeting = "220 sink ESMTP";
  // The answer to RCPT TO.
  std::string rcpt_reply = "250 ok";
  // Accepts connections and never says a word (a hung server).
  bool silent = false;
  // Resets the connection (RST) when the client says MAIL FROM.
  bool reset_on_mail = false;
};

// Accepts SMTP sessions on a loopback port and keeps each message's DATA.
class SmtpSink {
 public:
  explicit SmtpSink(SinkBehavior behavior = {})
      : behavior_(std::move(behavior)) {
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
    if (behavior_.silent) {
      char ignored[256];
      while (read(c, ignored, sizeof(ignored)) > 0) {
      }
      return;  // the client gave up
    }
    say(behavior_.greeting);
    if (behavior_.greeting[0] != '2') return;
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
        } else if (line.rfind("MAIL FROM", 0) == 0 && behavior_.reset_on_mail) {
          linger reset{1, 0};  // close() sends RST
          setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
          return;
        } else if (line.rfind("RCPT TO", 0) == 0) {
          say(behavior_.rcpt_reply);
        } else {
          say("250 ok");
        }
      }
    }
  }

  const SinkBehavior behavior_;
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
  // Nothing listens: the server is down, not this email refused.
  EXPECT_TRUE(IsDependencyOutage(sent)) << sent;
  EXPECT_FALSE(NewSmtpMailer("http://x", "f").ok());
}

// Delivers one small email through a sink behaving as told.
absl::Status DeliverTo(const SinkBehavior& behavior,
                       absl::Duration timeout = absl::Seconds(30)) {
  SmtpSink sink(behavior);
  auto mailer = NewSmtpMailer(absl::StrCat("smtp://127.0.0.1:", sink.port()),
                              "<no-reply@herald.local>", timeout);
  if (!mailer.ok()) return mailer.status();
  Email email{"ada@x.io", "Hello", "body text", "<p>body</p>"};
  return (*mailer)->Deliver("evt-1", "ada@x.io",
                            RenderRfc5322(email, "evt-1", absl::Now()));
}

TEST(SmtpTest, ServerGoingAwayIsAnOutage) {
  // 421: service not available, closing the channel. At the greeting and
  // in the middle of a session alike.
  SinkBehavior going_away;
  going_away.greeting = "421 sink busy, try later";
  absl::Status greeting = DeliverTo(going_away);
  EXPECT_EQ(greeting.code(), absl::StatusCode::kUnavailable) << greeting;
  EXPECT_TRUE(IsDependencyOutage(greeting)) << greeting;
  SinkBehavior shutting_down;
  shutting_down.rcpt_reply = "421 shutting down";
  absl::Status rcpt = DeliverTo(shutting_down);
  EXPECT_EQ(rcpt.code(), absl::StatusCode::kUnavailable) << rcpt;
  EXPECT_TRUE(IsDependencyOutage(rcpt)) << rcpt;
}

TEST(SmtpTest, ConnectionResetIsAnOutage) {
  SinkBehavior reset;
  reset.reset_on_mail = true;
  absl::Status sent = DeliverTo(reset);
  EXPECT_EQ(sent.code(), absl::StatusCode::kUnavailable) << sent;
  EXPECT_TRUE(IsDependencyOutage(sent)) << sent;
}

TEST(SmtpTest, HungServerTimesOutAsAnOutage) {
  absl::Time start = absl::Now();
  SinkBehavior hung;
  hung.silent = true;
  absl::Status sent = DeliverTo(hung, absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(sent.code(), absl::StatusCode::kUnavailable) << sent;
  EXPECT_TRUE(IsDependencyOutage(sent)) << sent;
}

TEST(SmtpTest, RefusalsOfThisEmailAreNotOutages) {
  // 450: this mailbox, for now. The record's own retries handle it.
  SinkBehavior mailbox_busy;
  mailbox_busy.rcpt_reply = "450 mailbox busy";
  absl::Status busy = DeliverTo(mailbox_busy);
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_FALSE(IsDependencyOutage(busy)) << busy;
  // 550: never.
  SinkBehavior no_such_user;
  no_such_user.rcpt_reply = "550 no such user";
  absl::Status refused = DeliverTo(no_such_user);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_FALSE(IsDependencyOutage(refused)) << refused;
}

// The Maildir's file system is the dependency: when it cannot take an email
// (full, read-only...), that is an outage; a Maildir that is not set up as
// one is not.

int CountFiles(const std::string& dir) {
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  return files;
}

TEST(MaildirTest, FullFileSystemIsAnOutageUntilThereIsRoom) {
  auto tmpfs = db::testing::Tmpfs::Mount(256 << 10);
  if (!tmpfs.ok()) GTEST_SKIP() << tmpfs.status();
  std::string dir = (*tmpfs)->path() + "/maildir";
  auto mailer = NewMaildirMailer(dir);
  ASSERT_TRUE(mailer.ok()) << mailer.status();
  // Fill it up.
  std::string filler = (*tmpfs)->path() + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    std::string block(4096, 'f');
    while (out.write(block.data(), block.size())) {
    }
  }
  const std::string eml(64 << 10, 'x');
  absl::Status full = (*mailer)->Deliver("evt-1", "a@b.co", eml);
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable) << full;
  EXPECT_THAT(full.message(), HasSubstr("No space left on device"));
  EXPECT_TRUE(IsDependencyOutage(full)) << full;
  EXPECT_EQ(CountFiles(dir + "/tmp"), 0) << "a failed attempt left a file";
  EXPECT_EQ(CountFiles(dir + "/new"), 0);
  fs::remove(filler);
  absl::Status room = (*mailer)->Deliver("evt-1", "a@b.co", eml);
  EXPECT_TRUE(room.ok()) << room;
  EXPECT_EQ(CountFiles(dir + "/new"), 1);
}

TEST(MaildirTest, ReadOnlyFileSystemIsAnOutageUntilWritable) {
  auto tmpfs = db::testing::Tmpfs::Mount(1 << 20);
  if (!tmpfs.ok()) GTEST_SKIP() << tmpfs.status();
  std::string dir = (*tmpfs)->path() + "/maildir";
  auto mailer = NewMaildirMailer(dir);
  ASSERT_TRUE(mailer.ok()) << mailer.status();
  ASSERT_TRUE((*tmpfs)->SetReadOnly(true).ok());
  absl::Status read_only = (*mailer)->Deliver("evt-1", "a@b.co", "x");
  EXPECT_EQ(read_only.code(), absl::StatusCode::kUnavailable) << read_only;
  EXPECT_THAT(read_only.message(), HasSubstr("Read-only file system"));
  EXPECT_TRUE(IsDependencyOutage(read_only)) << read_only;
  ASSERT_TRUE((*tmpfs)->SetReadOnly(false).ok());
  absl::Status writable = (*mailer)->Deliver("evt-1", "a@b.co", "x");
  EXPECT_TRUE(writable.ok()) << writable;
}

TEST(MaildirTest, WriteFailingWithNoSpaceIsAnOutage) {
  // Without mounting anything: the email's file in tmp/ leads to /dev/full,
  // whose writes fail with ENOSPC as a full disk's do.
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/maildir_devfull");
  auto mailer = NewMaildirMailer(dir);
  ASSERT_TRUE(mailer.ok()) << mailer.status();
  std::error_code ec;
  fs::create_symlink("/dev/full", dir + "/tmp/evt-1.eml", ec);
  if (ec) GTEST_SKIP() << "no /dev/full here: " << ec.message();
  absl::Status full = (*mailer)->Deliver("evt-1", "a@b.co", "x");
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable) << full;
  EXPECT_THAT(full.message(), HasSubstr("No space left on device"));
  EXPECT_TRUE(IsDependencyOutage(full)) << full;
  absl::Status again = (*mailer)->Deliver("evt-1", "a@b.co", "x");
  EXPECT_TRUE(again.ok()) << again;  // the failed attempt cleaned tmp/ up
}

TEST(MaildirTest, MaildirThatIsNotSetUpIsNotAnOutage) {
  // tmp/ replaced by a file: ENOTDIR is a setup problem, not the file
  // system failing; the record's own retries (and dead letter) handle it.
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/maildir_broken");
  auto mailer = NewMaildirMailer(dir);
  ASSERT_TRUE(mailer.ok()) << mailer.status();
  fs::remove(dir + "/tmp");
  std::ofstream(dir + "/tmp") << "not a folder";
  absl::Status broken = (*mailer)->Deliver("evt-1", "a@b.co", "x");
  EXPECT_EQ(broken.code(), absl::StatusCode::kUnavailable) << broken;
  EXPECT_THAT(broken.message(), HasSubstr("Not a directory"));
  EXPECT_FALSE(IsDependencyOutage(broken)) << broken;
}

}  // namespace
}  // namespace workers
}  // namespace herald
