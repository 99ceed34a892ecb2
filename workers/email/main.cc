// The email worker: `bazel run //workers:email [-- --maildir=DIR |
// --smtp_url=smtp://host:port]`.
#include <optional>

#include "absl/flags/flag.h"
#include "workers/email/email_worker.h"

ABSL_FLAG(std::optional<std::string>, maildir, std::nullopt,
          "Maildir directory for delivered emails (default ./maildir)");
ABSL_FLAG(std::optional<std::string>, smtp_url, std::nullopt,
          "deliver over SMTP instead, e.g. smtp://localhost:2525");

int main(int argc, char** argv) {
  return herald::workers::WorkerMain(
      argc, argv, herald::workers::EmailWorkerSpec(), [] {
        return std::vector<herald::FlagOverride>{
            {"maildir", absl::GetFlag(FLAGS_maildir)},
            {"smtp_url", absl::GetFlag(FLAGS_smtp_url)}};
      });
}
