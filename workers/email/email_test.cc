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

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/dependency_outage.h"
#include "database/testing/tmpfs.h"
#include "messaging/retry.h"
#include "workers/email/email_message.h"
#include "workers/email/mailer.h"
#include "workers/email/templates.h"

namespace herald {
namespace workers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

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
      RenderRfc5322(email, "evt-1", absl::FromUnixSeconds(1764000000)).value();
  EXPECT_THAT(eml, HasSubstr("To: ada@x.io\r\n"));
  EXPECT_THAT(eml, HasSubstr("Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"));
  EXPECT_THAT(eml, HasSubstr("Date: Mon, 24 Nov 2025 16:00:00 +0000\r\n"));
  EXPECT_THAT(eml, HasSubstr("Message-ID: <evt-1@herald.local>\r\n"));
  EXPECT_THAT(eml, HasSubstr("multipart/alternative"));
  EXPECT_THAT(eml, HasSubstr("line one\r\nline two\r\n"));
  EXPECT_THAT(eml, HasSubstr("Content-Type: text/html; charset=utf-8"));
  EXPECT_EQ(eml.find("\n\n"), std::string::npos) << "bare LF";
}

// The header section of `eml`, its lines without their CRLF.
std::vector<std::string> HeaderLines(const std::string& eml) {
  return absl::StrSplit(eml.substr(0, eml.find("\r\n\r\n")), "\r\n");
}

TEST(EmailMessageTest, RecipientsThatAreNotOnePlainAddressAreRefused) {
  for (const std::string& to : std::vector<std::string>{
           "ada@x.io\r\nBcc: eve@evil.io", "ada@x.io\nBcc: eve@evil.io",
           "ada@x.io, eve@evil.io", "ada@x.io;eve@evil.io", "Ada <ada@x.io>",
           "ada", "@x.io", "ada@", "ada@x@y", "", "a da@x.io",
           std::string("ada@x.io\0eve", 12), "ad\xc3\xa4@x.io",
           std::string(250, 'a') + "@x.io"}) {
    Email email{to, "Hello", "text", "<p>html</p>"};
    absl::StatusOr<std::string> eml =
        RenderRfc5322(email, "evt-1", absl::Now());
    ASSERT_FALSE(eml.ok()) << absl::CEscape(to);
    EXPECT_EQ(eml.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(eml.status().message()),
                HasSubstr("not one plain address"));
    // The reason may be logged: no raw line break in it.
    EXPECT_EQ(eml.status().message().find_first_of("\r\n"),
              absl::string_view::npos);
  }
  EXPECT_TRUE(ValidateAddress("ada.lovelace+herald@mail.example.com").ok());
}

TEST(EmailMessageTest, SubjectCannotAddHeaders) {
  Email email{"ada@x.io", "Hi\r\nBcc: eve@evil.io\nX-Evil: 1\x7f", "t", "h"};
  std::string eml = RenderRfc5322(email, "evt-1", absl::Now()).value();
  for (const std::string& line : HeaderLines(eml)) {
    EXPECT_FALSE(absl::StartsWith(line, "Bcc")) << line;
    EXPECT_FALSE(absl::StartsWith(line, "X-Evil")) << line;
  }
  EXPECT_THAT(eml, HasSubstr("Subject: Hi  Bcc: eve@evil.io X-Evil: 1 \r\n"));
}

// Decodes the encoded words of a Subject header written by RenderRfc5322.
std::string DecodeSubject(const std::string& eml) {
  std::string decoded;
  bool in_subject = false;
  for (const std::string& header : HeaderLines(eml)) {
    absl::string_view line = header;
    if (absl::ConsumePrefix(&line, "Subject: ")) {
      in_subject = true;
    } else if (!in_subject || !absl::ConsumePrefix(&line, " ")) {
      in_subject = false;
      continue;
    }
    absl::string_view word = line;
    EXPECT_TRUE(absl::ConsumePrefix(&word, "=?UTF-8?B?")) << line;
    EXPECT_TRUE(absl::ConsumeSuffix(&word, "?=")) << line;
    std::string bytes;
    EXPECT_TRUE(absl::Base64Unescape(word, &bytes)) << line;
    decoded += bytes;
  }
  return decoded;
}

TEST(EmailMessageTest, LongAndNonAsciiSubjectsAreEncodedAndFolded) {
  std::string subject;
  for (int i = 0; i < 300; ++i) subject += "Grüße ";  // 2400 bytes
  Email email{"ada@x.io", subject, "t", "h"};
  std::string eml = RenderRfc5322(email, "evt-1", absl::Now()).value();
  for (absl::string_view line : absl::StrSplit(eml, "\r\n")) {
    EXPECT_LE(line.size(), 76u) << line;
  }
  EXPECT_EQ(DecodeSubject(eml), subject);  // no character split
  EXPECT_EQ(eml.find("ü"), std::string::npos) << "raw 8-bit in a header";
}

// Decodes a quoted-printable body.
std::string DecodeQuotedPrintable(absl::string_view qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] != '=') {
      out.push_back(qp[i]);
    } else if (qp.substr(i + 1, 2) == "\r\n") {
      i += 2;  // soft line break
    } else {
      int byte = 0;
      EXPECT_TRUE(absl::SimpleHexAtoi(qp.substr(i + 1, 2), &byte));
      out.push_back(static_cast<char>(byte));
      i += 2;
    }
  }
  return out;
}

