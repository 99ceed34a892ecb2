#include "tools/heraldctl/dlq.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "messaging/dead_letter.h"
#include "messaging/producer.h"
#include "messaging/tail_reader.h"

namespace herald {
namespace ctl {
namespace {

std::string HeaderOf(const Headers& headers, absl::string_view name) {
  std::string value;
  for (const auto& [key, text] : headers) {
    if (key == name) value = text;  // the last one, as Metadata::Header
  }
  return value;
}

DeadLetter FromRecord(TailRecord record) {
  DeadLetter letter;
  letter.dlq_topic = std::move(record.topic);
  letter.partition = record.partition;
  letter.offset = record.offset;
  letter.dead_since = record.timestamp;
  const Headers& h = record.headers;
  letter.original_topic = HeaderOf(h, dlt::kOriginalTopic);
  std::string partition = HeaderOf(h, dlt::kOriginalPartition);
  std::string offset = HeaderOf(h, dlt::kOriginalOffset);
  if (partition.size() == 4) {
    letter.original_partition = DecodeBigEndian32(partition);
  }
  if (offset.size() == 8) letter.original_offset = DecodeBigEndian64(offset);
  letter.group = HeaderOf(h, dlt::kOriginalConsumerGroup);
  letter.attempts = HeaderOf(h, dlt::kAttempts);
  letter.error = HeaderOf(h, dlt::kExceptionMessage);
  letter.event_id = HeaderOf(h, ce::kId);
  letter.key = std::move(record.key);
  letter.value = std::move(record.value);
  letter.headers = std::move(record.headers);
  return letter;
}

// What a dead-letter record carries about its failure, and an earlier
// replay's mark: not the original record's.
bool IsProvenance(absl::string_view name) {
  return absl::StartsWith(name, "kafka_dlt-") ||
         absl::StartsWith(name, "herald_dlt-") || name == kReplayedFrom;
}

}  // namespace

absl::StatusOr<std::vector<DeadLetter>> ReadDeadLetters(
    const Config& config, const std::string& dlq_topic, int limit,
    absl::Duration timeout) {
  if (!absl::EndsWith(dlq_topic, dlt::kTopicSuffix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", dlq_topic, "' is not a dead-letter topic (<topic>.dlq)"));
  }
  TailReaderOptions options;
  options.headers = true;
  absl::StatusOr<std::unique_ptr<TailReader>> reader =
      TailReader::Create(config, options);
  if (!reader.ok()) return reader.status();
  const absl::Time deadline = absl::Now() + timeout;
  auto marks = (*reader)->Watermarks({dlq_topic}, timeout);
  if (!marks.ok()) return marks.status();
  const std::vector<Watermark>& ends = (*marks)[dlq_topic];
  PartitionOffsets from;
  // Partitions with records left to read, and the offset that ends each.
  std::map<int32_t, int64_t> open;
  for (size_t p = 0; p < ends.size(); ++p) {
    from[dlq_topic].push_back(ends[p].low);
    if (ends[p].high > ends[p].low) open[p] = ends[p].high;
  }
  absl::Status assigned = (*reader)->Assign(from);
  if (!assigned.ok()) return assigned;
  std::vector<DeadLetter> letters;
  while (!open.empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("reading ", dlq_topic, ": not at its end after ",
                       absl::FormatDuration(timeout)));
    }
    for (TailRecord& record : (*reader)->Poll(absl::Milliseconds(200))) {
      auto end = open.find(record.partition);
      if (end == open.end() || record.offset >= end->second) continue;
      if (record.offset + 1 >= end->second) open.erase(end);
      letters.push_back(FromRecord(std::move(record)));
    }
  }
  std::sort(letters.begin(), letters.end(),
            [](const DeadLetter& a, const DeadLetter& b) {
              return std::tie(a.partition, a.offset) <
                     std::tie(b.partition, b.offset);
            });
  if (limit >= 0 && letters.size() > static_cast<size_t>(limit)) {
    letters.resize(limit);
  }
  return letters;
}

std::string FormatDeadLetter(const DeadLetter& letter, absl::Time now) {
  return absl::StrCat(letter.dlq_topic, "/", letter.partition, "@",
                      letter.offset, " from ", letter.original_topic, "/",
                      letter.original_partition, "@", letter.original_offset,
                      " attempts=", letter.attempts, " age=",
                      absl::FormatDuration(absl::Trunc(now - letter.dead_since,
                                                       absl::Seconds(1))),
                      " key=", letter.key, " id=", letter.event_id,
                      " group=", letter.group, " error=", letter.error);
}

bool ReplayFilter::Matches(const DeadLetter& letter) const {
  return (!partition.has_value() || *partition == letter.partition) &&
         (!offset.has_value() || *offset == letter.offset) &&
         (!key.has_value() || *key == letter.key) &&
         (!event_id.has_value() || *event_id == letter.event_id);
}

OutgoingMessage ReplayRecord(const DeadLetter& letter) {
  OutgoingMessage message;
  message.topic = letter.original_topic;
  message.key = letter.key;
  message.value = letter.value;
  message.event_id = letter.event_id;
  for (const Header& header : letter.headers) {
    if (!IsProvenance(header.first)) message.headers.push_back(header);
  }
  message.headers.emplace_back(
      kReplayedFrom, absl::StrCat(letter.dlq_topic, "/", letter.partition, "@",
                                  letter.offset));
  return message;
}

absl::StatusOr<int> ReplayDeadLetters(
    const Config& config, const std::string& dlq_topic,
    const ReplayFilter& filter, bool dry_run,
    const std::function<void(const std::string&)>& print) {
  absl::StatusOr<std::vector<DeadLetter>> letters =
      ReadDeadLetters(config, dlq_topic);
  if (!letters.ok()) return letters.status();
  std::unique_ptr<Producer> producer;
  if (!dry_run) {
    absl::StatusOr<std::unique_ptr<Producer>> created =
        Producer::Create(config);
    if (!created.ok()) return created.status();
    producer = *std::move(created);
  }
  int replayed = 0;
  for (const DeadLetter& letter : *letters) {
    if (!filter.Matches(letter)) continue;
    const std::string where = absl::StrCat(
        letter.dlq_topic, "/", letter.partition, "@", letter.offset,
        " (id=", letter.event_id, " key=", letter.key, ")");
    if (letter.original_topic.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          where, " has no ", dlt::kOriginalTopic,
          " header: not a dead letter; nothing replayed after it"));
    }
    if (dry_run) {
      print(
          absl::StrCat("would replay ", where, " to ", letter.original_topic));
      ++replayed;
      continue;
    }
    DeliveryResult sent = producer->Publish(ReplayRecord(letter)).get();
    if (!sent.ok()) {
      return absl::Status(
          sent.status().code(),
          absl::StrCat("replaying ", where, ": ", sent.status().message(), " (",
                       replayed, " replayed before it)"));
    }
    print(absl::StrCat("replayed ", where, " to ", sent->topic, "/",
                       sent->partition, "@", sent->offset));
    ++replayed;
  }
  return replayed;
}

}  // namespace ctl
}  // namespace herald
