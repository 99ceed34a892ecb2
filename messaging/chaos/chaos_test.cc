// The consumer runtime under chaos: randomized runs, one per seed, that
// break everything the runtime promises to survive at once and then check
// that every promise held.
//
// One run (all of it derived from the seed, messaging/chaos/plan.h):
//
//   - N PaymentCreated records (key `payment_id` = "k<key>", amount = the
//     record's sequence number within its key) over P partitions and K keys,
//     produced in bursts over ~10 s while the group consumes, plus ~1%
//     undecodable records (raw bytes, or another contract's type) in the same
//     key lanes.
//   - The members (messaging/chaos/member.h) claim each record in the inbox
//     and insert a `chaos_effects` row in the same SQLite transaction
//     (ExactlyOnceEach, or ExactlyOnce for batch runs); by plan some
//     attempts fail transiently (retried; ~2% of the records on every
//     attempt: dead-lettered) and ~1.5% of the records fail Permanent.
//   - Member A runs throughout (it is the one left to finish); two more
//     in-process members join and leave at random times (rebalances); a
//     child process (//messaging/chaos:chaos_member) joins at the start and
//     is killed with SIGKILL once it has handled a random number of records,
//     in the middle of its work.
//   - The dead-letter topic refuses writes for 1-3 s (up to 5 s more if no
//     write met the refusal by then): its partition's leader is broker 2
//     (the topic's are on broker 1) and broker 2 answers every produce
//     request with TOPIC_AUTHORIZATION_FAILED meanwhile (the mock's
//     per-broker error stack, kept topped up; at most 2 errors outlive the
//     window, and a producer that met one also fails the topic's records
//     locally until its next metadata refresh, about a second later). The
//     idempotent producer fails those records without a fatal error.
//   - The database is unavailable 1-2 times for 0.5-3.5 s: the test holds
//     BEGIN EXCLUSIVE on its own connection, and the members (busy_timeout
//     100 ms) get "database is locked", marked DependencyOutage; the
//     consumers probe it every 100-300 ms meanwhile, so a record that the
//     outage cost attempts would soon be dead-lettered.
//   - A probe samples the group's committed offsets every 50 ms (a client
//     with the group's id that never joins, messaging/chaos/probe.h).
//
// Once every partition's committed offset reached its end, the test stops A
// and checks, from the effects table and the whole dead-letter topic:
//
//   1. every record was handled (an effect row) or dead-lettered (a copy in
//      payment.created.dlq), and each as its plan says: records planned to
//      succeed are handled and never dead-lettered (so nothing was
//      dead-lettered because of an outage or a refused dead-letter write,
//      and no dead letter's message mentions a lock), records planned to
//      fail and undecodable ones are dead-lettered and have no effect;
//   2. effects happened exactly once: at most one row per record, although
//      records are redelivered after the kill and the rebalances;
//   3. per key, the first handling (the row's autoincrement id) follows the
//      sequence numbers, leaving out dead-lettered records;
//   4. no committed offset ever passed an unsettled record: for each sample
//      (time T, partition p, committed C), every record of p below C had its
//      effect row (handled_at <= T) or a dead-letter copy (CreateTime <= T)
//      by then, 2 ms of clock tolerance allowed (settling happens before the
//      commit, and the commit before the probe's answer); and at the end each
//      partition's committed offset is its end offset.
//
// Seeds: 101, 202 and 303 by default (seed % 3 picks partition ordering,
// key ordering with concurrency > 1, or batch handlers; one shard each).
// Each run prints its seed, its plan and the command that replays it:
//
//   bazel test //messaging/chaos:chaos_test --test_env=CHAOS_SEED=<seed>
//
// CHAOS_SEED also takes a comma-separated list, or "random". A replay
// repeats the seed's plan exactly (records, keys, faults per attempt, the
// timeline); thread and broker timing still differ from run to run, so a
// failure that needed a narrow interleaving may take a few runs
// (--runs_per_test=5) to show again. The test's log says what each run did.
//
// One run takes 15-25 s here (join and leave cost the mock ~2 s each:
// session.timeout.ms is 3 s); the three default seeds run as three shards.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "contracts/v1/payments.pb.h"
#include "database/database.h"
#include "database/testing/sqlite_lock.h"
#include "messaging/chaos/member.h"
#include "messaging/chaos/plan.h"
#include "messaging/chaos/probe.h"
#include "messaging/cloudevents.h"
#include "messaging/dead_letter.h"
#include "messaging/envelope.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"

