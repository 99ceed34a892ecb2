// File: messaging/pipeline/reader.h
//
// The Reader is the consumer pipeline's one door to librdkafka: it joins the
// group, polls records, pauses and resumes partitions, stores the offsets to
// commit (librdkafka commits stored offsets every
// consumer.commit_interval_ms, on revocation and on close), and tells a
// RebalanceListener about assignment changes before they take effect.
//
// Everything but Wake() and the const methods runs on the polling thread.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Reader>> reader = Reader::Create(config);
//   (*reader)->Subscribe({"payment.created"}, &listener);
//   while (running) {
//     RecordPtr record = (*reader)->Poll(absl::Milliseconds(100));
//     if (record != nullptr) Handle(std::move(record));
//   }
//   (*reader)->Close();
#ifndef HERALD_MESSAGING_PIPELINE_READER_H_
#define HERALD_MESSAGING_PIPELINE_READER_H_

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "messaging/config.h"
#include "messaging/pipeline/record.h"

namespace herald {
namespace pipeline {

struct TopicPartition {
  std::string topic;
  int32_t partition = -1;
  bool operator==(const TopicPartition& o) const {
    return partition == o.partition && topic == o.topic;
  }
};

class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Called before records of `partitions` can be polled.
  virtual void OnAssigned(const std::vector<TopicPartition>& partitions) = 0;
  // Called before `partitions` go: store the offsets that may be committed
  // now (librdkafka commits them on the way out unless `lost`, when the
  // group already gave them to another member).
  virtual void OnRevoked(const std::vector<TopicPartition>& partitions,
                         bool lost) = 0;
};

class Reader {
 public:
  // InvalidArgument on bad configuration or a missing group id.
  static absl::StatusOr<std::unique_ptr<Reader>> Create(const Config& config);
  ~Reader();

  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Joins the group for `topics`; `listener` must outlive the reader.
  absl::Status Subscribe(const std::vector<std::string>& topics,
                         RebalanceListener* listener);

  // Poll()
  //
  // The next record, waiting up to `timeout`; nullptr on timeout, after
  // Wake(), or after an event that is not a record (errors are logged).
  // Rebalance callbacks run inside Poll().
  RecordPtr Poll(absl::Duration timeout);

  // Wake()
  //
  // Makes a Poll() that is waiting (or the next one) return at once. Safe
  // from any thread.
  void Wake();

  // Stops or restarts fetching `partition`. Fetching resumes right after the
  // last record Poll() returned; librdkafka drops what it prefetched.
  // Resume() wakes the fetcher at once (a thread of the Reader's asks the
  // broker for the partition's watermarks).
  void Pause(const TopicPartition& partition);
  void Resume(const TopicPartition& partition);

  // A handle on `topic` for StoreOffset(); release it with ReleaseTopic().
  rd_kafka_topic_t* TopicHandle(const std::string& topic);
  void ReleaseTopic(rd_kafka_topic_t* topic);

  // StoreOffset()
  //
  // `next_offset` (the next record to read) is what to commit for the
  // partition.
  void StoreOffset(rd_kafka_topic_t* topic, int32_t partition,
                   int64_t next_offset);

  // Commits the stored offsets now and waits for the answer.
  absl::Status CommitNow();

  // Leaves the group (revoking through the listener) and closes.
  absl::Status Close();

  // True while this member belongs to its group (the coordinator gave it a
  // member id), whether or not it has partitions. Safe from any thread.
  bool InGroup() const;

  // The partitions assigned now. Safe from any thread.
  std::vector<TopicPartition> Assignment() const;

  // The partition's end offset as last seen by the fetcher, if known. Safe
  // from any thread.
  std::optional<int64_t> HighWatermark(const TopicPartition& partition) const;

 private:
  Reader() = default;
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions,
                          void* opaque);
  void SetPaused(const TopicPartition& partition, bool paused);
  void Nudge();  // the nudger thread's loop

  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;  // the consumer queue, for Wake()
  RebalanceListener* listener_ = nullptr;
  bool closed_ = false;
  // Wakes librdkafka's fetcher after Resume() (see reader.cc).
  absl::Mutex nudge_mu_;
  std::deque<TopicPartition> nudges_ ABSL_GUARDED_BY(nudge_mu_);
  bool stop_nudging_ ABSL_GUARDED_BY(nudge_mu_) = false;
  std::thread nudger_;
};

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_READER_H_
