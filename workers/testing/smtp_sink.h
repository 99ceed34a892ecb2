// File: workers/testing/smtp_sink.h
//
// A small SMTP server on a loopback port that keeps each message's DATA,
// for tests and benchmarks of SMTP delivery. It serves any number of
// sessions at once (a mailer keeps several connections open) and can
// misbehave as a real server does (SinkBehavior).
//
// Example:
//
//   SmtpSink sink;
//   auto mailer = NewSmtpMailer(absl::StrCat("smtp://127.0.0.1:", sink.port()),
//                               "<no-reply@herald.local>");
//   (*mailer)->Deliver("evt-1", "ada@x.io", eml);
//   EXPECT_EQ(sink.messages().size(), 1u);
#ifndef HERALD_WORKERS_TESTING_SMTP_SINK_H_
#define HERALD_WORKERS_TESTING_SMTP_SINK_H_

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"

namespace herald {
namespace workers {

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
  // Keeps no copy of the messages, only counts them (for benchmarks).
  bool count_only = false;
};

class SmtpSink {
 public:
  explicit SmtpSink(SinkBehavior behavior = {});
  ~SmtpSink();  // closes every session

  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const { return port_; }
  // The messages received, in order of their final ".".
  std::vector<std::string> messages();
  int message_count();
  // Connections accepted so far.
  int connections();

 private:
  void Serve();
  void Session(int c);

  const SinkBehavior behavior_;
  int fd_;
  int port_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> messages_ ABSL_GUARDED_BY(mu_);
  int message_count_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_set<int> sessions_ ABSL_GUARDED_BY(mu_);  // open sockets
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> session_threads_;  // the accepting thread's
};

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_TESTING_SMTP_SINK_H_