namespace herald {
namespace chaos {
namespace {

namespace fs = std::filesystem;
using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;

constexpr uint64_t kDefaultSeeds[] = {101, 202, 303};
constexpr int32_t kTopicBroker = 1;
constexpr int32_t kDeadLetterBroker = 2;
constexpr int kBusyTimeoutMs = 100;
// Clock tolerance between processes for the committed-offset check.
constexpr int64_t kClockToleranceMs = 2;
// How long the last member may take to settle and commit everything once
// the chaos is over (about 5 s here; the rest is for a loaded machine).
constexpr absl::Duration kSettleTimeout = absl::Seconds(45);

// The invariants, as failures name them.
constexpr char kSettledAsPlanned[] = "handled or dead-lettered as planned";
constexpr char kExactlyOnce[] = "effects exactly once";
constexpr char kKeyOrder[] = "per-key order";
constexpr char kCommitSettled[] = "no commit past an unsettled record";
constexpr int kShownViolations = 8;

std::vector<uint64_t> Seeds() {
  const char* env = std::getenv("CHAOS_SEED");
  if (env == nullptr || *env == '\0') {
    return std::vector<uint64_t>(std::begin(kDefaultSeeds),
                                 std::end(kDefaultSeeds));
  }
  std::vector<uint64_t> seeds;
  for (absl::string_view part : absl::StrSplit(env, ',', absl::SkipEmpty())) {
    part = absl::StripAsciiWhitespace(part);
    uint64_t seed = 0;
    if (part == "random") {
      seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) % 1000000;
    } else if (!absl::SimpleAtoi(part, &seed)) {
      std::cerr << "CHAOS_SEED: '" << part << "' is not a number\n";
      std::abort();
    }
    seeds.push_back(seed);
  }
  return seeds;
}

std::string ReplayCommand(uint64_t seed) {
  return absl::StrCat(
      "bazel test //messaging/chaos:chaos_test --test_env=CHAOS_SEED=", seed);
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// One record the test produced.
struct Produced {
  RecordId id;           // unused for garbage
  bool garbage = false;  // undecodable on purpose
  std::string label;     // id.Name(), or "garbage#<n>"
  int32_t partition = -1;
  int64_t offset = -1;
};

// The randomized timeline of one run (offsets from its start).
struct Timeline {
  struct Burst {
    absl::Duration at;
    size_t begin, end;  // indexes into the records
  };
  struct Window {
    absl::Duration start, length;
    std::string name;  // members only
  };
  std::vector<Produced> records;  // in production order
  std::vector<Burst> bursts;
  std::vector<Window> members;  // extra in-process members
  int kill_after_rows = 0;      // child's effect rows before SIGKILL
  absl::Duration kill_deadline;
  Window dead_letter_refusal;
  std::vector<Window> db_outages;

  std::string Describe() const {
    std::string out =
        absl::StrCat(bursts.size(), " bursts over ", Seconds(bursts.back().at),
                     " s; child killed after ", kill_after_rows, " rows (by ",
                     Seconds(kill_deadline), " s)");
    for (const Window& m : members) {
      absl::StrAppend(&out, "; member ", m.name, " ", Seconds(m.start), "-",
                      Seconds(m.start + m.length), " s");
    }
    absl::StrAppend(
        &out, "; dead-letter topic refuses writes ",
        Seconds(dead_letter_refusal.start), "-",
        Seconds(dead_letter_refusal.start + dead_letter_refusal.length), " s");
    for (const Window& w : db_outages) {
      absl::StrAppend(&out, "; database locked ", Seconds(w.start), "-",
                      Seconds(w.start + w.length), " s");
    }
    return out;
  }
};

absl::Duration Millis(int64_t ms) { return absl::Milliseconds(ms); }

Timeline MakeTimeline(const ChaosParams& params) {
  ChaosRandom random(Mix(params.seed, 0x7131e));
  Timeline t;
  // Records: keys at random, sequence numbers per key; garbage sprinkled in.
  std::vector<int64_t> next_seq(static_cast<size_t>(params.keys), 1);
  const int total = params.records + params.garbage;
  int garbage_left = params.garbage;
  for (int i = 0; i < total; ++i) {
    Produced r;
    r.id.key = static_cast<int>(random.Uniform(0, params.keys - 1));
    const int left = total - i;
    if (garbage_left > 0 && random.Uniform(1, left) <= garbage_left) {
      r.garbage = true;
      r.label = absl::StrCat("garbage#", params.garbage - garbage_left);
      --garbage_left;
    } else {
      r.id.seq = next_seq[static_cast<size_t>(r.id.key)]++;
      r.label = r.id.Name();
    }
    t.records.push_back(std::move(r));
  }
  // Bursts over 8-12 s, the first at once.
  const int bursts = static_cast<int>(random.Uniform(10, 20));
  const int64_t span_ms = random.Uniform(8000, 12000);
  std::vector<size_t> cuts = {0, t.records.size()};
  for (int i = 1; i < bursts; ++i) {
    cuts.push_back(static_cast<size_t>(
        random.Uniform(0, static_cast<int64_t>(t.records.size()))));
  }
  std::sort(cuts.begin(), cuts.end());
  for (int i = 0; i < bursts; ++i) {
    int64_t at = span_ms * i / bursts + (i == 0 ? 0 : random.Uniform(0, 300));
    t.bursts.push_back({Millis(at), cuts[i], cuts[i + 1]});
  }
  for (int i = 0; i < 2; ++i) {
    t.members.push_back({Millis(random.Uniform(1000, 9000)),
                         Millis(random.Uniform(3000, 7000)),
                         absl::StrCat("B", i + 1)});
  }
  t.kill_after_rows =
      static_cast<int>(random.Uniform(params.records / 12, params.records / 5));
  t.kill_deadline = absl::Seconds(14);
  t.dead_letter_refusal = {Millis(random.Uniform(2000, 10000)),
                           Millis(random.Uniform(1000, 3000)), ""};
  const int outages = static_cast<int>(random.Uniform(1, 2));
  absl::Duration not_before = absl::Seconds(1);
  for (int i = 0; i < outages; ++i) {
    absl::Duration start =
        std::max(not_before, Millis(random.Uniform(1000, 12000)));
    absl::Duration length = Millis(random.Uniform(500, 3500));
    t.db_outages.push_back({start, length, ""});
    not_before = start + length + absl::Seconds(1);
  }
  std::sort(t.db_outages.begin(), t.db_outages.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  return t;
}

// A committed-offsets sample.
struct Sample {
  int64_t at_ms;  // when the probe had the answer
  std::vector<int64_t> committed;
};

// A dead-letter copy, as read back.
struct DeadLetter {
  int32_t partition = -1;  // of the original record
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  std::string message;  // kafka_dlt-exception-message
  std::string attempts;
};

// An effect row.
struct Effect {
  int64_t id = 0;
  std::string record;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string member;
  int64_t handled_at = 0;
};

class ChaosTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  void SetUp() override {
    seed_ = GetParam();
    params_ = ParamsForSeed(seed_);
    timeline_ = MakeTimeline(params_);
    std::cout << "[chaos] seed " << seed_ << ": " << params_.Describe()
              << "\n[chaos] timeline: " << timeline_.Describe()
              << "\n[chaos] replay: " << ReplayCommand(seed_) << std::endl;

    auto cluster = MockCluster::Start(2);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic(kTopic, params_.partitions).ok());
    ASSERT_TRUE(cluster_->CreateTopic(kDeadLetterTopic, 1).ok());
    for (int p = 0; p < params_.partitions; ++p) {
      ASSERT_TRUE(cluster_->SetPartitionLeader(kTopic, p, kTopicBroker).ok());
    }
    ASSERT_TRUE(
        cluster_->SetPartitionLeader(kDeadLetterTopic, 0, kDeadLetterBroker)
            .ok());

    const std::string dir =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/chaos_", seed_);
    fs::remove_all(dir);
    fs::create_directories(dir);
    db_path_ = dir + "/chaos.db";
    db_url_ =
        absl::StrCat("sqlite:", db_path_, "?busy_timeout_ms=", kBusyTimeoutMs);
    auto db = db::Database::Open(absl::StrCat("sqlite:", db_path_));
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(CreateSchema(*db_).ok());
    group_ = absl::StrCat("chaos-", seed_);
  }

  void TearDown() override {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
  }

  MemberOptions Options(const std::string& name) const {
    return {cluster_->bootstrap_servers(), group_, db_url_, name, params_};
  }

  pid_t LaunchChild() {
    std::string binary = absl::StrCat(std::getenv("TEST_SRCDIR"),
                                      "/herald/messaging/chaos/chaos_member");
    std::vector<std::string> args = {
        binary,
        absl::StrCat("--brokers=", cluster_->bootstrap_servers()),
        absl::StrCat("--group=", group_),
        absl::StrCat("--db=", db_url_),
        absl::StrCat("--seed=", seed_),
        "--name=child",
    };
    // Everything the child needs is allocated before fork(): threads of
    // this process may hold malloc's locks at that moment.
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
      execv(argv[0], argv.data());
      _exit(127);
    }
    return pid;
  }

