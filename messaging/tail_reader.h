// File: messaging/tail_reader.h
//
// A Kafka reader outside any consumer group: it reads every partition of
// the topics it is given, from the offsets it is told (or their ends), and
// commits nothing. For processes that must each see every record (the
// realtime worker: every instance broadcasts every message to its own
// clients) and for short re-reads of a range (a client resuming from a
// position). Records are copied out of librdkafka: keep them small.
//
// Example:
//
//   auto reader = herald::TailReader::Create(config);
//   auto ends = (*reader)->Watermarks({"realtime.messages"}, absl::Seconds(5));
//   herald::PartitionOffsets from;
//   for (const auto& [topic, marks] : *ends)
//     for (const auto& m : marks) from[topic].push_back(m.high);  // the end
//   (*reader)->Assign(from);
//   for (const herald::TailRecord& r :
//   (*reader)->Poll(absl::Milliseconds(100)))
//     Use(r.topic, r.partition, r.offset, r.value);
#ifndef HERALD_MESSAGING_TAIL_READER_H_
#define HERALD_MESSAGING_TAIL_READER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/cloudevents.h"
#include "messaging/config.h"

namespace herald {

// Per topic, an offset for each of its partitions (index = partition).
using PartitionOffsets = std::map<std::string, std::vector<int64_t>>;

// A partition's offsets: records [low, high) are in the log.
struct Watermark {
  int64_t low = 0;   // the log start: older records are gone
  int64_t high = 0;  // the next offset to be written
};

struct TailRecord {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  absl::Time timestamp;  // the Kafka record timestamp
  Headers headers;       // only with TailReaderOptions::headers
};

struct TailReaderOptions {
  // Copy each record's headers into TailRecord::headers.
  bool headers = false;
};

class TailReader {
 public:
  // Fails with InvalidArgument on bad configuration (config.consumer's
  // group_id is not used).
  static absl::StatusOr<std::unique_ptr<TailReader>> Create(
      const Config& config, const TailReaderOptions& options = {});
  ~TailReader();

  TailReader(const TailReader&) = delete;
  TailReader& operator=(const TailReader&) = delete;

  // Each topic's partitions and their watermarks, asked of the brokers.
  // NotFound when a topic does not exist; Unavailable or DeadlineExceeded
  // when the brokers do not answer within `timeout`.
  absl::StatusOr<std::map<std::string, std::vector<Watermark>>> Watermarks(
      const std::vector<std::string>& topics, absl::Duration timeout);

  // Reads from these offsets on, replacing what was assigned before. An
  // offset below the log start reads from the log start.
  absl::Status Assign(const PartitionOffsets& from);

  // The records that arrive within `timeout` (none when it passes first),
  // at most `max`, in offset order per partition.
  std::vector<TailRecord> Poll(absl::Duration timeout, int max = 500);

 private:
  struct Handle;
  explicit TailReader(std::unique_ptr<Handle> handle);
  std::unique_ptr<Handle> handle_;
};

}  // namespace herald

#endif  // HERALD_MESSAGING_TAIL_READER_H_
