#include "workers/email/mailer.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "base/dependency_outage.h"
#include "base/redact.h"
#include "base/thread_pool.h"
#include "messaging/retry.h"

namespace herald {
namespace workers {
namespace {

namespace fs = std::filesystem;

// A Maildir operation failed with `error` (an errno): Unavailable, marked as
// a DependencyOutage when the file system is what failed (full, over quota,
// failing, read-only, refusing us). Anything else (a folder missing or not
// a folder, say) is a setup problem, left to the record's own retries.
absl::Status FileError(int error, absl::string_view message) {
  absl::Status status = absl::UnavailableError(message);
  if (error == ENOSPC || error == EDQUOT || error == EIO || error == EROFS ||
      error == EACCES) {
    return DependencyOutage(std::move(status));
  }
  return status;
}

// What a failed SMTP delivery means. `reply` is the server's last reply
// code (0 when it never answered).
//   421 (service not available, closing the channel)  DependencyOutage
//   other 4xx (this message, for now: mailbox busy...)  Unavailable
//   5xx (a permanent refusal)            Permanent(FailedPrecondition)
//   no usable reply: cannot resolve or connect, connection reset or lost,
//   timed out                                           DependencyOutage
//   anything else (garbled reply, TLS, login...)        Unavailable
absl::Status SmtpError(CURLcode rc, long reply, const std::string& message) {
  if (reply == 421) return DependencyOutage(absl::UnavailableError(message));
  if (reply >= 500) return Permanent(absl::FailedPreconditionError(message));
  if (reply >= 400) return absl::UnavailableError(message);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
      return DependencyOutage(absl::UnavailableError(message));
    default:
      return absl::UnavailableError(message);
  }
}

// Runs fn(0, thread) ... fn(count - 1, thread) on `pool` (`thread`: the
// pool thread running it) and waits for all of them.
void RunOnPool(ThreadPool& pool, size_t count,
               const std::function<void(size_t, int)>& fn) {
  absl::BlockingCounter done(static_cast<int>(count));
  for (size_t i = 0; i < count; ++i) {
    pool.Submit([&, i](int thread) {
      fn(i, thread);
      done.DecrementCount();
    });
  }
  done.Wait();
}

// Writing a group's files into tmp/ is cheap (the page cache); a few threads
// suffice. What costs is making them durable, which one syncfs() does for the
// whole group.
constexpr int kMaildirWriteThreads = 4;

// Opens `path` read-only (a folder or the file system to flush).
absl::StatusOr<int> OpenForFlush(const fs::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return FileError(error, absl::StrCat("cannot open ", path.string(), ": ",
                                         std::strerror(error)));
  }
  return fd;
}

class MaildirMailer : public Mailer {
 public:
  explicit MaildirMailer(fs::path dir)
      : dir_(std::move(dir)), write_pool_(kMaildirWriteThreads) {}

  // Writes each email not in new/ yet to tmp/; flushes them all with one
  // syncfs() of the Maildir's file system; moves them into new/ in order
  // and flushes new/ once. One email costs the same as a hundred: two
  // journal commits (measured here: one fsync per file, even 64 at once,
  // ~3,000 files/s; one syncfs per group of 500, ~19,000).
  GroupDelivery DeliverAll(const std::vector<OutgoingEmail>& emails) override {
    // Opened before the writes: syncfs() reports write-back errors of the
    // file system since this descriptor was opened (Linux >= 5.8).
    absl::StatusOr<int> root = OpenForFlush(dir_);
    if (!root.ok()) return {0, root.status()};
    std::vector<Staged> files(emails.size());
    auto write = [&](size_t i, int) { files[i] = Write(emails[i]); };
    if (emails.size() == 1) {
      write(0, 0);
    } else {
      RunOnPool(write_pool_, emails.size(), write);
    }
    GroupDelivery result{emails.size(), absl::OkStatus()};
    for (size_t i = 0; i < files.size(); ++i) {
      if (!files[i].status.ok()) {
        result = {i, files[i].status};
        break;
      }
    }
    // Durable before any becomes visible in new/: a crash must never leave
    // a name in new/ whose content is lost, since a redelivery takes an
    // existing name as delivered.
    if (result.delivered > 0 && syncfs(*root) != 0) {
      const int error = errno;
      result = {0, FileError(error, absl::StrCat("cannot flush the files in ",
                                                 (dir_ / "tmp").string(), ": ",
                                                 std::strerror(error)))};
    }
    close(*root);
    for (size_t i = 0; i < files.size(); ++i) {
      Staged& file = files[i];
      if (file.tmp_path.empty()) continue;  // in new/ already, or failed
      // A failed attempt leaves nothing in tmp/ (on a full disk, it would
      // hold on to the space).
      if (i >= result.delivered) {
        unlink(file.tmp_path.c_str());
        continue;
      }
      std::error_code ec;
      fs::rename(file.tmp_path, file.final_path, ec);
      if (ec) {
        unlink(file.tmp_path.c_str());
        result = {
            i, FileError(ec.value(), absl::StrCat("cannot move the email into ",
                                                  file.final_path.string(),
                                                  ": ", ec.message()))};
      }
    }
    // Emails found in new/ already are flushed again too, in case the
    // attempt that wrote them stopped short of that.
    if (result.delivered > 0) {
      absl::Status synced = SyncNew();
      if (!synced.ok()) result = {0, std::move(synced)};
    }
    return result;
  }

