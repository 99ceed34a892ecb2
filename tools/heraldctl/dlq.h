// File: tools/heraldctl/dlq.h
//
// `heraldctl dlq`: reading a dead-letter topic (messaging/dead_letter.h) and
// putting its records back once the cause is fixed.
//
//   heraldctl dlq list payment.created.dlq [--limit=N]
//   heraldctl dlq replay payment.created.dlq [--offset=N [--partition=P]]
//       [--key=K] [--event_id=ID] [--dry_run]
//
// A replay republishes each selected record to its original topic with its
// original key, value and headers (the same ce_id: the inboxes of the
// workers make a replay, and a second replay, idempotent) without the
// dead-letter provenance headers, plus `herald_replayed-from`:
// "<dlq topic>/<partition>@<offset>".
#ifndef HERALD_TOOLS_HERALDCTL_DLQ_H_
#define HERALD_TOOLS_HERALDCTL_DLQ_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/config.h"
#include "messaging/envelope.h"

namespace herald {
namespace ctl {

inline constexpr char kReplayedFrom[] = "herald_replayed-from";

// One record of a dead-letter topic.
struct DeadLetter {
  // Where it is in the dead-letter topic.
  std::string dlq_topic;
  int32_t partition = -1;
  int64_t offset = -1;
  absl::Time dead_since;  // the dead-letter record's timestamp
  // Where it came from and why it failed (its provenance headers).
  std::string original_topic;
  int32_t original_partition = -1;
  int64_t original_offset = -1;
  std::string group;
  std::string attempts;
  std::string error;
  // The original record.
  std::string key;
  std::string event_id;  // ce_id
  std::string value;
  Headers headers;  // every header, provenance included
};

// The records of `dlq_topic` (ending in ".dlq") present when called, by
// partition and offset; at most `limit` (-1: all).
absl::StatusOr<std::vector<DeadLetter>> ReadDeadLetters(
    const Config& config, const std::string& dlq_topic, int limit = -1,
    absl::Duration timeout = absl::Seconds(30));

// One line: "<dlq>/<p>@<o> from <topic>/<p>@<o> attempts=N age=... key=...
// id=... group=... error=...".
std::string FormatDeadLetter(const DeadLetter& letter, absl::Time now);

// Which records a replay takes; unset fields match every record.
struct ReplayFilter {
  std::optional<int32_t> partition;  // of the dead-letter topic
  std::optional<int64_t> offset;     // in the dead-letter topic
  std::optional<std::string> key;
  std::optional<std::string> event_id;
  bool Matches(const DeadLetter& letter) const;
};

// The record a replay publishes for `letter`.
OutgoingMessage ReplayRecord(const DeadLetter& letter);

// Republishes the records of `dlq_topic` that `filter` selects (with
// `dry_run`, only says what it would do), printing a line for each;
// returns how many were (or would be) replayed.
absl::StatusOr<int> ReplayDeadLetters(
    const Config& config, const std::string& dlq_topic,
    const ReplayFilter& filter, bool dry_run,
    const std::function<void(const std::string&)>& print);

}  // namespace ctl
}  // namespace herald

#endif  // HERALD_TOOLS_HERALDCTL_DLQ_H_