  int64_t CountRows(const std::string& member) {
    auto rows = db_->ReadValue<int64_t>(
        [&](db::Transaction& tx) -> absl::StatusOr<int64_t> {
          auto r = tx.Query(
              "SELECT COUNT(*) FROM chaos_effects WHERE member = ?", {member});
          if (!r.ok()) return r.status();
          return r->empty() ? 0 : (*r)[0].Int(0);
        });
    return rows.ok() ? *rows : -1;
  }

  // Sends the records of one burst, in order, noting where each landed.
  void Produce(Producer& producer, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Produced& r = timeline_.records[i];
      auto landed = [this, i](const DeliveryResult& result) {
        absl::MutexLock lock(&mu_);
        if (!result.ok()) {
          produce_errors_.push_back(absl::StrCat(
              timeline_.records[i].label, ": ", result.status().ToString()));
          return;
        }
        timeline_.records[i].partition = result->partition;
        timeline_.records[i].offset = result->offset;
      };
      if (!r.garbage) {
        PaymentCreated p;
        p.set_payment_id(KeyName(r.id.key));
        p.set_amount(r.id.seq);
        p.set_user_id("chaos");
        p.set_currency("EUR");
        producer.Send(p, landed);
        continue;
      }
      if (i % 2 == 0) {
        OutgoingMessage garbage;
        garbage.topic = kTopic;
        garbage.key = KeyName(r.id.key);
        garbage.value = absl::StrCat("\xff\xff\xff chaos ", r.label);
        producer.Publish(std::move(garbage), landed);
      } else {
        // A valid event of another contract: its ce_type gives it away.
        PaymentUpdated wrong;
        wrong.set_payment_id(KeyName(r.id.key));
        wrong.set_new_status("succeeded");
        absl::StatusOr<OutgoingMessage> encoded =
            EncodeEvent(wrong, "chaos-test", kTopic);
        ASSERT_TRUE(encoded.ok());
        producer.Publish(*std::move(encoded), landed);
      }
    }
  }