 private:
  // One email of a group: written to tmp_path, to be moved to final_path;
  // no tmp_path when it is in new/ already or failed (status).
  struct Staged {
    absl::Status status;
    fs::path tmp_path;
    fs::path final_path;

    static Staged Failed(absl::Status status) {
      Staged staged;
      staged.status = std::move(status);
      return staged;
    }
  };

  Staged Write(const OutgoingEmail& email) {
    for (char c : email.id) {
      if (c == '/' || c == '\0') {
        return Staged::Failed(
            absl::InvalidArgumentError("email id contains '/'"));
      }
    }
    const std::string name = absl::StrCat(email.id, ".eml");
    fs::path final_path = dir_ / "new" / name;
    std::error_code ec;
    if (fs::exists(final_path, ec)) return {};  // delivered before
    fs::path tmp_path = dir_ / "tmp" / name;
    int fd =
        open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      const int error = errno;
      return Staged::Failed(
          FileError(error, absl::StrCat("cannot write ", tmp_path.string(),
                                        ": ", std::strerror(error))));
    }
    absl::string_view rest = email.rfc5322;
    while (!rest.empty()) {
      ssize_t n = write(fd, rest.data(), rest.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        close(fd);
        unlink(tmp_path.c_str());
        return Staged::Failed(
            FileError(error, absl::StrCat("cannot write ", tmp_path.string(),
                                          ": ", std::strerror(error))));
      }
      rest.remove_prefix(static_cast<size_t>(n));
    }
    close(fd);  // its write-back errors surface in syncfs()
    return {absl::OkStatus(), std::move(tmp_path), std::move(final_path)};
  }

  // Flushes new/ itself, so that the renamed files' names survive a crash:
  // only then may the inbox claims commit and the records be settled.
  absl::Status SyncNew() {
    const fs::path new_dir = dir_ / "new";
    absl::StatusOr<int> fd = OpenForFlush(new_dir);
    if (!fd.ok()) return fd.status();
    const int synced = fsync(*fd);
    const int error = errno;
    close(*fd);
    if (synced != 0) {
      return FileError(error, absl::StrCat("cannot flush ", new_dir.string(),
                                           ": ", std::strerror(error)));
    }
    return absl::OkStatus();
  }

  fs::path dir_;
  ThreadPool write_pool_;
};

// Sends on up to `connections` connections at once: one curl handle per
// thread of its pool, which keeps its connection open for the next email.
class SmtpMailer : public Mailer {
 public:
  SmtpMailer(std::string url, std::string from, absl::Duration timeout,
             int connections)
      : url_(std::move(url)),
        from_(std::move(from)),
        timeout_(timeout),
        handles_(connections, nullptr),
        pool_(connections) {}

  ~SmtpMailer() override {
    for (CURL* curl : handles_) {
      if (curl != nullptr) curl_easy_cleanup(curl);  // says QUIT
    }
  }

