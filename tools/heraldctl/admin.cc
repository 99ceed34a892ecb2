#include "tools/heraldctl/admin.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "database/database.h"
#include "messaging/contract_topics.h"
#include "messaging/dead_letter.h"
#include "messaging/group_lag.h"
#include "messaging/outbox/outbox_store.h"
#include "messaging/topic_admin.h"

namespace herald {
namespace ctl {
namespace {

std::string Age(absl::Duration age) {
  return absl::FormatDuration(absl::Trunc(age, absl::Seconds(1)));
}

// The contract topics and their dead-letter topics.
std::vector<std::string> AllTopics() {
  std::vector<std::string> topics;
  for (const std::string& topic : ContractTopics()) {
    topics.push_back(topic);
    topics.push_back(absl::StrCat(topic, dlt::kTopicSuffix));
  }
  return topics;
}

}  // namespace

absl::Status OutboxStatus(const std::string& db_url, std::ostream& out) {
  // Opening a SQLite file that is not there would create an empty one.
  if (absl::StartsWith(db_url, "sqlite:")) {
    const std::string path(absl::StripPrefix(
        absl::string_view(db_url).substr(0, db_url.find('?')), "sqlite:"));
    if (access(path.c_str(), F_OK) != 0) {
      return absl::NotFoundError(
          absl::StrCat("no database at ", path, " (--db=sqlite:PATH)"));
    }
  }
  absl::StatusOr<std::unique_ptr<db::Database>> db = db::Database::Open(db_url);
  if (!db.ok()) return db.status();
  absl::StatusOr<std::map<std::string, outbox::Backlog>> topics =
      outbox::ReadBacklogByTopic(**db);
  if (!topics.ok()) {
    return absl::Status(
        topics.status().code(),
        absl::StrCat("reading the outbox (is this a gateway's database?): ",
                     topics.status().message()));
  }
  out << absl::StrFormat("%-24s %10s  %s\n", "topic", "pending",
                         "oldest pending");
  outbox::Backlog total;
  for (const auto& [topic, backlog] : *topics) {
    out << absl::StrFormat("%-24s %10d  %s\n", topic, backlog.pending,
                           Age(backlog.oldest_age));
    total.pending += backlog.pending;
    total.oldest_age = std::max(total.oldest_age, backlog.oldest_age);
  }
  out << absl::StrFormat("%-24s %10d  %s\n", "total", total.pending,
                         total.pending > 0 ? Age(total.oldest_age) : "-");
  return absl::OkStatus();
}

absl::Status EnsureContractTopics(const Config& config,
                                  const EnsureOptions& options,
                                  std::ostream& out) {
  std::vector<TopicSpec> specs;
  for (const std::string& topic : AllTopics()) {
    specs.push_back(
        {topic, options.partitions, options.replication, options.retention});
  }
  absl::StatusOr<EnsuredTopics> ensured =
      EnsureTopics(config, specs, options.timeout);
  if (!ensured.ok()) return ensured.status();
  for (const std::string& topic : ensured->existed) {
    out << "exists  " << topic << "\n";
  }
  for (const std::string& topic : ensured->created) {
    out << "created " << topic << "\n";
  }
  return absl::OkStatus();
}

absl::Status PrintGroupLag(const Config& config, const std::string& group,
                           std::ostream& out) {
  std::vector<std::string> groups;
  if (!group.empty()) {
    groups.push_back(group);
  } else {
    absl::StatusOr<std::vector<std::string>> listed = ListGroups(config);
    if (!listed.ok()) {
      return absl::Status(
          listed.status().code(),
          absl::StrCat(listed.status().message(), " (name one: --group=G)"));
    }
    groups = *std::move(listed);
  }
  out << absl::StrFormat("%-28s %-24s %9s %12s %12s %10s\n", "group", "topic",
                         "partition", "committed", "end", "lag");
  for (const std::string& name : groups) {
    absl::StatusOr<std::vector<PartitionLag>> lag =
        GroupLag(config, name, AllTopics());
    if (!lag.ok()) return lag.status();
    for (const PartitionLag& p : *lag) {
      out << absl::StrFormat(
          "%-28s %-24s %9d %12s %12d %10d\n", p.group, p.topic, p.partition,
          p.committed >= 0 ? absl::StrCat(p.committed) : "-", p.end, p.lag);
    }
  }
  return absl::OkStatus();
}

}  // namespace ctl
}  // namespace herald
