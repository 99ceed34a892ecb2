#include "messaging/pipeline/dead_letterer.h"

#include <glog/logging.h>

#include <utility>

namespace herald {
namespace pipeline {

DeadLetterer::DeadLetterer(const Config& config) : config_(config) {
  // A dead-letter publish that cannot get through within this time fails,
  // and the record waits for another try: it is not lost, only not settled.
  config_.producer.delivery_timeout_ms =
      std::min(config_.producer.delivery_timeout_ms, 30000);
  config_.producer.close_timeout_ms =
      std::min(config_.producer.close_timeout_ms, 5000);
}

DeadLetterer::~DeadLetterer() = default;

void DeadLetterer::Send(const FailedRecord& failed,
                        std::function<void(const absl::Status&)> acked) {
  absl::MutexLock lock(&mu_);
  if (producer_ != nullptr && !producer_->FatalError().ok()) {
    LOG(WARNING) << "dead-letter producer failed (" << producer_->FatalError()
                 << "): creating a new one";
    producer_.reset();
  }
  if (producer_ == nullptr) {
    absl::StatusOr<std::unique_ptr<Producer>> created =
        Producer::Create(config_);
    if (!created.ok()) {
      LOG(ERROR) << "cannot create the dead-letter producer: "
                 << created.status();
      acked(created.status());
      return;
    }
    producer_ = *std::move(created);
  }
  // The callback only queues the answer: it may run inside this Publish.
  producer_->Publish(DeadLetterRecord(failed),
                     [acked = std::move(acked)](const DeliveryResult& result) {
                       acked(result.status());
                     });
}

void DeadLetterer::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  if (producer_ != nullptr) producer_->Flush(timeout).IgnoreError();
}

}  // namespace pipeline
}  // namespace herald