TEST(EmailMessageTest, BodiesAreQuotedPrintableWithShortLines) {
  const std::string text =
      absl::StrCat(std::string(5000, 'x'), " end= \n", "Grüße\r\nlast line\t");
  Email email{"ada@x.io", "Hello", text, "<p>html</p>"};
  std::string eml = RenderRfc5322(email, "evt-1", absl::Now()).value();
  for (absl::string_view line : absl::StrSplit(eml, "\r\n")) {
    EXPECT_LE(line.size(), 76u) << line;
  }
  const std::string start =
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  size_t body = eml.find(start) + start.size();
  size_t end = eml.find("\r\n--=_herald_evt-1", body);
  const std::string crlf = absl::StrReplaceAll(
      absl::StrReplaceAll(text, {{"\r\n", "\n"}}), {{"\n", "\r\n"}});
  EXPECT_TRUE(DecodeQuotedPrintable(eml.substr(body, end - body)) == crlf)
      << eml.substr(body, 400);
}

TEST(EmailMessageTest, EventIdsBecomeSafeTokens) {
  EXPECT_EQ(MessageToken("0b8e1c52-6c3e-4a7c-9f57-2f1d8e3b5a10"),
            "0b8e1c52-6c3e-4a7c-9f57-2f1d8e3b5a10");
  EXPECT_EQ(MessageToken("kafka-payment.created-0-42"),
            "kafka-payment.created-0-42");
  EXPECT_EQ(MessageToken("a\r\nBcc: x>"), "a=0D=0ABcc=3A=20x=3E");
  EXPECT_EQ(MessageToken(".a..b."), "=2Ea=2E=2Eb=2E");
  EXPECT_EQ(MessageToken("../../etc/passwd"), "=2E=2E=2F=2E=2E=2Fetc=2Fpasswd");
  const std::string long_id(5000, 'x');
  EXPECT_EQ(MessageToken(long_id).size(), 60u);
  EXPECT_NE(MessageToken(long_id), MessageToken(long_id + "y"));
  for (const std::string& id :
       {std::string("a\r\nb"), long_id, std::string(".."), std::string(""),
        std::string("ü"), std::string("x\0y", 3)}) {
    EXPECT_TRUE(IsMessageToken(MessageToken(id))) << absl::CEscape(id);
  }
  // The renderer takes no raw id.
  Email email{"ada@x.io", "Hello", "t", "h"};
  for (const char* id : {"a\r\nBcc: x", "a b", "a>b", ""}) {
    EXPECT_FALSE(RenderRfc5322(email, id, absl::Now()).ok()) << id;
  }
  std::string eml =
      RenderRfc5322(email, MessageToken("a\r\nb"), absl::Now()).value();
  EXPECT_THAT(eml, HasSubstr("Message-ID: <a=0D=0Ab@herald.local>\r\n"));
  EXPECT_THAT(eml, HasSubstr(" boundary=\"=_herald_a=0D=0Ab\"\r\n"));
}

TEST(EmailMessageTest, HtmlEscapesEverythingThatOpensMarkup) {
  EXPECT_EQ(HtmlEscape("<a href='x' title=\"y\">&</a>"),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;");
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
  std::string eml = RenderRfc5322(email, "evt-9", absl::Now()).value();
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
                            RenderRfc5322(email, "evt-1", absl::Now()).value());
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
  EXPECT_FALSE(IsPermanent(busy)) << busy;
  // 550: never. Permanent: dead-lettered at once, no retries.
  SinkBehavior no_such_user;
  no_such_user.rcpt_reply = "550 no such user";
  absl::Status refused = DeliverTo(no_such_user);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_FALSE(IsDependencyOutage(refused)) << refused;
  EXPECT_TRUE(IsPermanent(refused)) << refused;
  SinkBehavior bad_greeting;
  bad_greeting.greeting = "554 no service for you";
  absl::Status greeting = DeliverTo(bad_greeting);
  EXPECT_TRUE(IsPermanent(greeting)) << greeting;
}

TEST(SmtpTest, ErrorsNeverHoldTheUrlsPassword) {
  // Refusals (the sink offers no AUTH: curl goes on without logging in),
  // and a server that is gone.
  SinkBehavior no_such_user;
  no_such_user.rcpt_reply = "550 no such user";
  SinkBehavior busy;
  busy.rcpt_reply = "450 mailbox busy";
  std::vector<absl::Status> failures;
  for (const SinkBehavior& behavior : {no_such_user, busy}) {
    SmtpSink sink(behavior);
    auto mailer = NewSmtpMailer(
        absl::StrCat("smtp://mailer:Hunter2-s3cret@127.0.0.1:", sink.port()),
        "<no-reply@herald.local>");
    ASSERT_TRUE(mailer.ok());
    failures.push_back((*mailer)->Deliver("evt-1", "ada@x.io", "x"));
  }
  int port;
  {
    SmtpSink gone;
    port = gone.port();
  }
  auto mailer = NewSmtpMailer(
      absl::StrCat("smtp://mailer:Hunter2-s3cret@127.0.0.1:", port), "f");
  ASSERT_TRUE(mailer.ok());
  failures.push_back((*mailer)->Deliver("evt-1", "ada@x.io", "x"));
  for (const absl::Status& failed : failures) {
    ASSERT_FALSE(failed.ok());
    EXPECT_THAT(std::string(failed.message()), Not(HasSubstr("s3cret")));
    EXPECT_THAT(std::string(failed.message()),
                HasSubstr("smtp://mailer:***@127.0.0.1:"));
  }
  absl::StatusOr<std::unique_ptr<Mailer>> bad =
      NewSmtpMailer("smtpx://mailer:Hunter2-s3cret@mail", "f");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), Not(HasSubstr("s3cret")));
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
