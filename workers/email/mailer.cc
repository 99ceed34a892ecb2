#include "workers/email/mailer.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/dependency_outage.h"
#include "base/redact.h"
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

class MaildirMailer : public Mailer {
 public:
  explicit MaildirMailer(fs::path dir) : dir_(std::move(dir)) {}

  absl::Status Deliver(absl::string_view id, absl::string_view,
                       absl::string_view rfc5322) override {
    for (char c : id) {
      if (c == '/' || c == '\0') {
        return absl::InvalidArgumentError("email id contains '/'");
      }
    }
    const std::string name = absl::StrCat(id, ".eml");
    const fs::path final_path = dir_ / "new" / name;
    std::error_code ec;
    // Delivered already; its name in new/ is made durable again, in case
    // the attempt that wrote it stopped short of that.
    if (fs::exists(final_path, ec)) return SyncNew();
    const fs::path tmp_path = dir_ / "tmp" / name;
    int fd = open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      const int error = errno;
      return FileError(error, absl::StrCat("cannot write ", tmp_path.string(),
                                           ": ", std::strerror(error)));
    }
    // A failed attempt leaves nothing in tmp/ (on a full disk, it would
    // hold on to the space).
    auto discard = [&](int error, absl::string_view message) {
      close(fd);
      unlink(tmp_path.c_str());
      return FileError(error, message);
    };
    size_t written = 0;
    while (written < rfc5322.size()) {
      ssize_t n = write(fd, rfc5322.data() + written, rfc5322.size() - written);
      if (n < 0) {
        const int error = errno;
        if (error == EINTR) continue;
        return discard(error,
                       absl::StrCat("write failed: ", std::strerror(error)));
      }
      written += static_cast<size_t>(n);
    }
    // Durable before it becomes visible in new/.
    if (fsync(fd) != 0) {
      const int error = errno;
      return discard(error, absl::StrCat("cannot flush ", tmp_path.string(),
                                         ": ", std::strerror(error)));
    }
    if (close(fd) != 0) {
      const int error = errno;
      unlink(tmp_path.c_str());
      return FileError(error, absl::StrCat("cannot flush ", tmp_path.string(),
                                           ": ", std::strerror(error)));
    }
    fs::rename(tmp_path, final_path, ec);
    if (ec) {
      return FileError(ec.value(),
                       absl::StrCat("cannot move the email into ",
                                    final_path.string(), ": ", ec.message()));
    }
    return SyncNew();
  }

 private:
  // Flushes new/ itself, so that the renamed file's name survives a crash:
  // only then may the inbox claim commit and the record be settled.
  absl::Status SyncNew() {
    const fs::path new_dir = dir_ / "new";
    int fd = open(new_dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
      const int error = errno;
      return FileError(error, absl::StrCat("cannot open ", new_dir.string(),
                                           ": ", std::strerror(error)));
    }
    const int synced = fsync(fd);
    const int error = errno;
    close(fd);
    if (synced != 0) {
      return FileError(error, absl::StrCat("cannot flush ", new_dir.string(),
                                           ": ", std::strerror(error)));
    }
    return absl::OkStatus();
  }

  fs::path dir_;
};

class SmtpMailer : public Mailer {
 public:
  SmtpMailer(std::string url, std::string from, absl::Duration timeout)
      : url_(std::move(url)), from_(std::move(from)), timeout_(timeout) {}

  absl::Status Deliver(absl::string_view, absl::string_view to,
                       absl::string_view rfc5322) override {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
    struct Source {
      absl::string_view data;
      size_t pos = 0;
    } source{rfc5322};
    std::string recipient = absl::StrCat("<", to, ">");
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
    curl_slist_free_all(recipients);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
      // Never the URL's password: this message reaches logs and, in a
      // dead-lettered record's headers, whoever reads the DLQ.
      std::string message =
          absl::StrCat("SMTP delivery to ", to, " via ", RedactUrl(url_),
                       " failed: ", curl_easy_strerror(rc));
      if (code != 0) absl::StrAppend(&message, " (last reply ", code, ")");
      return SmtpError(rc, code, message);
    }
    return absl::OkStatus();
  }

 private:
  std::string url_;
  std::string from_;
  absl::Duration timeout_;
};

}  // namespace

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
                                                      absl::Duration timeout) {
  if (!absl::StartsWith(url, "smtp://") && !absl::StartsWith(url, "smtps://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "smtp_url '", RedactUrl(url), "' must start with smtp://"));
  }
  static const bool initialized = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)initialized;
  return std::unique_ptr<Mailer>(new SmtpMailer(url, from, timeout));
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