  // Holds the database's write lock for `length` (members get "locked").
  void LockDatabase(absl::Duration length) {
    auto lock = db::testing::SqliteWriteLock::Take(db_path_);
    ASSERT_TRUE(lock.ok()) << "cannot lock the database: " << lock.status();
    const absl::Time locked = absl::Now();
    absl::SleepFor(length);
    lock->reset();
    std::cout << "[chaos] database was locked for " << absl::Now() - locked
              << std::endl;
  }

  std::vector<Effect> ReadEffects() {
    auto rows = db_->ReadValue<std::vector<db::Row>>([](db::Transaction& tx) {
      return tx.Query(
          "SELECT id, record, kafka_partition, kafka_offset, member,"
          " handled_at FROM chaos_effects ORDER BY id");
    });
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<Effect> out;
    if (!rows.ok()) return out;
    for (const db::Row& row : *rows) {
      out.push_back({row.Int(0), row.String(1),
                     static_cast<int32_t>(row.Int(2)), row.Int(3),
                     row.String(4), row.Int(5)});
    }
    return out;
  }

  uint64_t seed_ = 0;
  ChaosParams params_;
  Timeline timeline_;
  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<db::Database> db_;
  std::string db_path_, db_url_, group_;
  pid_t child_ = -1;
  absl::Mutex mu_;
  std::vector<std::string> produce_errors_ ABSL_GUARDED_BY(mu_);
};

