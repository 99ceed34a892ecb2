#include "messaging/outbox/commit_notices.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace herald {
namespace outbox {
namespace {

constexpr absl::Duration kMinInterval = absl::Milliseconds(2);

}  // namespace

std::string FormatCommitNotices(const std::vector<CommitNotice>& notices) {
  std::string payload;
  for (const CommitNotice& notice : notices) {
    absl::StrAppend(&payload, payload.empty() ? "" : ",", notice.shard, ":",
                    notice.seq);
  }
  return payload;
}

std::vector<CommitNotice> ParseCommitNotices(absl::string_view payload) {
  std::vector<CommitNotice> notices;
  for (absl::string_view entry : absl::StrSplit(payload, ',')) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(entry, absl::MaxSplits(':', 1));
    CommitNotice notice;
    if (!absl::SimpleAtoi(parts.first, &notice.shard) ||
        !absl::SimpleAtoi(parts.second, &notice.seq) || notice.shard < 0 ||
        notice.shard >= kOutboxShards) {
      continue;
    }
    notices.push_back(notice);
  }
  return notices;
}

CommitAnnouncer::CommitAnnouncer(db::Database& db) : db_(db) {
  thread_ = std::thread([this] { Loop(); });
}

CommitAnnouncer::~CommitAnnouncer() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void CommitAnnouncer::Announce(int shard, int64_t seq) {
  if (shard < 0 || shard >= kOutboxShards) return;
  absl::MutexLock lock(&mu_);
  pending_[shard] = std::max(pending_[shard], seq);
  any_pending_ = true;
}

int64_t CommitAnnouncer::sent() const {
  absl::MutexLock lock(&mu_);
  return sent_;
}

bool CommitAnnouncer::HasWork() const { return any_pending_ || stop_; }

void CommitAnnouncer::Loop() {
  while (true) {
    std::vector<CommitNotice> notices;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &CommitAnnouncer::HasWork));
      stop = stop_;
      // Everything committed while the previous NOTIFY was on its way goes
      // out in this one.
      for (int shard = 0; shard < kOutboxShards; ++shard) {
        if (pending_[shard] > 0) notices.push_back({shard, pending_[shard]});
        pending_[shard] = 0;
      }
      any_pending_ = false;
    }
    if (!notices.empty()) {
      const std::string payload = FormatCommitNotices(notices);
      absl::Status s = db_.Transact([&](db::Transaction& tx) {
        return tx
            .Query("SELECT pg_notify(?, ?)",
                   {std::string(kCommitNoticeChannel), payload})
            .status();
      });
      if (s.ok()) {
        absl::MutexLock lock(&mu_);
        sent_++;
      } else {
        // The holders find the rows when they poll.
        LOG_EVERY_N(WARNING, 100)
            << "outbox: NOTIFY " << kCommitNoticeChannel << " failed: " << s;
      }
    }
    if (stop) return;
    // At most one NOTIFY per kMinInterval: each wakes every holder into a
    // read of the table, and more commits share the next one.
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stop_), kMinInterval);
  }
}

}  // namespace outbox
}  // namespace herald
