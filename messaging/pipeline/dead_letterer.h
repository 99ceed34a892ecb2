// File: messaging/pipeline/dead_letterer.h
//
// The DeadLetterer publishes failed records to `<topic>.dlq` (see
// messaging/dead_letter.h for the record's headers) without blocking: every
// record of a unit is sent at once and each acknowledgement comes back
// through its callback. A record counts as settled only once the broker
// acknowledged its dead-letter copy; a failed publish (the broker away, the
// topic refusing writes) is the caller's to retry.
//
// The producer is created on first use, and again after a fatal error.
//
// Example:
//
//   DeadLetterer dead_letters(config);
//   dead_letters.Send(FailedRecordOf(record, meta, group, error, attempts),
//                     [&](const absl::Status& acked) { ... });
#ifndef HERALD_MESSAGING_PIPELINE_DEAD_LETTERER_H_
#define HERALD_MESSAGING_PIPELINE_DEAD_LETTERER_H_

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "messaging/config.h"
#include "messaging/dead_letter.h"
#include "messaging/producer.h"

namespace herald {
namespace pipeline {

class DeadLetterer {
 public:
  explicit DeadLetterer(const Config& config);
  ~DeadLetterer();

  // Send()
  //
  // Publishes the dead-letter record of `failed`; `acked` runs once with the
  // broker's answer, on a producer thread (or at once when no producer can
  // be created).
  void Send(const FailedRecord& failed,
            std::function<void(const absl::Status&)> acked);

  // Waits up to `timeout` for every answer so far.
  void Flush(absl::Duration timeout);

 private:
  Config config_;
  absl::Mutex mu_;
  std::unique_ptr<Producer> producer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_DEAD_LETTERER_H_
