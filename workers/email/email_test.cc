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
#include "workers/testing/smtp_sink.h"

namespace herald {
namespace workers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

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

int CountFiles(const std::string& dir) {
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  return files;
}

// A group: written, flushed and moved into new/ together. An email found in
// new/ already is left as it is; one that cannot be delivered stops the
// group there: the ones before it are delivered, none after it.
TEST(MaildirTest, GroupIsDeliveredTogetherUpToItsFirstFailure) {
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/maildir_group");
  auto mailer = NewMaildirMailer(dir);
  ASSERT_TRUE(mailer.ok());
  ASSERT_TRUE((*mailer)->Deliver("evt-7", "a@b.co", "delivered before").ok());
  std::vector<OutgoingEmail> group;
  for (int i = 0; i < 50; ++i) {
    group.push_back({absl::StrCat("evt-", i), "a@b.co", absl::StrCat("#", i)});
  }
  GroupDelivery done = (*mailer)->DeliverAll(group);
  EXPECT_EQ(done.delivered, 50u);
  EXPECT_TRUE(done.error.ok()) << done.error;
  EXPECT_EQ(CountFiles(dir + "/new"), 50);
  std::ifstream in(dir + "/new/evt-7.eml");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "delivered before");

  std::vector<OutgoingEmail> broken;
  for (int i = 0; i < 10; ++i) {
    broken.push_back({absl::StrCat("new-", i), "a@b.co", "x"});
  }
  broken[6].id = "../evil";
  done = (*mailer)->DeliverAll(broken);
  EXPECT_EQ(done.delivered, 6u);
  EXPECT_EQ(done.error.code(), absl::StatusCode::kInvalidArgument)
      << done.error;
  EXPECT_EQ(CountFiles(dir + "/new"), 56);
  EXPECT_TRUE(fs::exists(dir + "/new/new-5.eml"));
  EXPECT_FALSE(fs::exists(dir + "/new/new-7.eml"));
  EXPECT_TRUE(fs::is_empty(dir + "/tmp"));
}

// A group goes out on the mailer's few connections, which stay open for the
// next group.
TEST(SmtpTest, GroupsGoOutOnAFewReusedConnections) {
  SmtpSink sink;
  auto mailer = NewSmtpMailer(absl::StrCat("smtp://127.0.0.1:", sink.port()),
                              "<no-reply@herald.local>", absl::Seconds(30),
                              /*connections=*/3);
  ASSERT_TRUE(mailer.ok());
  Email email{"ada@x.io", "Hello", "body text", "<p>body</p>"};
  for (int round = 0; round < 2; ++round) {
    std::vector<OutgoingEmail> group;
    for (int i = 0; i < 20; ++i) {
      std::string id = absl::StrCat("evt-", round, "-", i);
      group.push_back(
          {id, "ada@x.io", RenderRfc5322(email, id, absl::Now()).value()});
    }
    GroupDelivery done = (*mailer)->DeliverAll(group);
    EXPECT_EQ(done.delivered, 20u);
    EXPECT_TRUE(done.error.ok()) << done.error;
  }
  EXPECT_EQ(sink.messages().size(), 40u);
  EXPECT_LE(sink.connections(), 3);
  EXPECT_GE(sink.connections(), 1);
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