// Samples a group's committed offsets every 50 ms on a thread of its own.
class OffsetSampler {
 public:
  OffsetSampler(GroupOffsets& offsets, int partitions)
      : thread_([this, &offsets, partitions] {
          while (!stop_.load()) {
            auto committed =
                offsets.Committed(kTopic, partitions, absl::Seconds(2));
            if (committed.ok()) {
              Sample s{absl::ToUnixMillis(absl::Now()), *std::move(committed)};
              absl::MutexLock lock(&mu_);
              samples_.push_back(std::move(s));
            }
            absl::SleepFor(absl::Milliseconds(50));
          }
        }) {}
  ~OffsetSampler() { Stop(); }

  // The latest committed offsets (empty before the first answer).
  std::vector<int64_t> Latest() {
    absl::MutexLock lock(&mu_);
    return samples_.empty() ? std::vector<int64_t>{}
                            : samples_.back().committed;
  }

  // Stops sampling; returns every sample, oldest first.
  std::vector<Sample> Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    absl::MutexLock lock(&mu_);
    return samples_;
  }

 private:
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::vector<Sample> samples_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts once the rest is constructed
};

// Runs a ChaosMember on a thread of its own.
class MemberThread {
 public:
  explicit MemberThread(const MemberOptions& options) : name_(options.name) {
    auto member = ChaosMember::Create(options);
    EXPECT_TRUE(member.ok()) << name_ << ": " << member.status();
    if (!member.ok()) return;
    member_ = *std::move(member);
    thread_ = std::thread([this] { result_ = member_->Run(); });
  }
  ~MemberThread() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    const absl::Time asked = absl::Now();
    member_->Stop();
    thread_.join();
    EXPECT_TRUE(result_.ok()) << name_ << ": " << result_;
    std::cout << "[chaos] member " << name_ << " left after "
              << absl::Now() - asked << " (handled "
              << member_->consumer().Stats().handled << ", dead-lettered "
              << member_->consumer().Stats().dead_lettered << ")" << std::endl;
  }

  ChaosMember* member() { return member_.get(); }

 private:
  std::string name_;
  std::unique_ptr<ChaosMember> member_;
  std::thread thread_;
  absl::Status result_;
};