  // The emails go out on the pool's connections in order; after a failure
  // no further one is started.
  GroupDelivery DeliverAll(const std::vector<OutgoingEmail>& emails) override {
    std::vector<absl::Status> sent(emails.size(),
                                   absl::CancelledError("not sent"));
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    RunOnPool(pool_, std::min(emails.size(), handles_.size()),
              [&](size_t, int thread) {
                for (size_t i = next++; i < emails.size() && !failed;
                     i = next++) {
                  sent[i] = Send(thread, emails[i]);
                  if (!sent[i].ok()) failed = true;
                }
              });
    for (size_t i = 0; i < emails.size(); ++i) {
      if (!sent[i].ok()) return {i, std::move(sent[i])};
    }
    return {emails.size(), absl::OkStatus()};
  }

 private:
  // Sends one email on the connection of pool thread `thread`.
  absl::Status Send(int thread, const OutgoingEmail& email) {
    CURL*& curl = handles_[thread];
    if (curl == nullptr) curl = curl_easy_init();
    if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
    struct Source {
      absl::string_view data;
      size_t pos = 0;
    } source{email.rfc5322};
    std::string recipient = absl::StrCat("<", email.to, ">");
    curl_slist* recipients = curl_slist_append(nullptr, recipient.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from_.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    const long timeout_ms = static_cast<long>(
        std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout_)));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     std::min(5000L, timeout_ms));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(
        curl, CURLOPT_READFUNCTION,
        +[](char* buffer, size_t size, size_t count, void* user) -> size_t {
          auto* s = static_cast<Source*>(user);
          size_t n = std::min(size * count, s->data.size() - s->pos);
          std::memcpy(buffer, s->data.data() + s->pos, n);
          s->pos += n;
          return n;
        });
    curl_easy_setopt(curl, CURLOPT_READDATA, &source);
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    // The list and `source` die here: the handle must not point at them.
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, nullptr);
    curl_easy_setopt(curl, CURLOPT_READDATA, nullptr);
    curl_slist_free_all(recipients);
    if (rc != CURLE_OK) {
      // Never the URL's password: this message reaches logs and, in a
      // dead-lettered record's headers, whoever reads the DLQ.
      std::string message =
          absl::StrCat("SMTP delivery to ", email.to, " via ", RedactUrl(url_),
                       " failed: ", curl_easy_strerror(rc));
      if (code != 0) absl::StrAppend(&message, " (last reply ", code, ")");
      return SmtpError(rc, code, message);
    }
    return absl::OkStatus();
  }

  const std::string url_;
  const std::string from_;
  const absl::Duration timeout_;
  std::vector<CURL*> handles_;  // one per pool thread, used only by it
  ThreadPool pool_;             // last: joined before the handles go
};

}  // namespace

absl::Status Mailer::Deliver(absl::string_view id, absl::string_view to,
                             absl::string_view rfc5322) {
  GroupDelivery done = DeliverAll(
      {OutgoingEmail{std::string(id), std::string(to), std::string(rfc5322)}});
  return done.delivered == 1 ? absl::OkStatus() : done.error;
}

absl::StatusOr<std::unique_ptr<Mailer>> NewMaildirMailer(
    const std::string& dir) {
  std::error_code ec;
  for (const char* sub : {"tmp", "new", "cur"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot create Maildir folder ", dir, "/", sub, ": ", ec.message()));
    }
  }
  return std::unique_ptr<Mailer>(new MaildirMailer(dir));
}

absl::StatusOr<std::unique_ptr<Mailer>> NewSmtpMailer(const std::string& url,
                                                      const std::string& from,
                                                      absl::Duration timeout,
                                                      int connections) {
  if (!absl::StartsWith(url, "smtp://") && !absl::StartsWith(url, "smtps://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "smtp_url '", RedactUrl(url), "' must start with smtp://"));
  }
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
  if (connections < 1) {
    return absl::InvalidArgumentError("an SMTP mailer needs a connection");
  }
  return std::unique_ptr<Mailer>(
      new SmtpMailer(url, from, timeout, connections));
}

absl::StatusOr<std::unique_ptr<Mailer>> NewMailer(
    const EmailSettings& settings) {
  if (!settings.smtp_url.empty()) {
    return NewSmtpMailer(settings.smtp_url, "<no-reply@herald.local>");
  }
  return NewMaildirMailer(settings.maildir);
}

}  // namespace workers
}  // namespace herald