TEST_P(ChaosTest, EveryRecordSettledOnceInOrderAndNoCommitPassesAnUnsettled) {
  SCOPED_TRACE(
      absl::StrCat("chaos seed ", seed_, "; replay: ", ReplayCommand(seed_)));
  const absl::Time start = absl::Now();
  auto since_start = [&] { return absl::Now() - start; };
  auto at = [&](absl::Duration offset) {
    absl::SleepFor(start + offset - absl::Now());
  };

  // The probe of committed offsets, sampling throughout.
  auto offsets = GroupOffsets::Create(cluster_->bootstrap_servers(), group_);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  OffsetSampler sampler(**offsets, params_.partitions);

  // Member A (stays to the end) and the child.
  auto a = std::make_unique<MemberThread>(Options("A"));
  child_ = LaunchChild();
  ASSERT_GT(child_, 0);

  std::vector<std::thread> actors;
  // Production, in bursts.
  actors.emplace_back([&] {
    auto producer = Producer::Create(MemberConfig(Options("producer")));
    ASSERT_TRUE(producer.ok()) << producer.status();
    for (const Timeline::Burst& burst : timeline_.bursts) {
      at(burst.at);
      Produce(**producer, burst.begin, burst.end);
    }
    EXPECT_TRUE((*producer)->Flush(absl::Seconds(30)).ok());
  });
  // Members that join and leave.
  for (const Timeline::Window& w : timeline_.members) {
    actors.emplace_back([&, w] {
      at(w.start);
      MemberThread member(Options(w.name));
      at(w.start + w.length);
      member.Stop();
    });
  }
  // The child: SIGKILL once it has handled enough.
  int64_t child_rows_at_kill = -1;
  actors.emplace_back([&] {
    while (since_start() < timeline_.kill_deadline &&
           CountRows("child") < timeline_.kill_after_rows) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_EQ(waitpid(child_, nullptr, WNOHANG), 0)
        << "the child member exited before it was killed";
    kill(child_, SIGKILL);
    waitpid(child_, nullptr, 0);
    child_ = -1;
    child_rows_at_kill = CountRows("child");
    std::cout << "[chaos] child killed with SIGKILL at " << since_start()
              << " after " << child_rows_at_kill << " effect rows" << std::endl;
  });
  // The dead-letter topic refuses writes.
  int refusals_pushed = 0;
  actors.emplace_back([&] {
    // Until the window ends, and on (up to 5 s) until a write was refused.
    const Timeline::Window& w = timeline_.dead_letter_refusal;
    at(w.start);
    while (true) {
      auto pending = cluster_->PendingProduceFailures(kDeadLetterBroker);
      ASSERT_TRUE(pending.ok()) << pending.status();
      const absl::Duration now = since_start();
      if (now >= w.start + w.length + absl::Seconds(5) ||
          (now >= w.start + w.length && refusals_pushed > *pending)) {
        break;
      }
      if (*pending < 2) {
        ASSERT_TRUE(cluster_
                        ->FailProduces(
                            kDeadLetterBroker, 2 - *pending,
                            MockCluster::KafkaError::kTopicAuthorizationFailed)
                        .ok());
        refusals_pushed += 2 - *pending;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  // The database goes away.
  bool a_saw_outage = false;
  actors.emplace_back([&] {
    for (const Timeline::Window& w : timeline_.db_outages) {
      at(w.start);
      std::thread lock([&] { LockDatabase(w.length); });
      const absl::Time until = absl::Now() + w.length;
      while (absl::Now() < until) {
        if (a->member() != nullptr &&
            a->member()->consumer().Health().waiting_on_dependency) {
          a_saw_outage = true;
        }
        absl::SleepFor(absl::Milliseconds(10));
      }
      lock.join();
    }
  });
  for (std::thread& t : actors) t.join();
  std::cout << "[chaos] chaos over at " << since_start() << std::endl;

  {
    absl::MutexLock lock(&mu_);
    ASSERT_TRUE(produce_errors_.empty())
        << absl::StrJoin(produce_errors_, "\n");
  }
  std::vector<int64_t> end(static_cast<size_t>(params_.partitions), 0);
  std::map<std::pair<int32_t, int64_t>, size_t> by_location;
  for (size_t i = 0; i < timeline_.records.size(); ++i) {
    const Produced& r = timeline_.records[i];
    ASSERT_GE(r.offset, 0) << r.label << " has no delivery report";
    end[r.partition] = std::max(end[r.partition], r.offset + 1);
    by_location[{r.partition, r.offset}] = i;
  }

  // Wait until A committed everything.
  auto latest = [&] { return sampler.Latest(); };
  const absl::Time deadline = absl::Now() + kSettleTimeout;
  while (latest() != end && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const bool settled = latest() == end;
  std::cout << "[chaos] " << (settled ? "settled" : "NOT settled") << " at "
            << since_start() << ": committed " << absl::StrJoin(latest(), ",")
            << " of " << absl::StrJoin(end, ",") << std::endl;
  if (!settled && a->member() != nullptr) {
    const ConsumerHealth health = a->member()->consumer().Health();
    ADD_FAILURE() << "not everything was settled and committed within "
                  << kSettleTimeout << " after the chaos: committed "
                  << absl::StrJoin(latest(), ",") << " of "
                  << absl::StrJoin(end, ",") << "; member A holds "
                  << absl::StrJoin(a->member()->consumer().Assignment(), ",")
                  << ", " << health.in_flight << " in flight, "
                  << (health.waiting_on_dependency
                          ? absl::StrCat("waiting on a dependency since ",
                                         Seconds(health.waiting_since - start),
                                         " s (", health.dependency_error, ")")
                          : std::string("not waiting on a dependency"));
  }
  a->Stop();
  const std::vector<Sample> samples = sampler.Stop();
  auto final_committed =
      (*offsets)->Committed(kTopic, params_.partitions, absl::Seconds(10));
  ASSERT_TRUE(final_committed.ok()) << final_committed.status();
  EXPECT_EQ(*final_committed, end)
      << "the final committed offsets are not the partitions' ends";

  // What happened, from the effects table and the dead-letter topic.
  std::vector<Effect> effects = ReadEffects();
  auto dead = ReadPartition(cluster_->bootstrap_servers(), kDeadLetterTopic, 0,
                            absl::Seconds(30));
  ASSERT_TRUE(dead.ok()) << dead.status();
  auto refusals_left = cluster_->PendingProduceFailures(kDeadLetterBroker);
  ASSERT_TRUE(refusals_left.ok());

  // Violations per invariant; the first few of each are shown.
  std::map<std::string, int> violations;
  auto report = [&](const char* invariant, const std::string& what) {
    if (++violations[invariant] <= kShownViolations) {
      ADD_FAILURE() << "[" << invariant << "] " << what;
    }
  };

  // record index -> its effect rows / dead-letter copies
  std::vector<std::vector<const Effect*>> effects_of(timeline_.records.size());
  std::vector<std::vector<DeadLetter>> dead_of(timeline_.records.size());
  absl::flat_hash_map<std::string, size_t> by_label;
  for (size_t i = 0; i < timeline_.records.size(); ++i) {
    by_label[timeline_.records[i].label] = i;
  }
  std::map<std::string, int> rows_by_member;
  for (const Effect& e : effects) {
    ++rows_by_member[e.member];
    auto it = by_label.find(e.record);
    if (it == by_label.end()) {
      ADD_FAILURE() << "effect row " << e.id << " names unknown record "
                    << e.record;
      continue;
    }
    const Produced& r = timeline_.records[it->second];
    EXPECT_TRUE(r.partition == e.partition && r.offset == e.offset)
        << "effect row " << e.id << " of " << e.record << " says "
        << e.partition << "@" << e.offset << ", produced at " << r.partition
        << "@" << r.offset;
    effects_of[it->second].push_back(&e);
  }
  int dead_letters = 0;
  for (const TopicRecord& t : *dead) {
    DeadLetter d;
    const std::string* partition =
        FindHeader(t.headers, dlt::kOriginalPartition);
    const std::string* offset = FindHeader(t.headers, dlt::kOriginalOffset);
    const std::string* message = FindHeader(t.headers, dlt::kExceptionMessage);
    const std::string* attempts = FindHeader(t.headers, dlt::kAttempts);
    if (partition == nullptr || offset == nullptr || message == nullptr) {
      ADD_FAILURE() << "dead letter at offset " << t.offset
                    << " lacks provenance headers";
      continue;
    }
    d.partition = DecodeBigEndian32(*partition);
    d.offset = DecodeBigEndian64(*offset);
    d.timestamp_ms = t.timestamp_ms;
    d.message = *message;
    d.attempts = attempts != nullptr ? *attempts : "";
    const std::string lower = absl::AsciiStrToLower(d.message);
    if (absl::StrContains(lower, "locked") ||
        absl::StrContains(lower, "busy")) {
      report(kSettledAsPlanned,
             absl::StrCat("dead-lettered because of the database outage: ",
                          d.message));
    }
    auto it = by_location.find({d.partition, d.offset});
    if (it == by_location.end()) {
      ADD_FAILURE() << "dead letter of unknown record " << d.partition << "@"
                    << d.offset << ": " << d.message;
      continue;
    }
    ++dead_letters;
    dead_of[it->second].push_back(std::move(d));
  }

  // 1 and 2: each record handled or dead-lettered as planned, once.
  int handled = 0, planned_dead = 0, garbage = 0;
  for (size_t i = 0; i < timeline_.records.size(); ++i) {
    const Produced& r = timeline_.records[i];
    const std::string where =
        absl::StrCat(r.label, " (", r.partition, "@", r.offset, ")");
    if (effects_of[i].size() > 1) {
      std::string rows;
      for (const Effect* e : effects_of[i]) {
        absl::StrAppend(&rows, " #", e->id, " by ", e->member);
      }
      report(kExactlyOnce,
             absl::StrCat(where, " has ", effects_of[i].size(),
                          " effect rows (exactly once broken):", rows));
    }
    const bool dead_planned = r.garbage || PlannedDeadLetter(params_, r.id);
    if (r.garbage) {
      ++garbage;
    } else if (dead_planned) {
      ++planned_dead;
    } else {
      ++handled;
    }
    if (r.garbage) {
      for (const DeadLetter& d : dead_of[i]) {
        if (d.attempts != "0") {
          report(kSettledAsPlanned,
                 absl::StrCat(where,
                              " cannot be decoded, yet its dead letter"
                              " says ",
                              d.attempts, " attempt(s): ", d.message));
        }
      }
    }
    if (dead_planned) {
      if (dead_of[i].empty()) {
        report(kSettledAsPlanned,
               absl::StrCat(where, " was to be dead-lettered and is not in ",
                            kDeadLetterTopic,
                            " (effect rows: ", effects_of[i].size(), ")"));
      }
      if (!effects_of[i].empty()) {
        report(kSettledAsPlanned,
               absl::StrCat(where, " failed by plan but has an effect row #",
                            effects_of[i][0]->id));
      }
    } else {
      if (effects_of[i].empty()) {
        report(kSettledAsPlanned,
               absl::StrCat(where, " was never handled (dead letters: ",
                            dead_of[i].size(), ")"));
      }
      if (!dead_of[i].empty()) {
        report(kSettledAsPlanned,
               absl::StrCat(where, " succeeds by plan but was dead-lettered: ",
                            dead_of[i][0].message));
      }
    }
  }

  // 3: per key, first handling in sequence order.
  std::map<int, std::vector<size_t>> by_key;  // handled records, seq order
  for (size_t i = 0; i < timeline_.records.size(); ++i) {
    const Produced& r = timeline_.records[i];
    if (r.garbage || !dead_of[i].empty() || effects_of[i].empty()) continue;
    by_key[r.id.key].push_back(i);  // production order = sequence order
  }
  for (const auto& [key, records] : by_key) {
    for (size_t j = 1; j < records.size(); ++j) {
      const Effect* before = effects_of[records[j - 1]][0];
      const Effect* after = effects_of[records[j]][0];
      if (after->id < before->id) {
        report(kKeyOrder, absl::StrCat("key order broken: ", after->record,
                                       " first handled (row #", after->id,
                                       " by ", after->member, ") before ",
                                       before->record, " (row #", before->id,
                                       " by ", before->member, ")"));
        break;
      }
    }
  }

  // 4: no committed offset ever passed an unsettled record.
  std::vector<int64_t> settled_at(timeline_.records.size(), INT64_MAX);
  for (size_t i = 0; i < timeline_.records.size(); ++i) {
    for (const Effect* e : effects_of[i]) {
      settled_at[i] = std::min(settled_at[i], e->handled_at);
    }
    for (const DeadLetter& d : dead_of[i]) {
      settled_at[i] = std::min(settled_at[i], d.timestamp_ms);
    }
  }
  // Per partition, the records in offset order.
  std::vector<std::vector<size_t>> in_partition(
      static_cast<size_t>(params_.partitions));
  for (const auto& [location, index] : by_location) {
    in_partition[location.first].push_back(index);
  }
  {
    std::vector<bool> reported(static_cast<size_t>(params_.partitions));
    for (const Sample& s : samples) {
      for (int p = 0; p < params_.partitions; ++p) {
        if (reported[p]) continue;
        for (size_t index : in_partition[p]) {
          const Produced& r = timeline_.records[index];
          if (r.offset >= s.committed[p]) break;
          if (settled_at[index] <= s.at_ms + kClockToleranceMs) continue;
          reported[p] = true;
          report(
              kCommitSettled,
              absl::StrCat("committed offset ", s.committed[p],
                           " of partition ", p, " (sampled at ",
                           s.at_ms - absl::ToUnixMillis(start), " ms) passed ",
                           r.label, " at offset ", r.offset, ", settled only ",
                           settled_at[index] == INT64_MAX
                               ? std::string("never")
                               : absl::StrCat("at ",
                                              settled_at[index] -
                                                  absl::ToUnixMillis(start),
                                              " ms")));
          break;
        }
      }
    }
  }
  for (const auto& [invariant, count] : violations) {
    ADD_FAILURE() << "[" << invariant << "] " << count << " violation(s)"
                  << (count > kShownViolations ? " (the first shown above)"
                                               : "");
  }

  std::string members;
  for (const auto& [member, rows] : rows_by_member) {
    absl::StrAppend(&members, members.empty() ? "" : ", ", member, " ", rows);
  }
  std::cout << "[chaos] seed " << seed_ << " done in " << since_start() << ": "
            << handled << " handled, " << planned_dead
            << " dead-lettered by plan, " << garbage << " undecodable; "
            << dead_letters
            << " dead-letter copies; effect rows by member: " << members << "; "
            << samples.size() << " committed-offset samples; "
            << refusals_pushed - *refusals_left
            << " dead-letter writes refused; A "
            << (a_saw_outage ? "waited" : "did not wait")
            << " on the locked database" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ChaosTest, ::testing::ValuesIn(Seeds()),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return absl::StrCat("Seed", info.param);
                         });

}  // namespace
}  // namespace chaos
}  // namespace herald
