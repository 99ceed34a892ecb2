// The outbox on one PostgreSQL with several gateways' relays (issue 14):
//
//   1. published events/s with 1, 2 and 3 gateways under the same load
//      (writer threads committing one event per transaction, as requests
//      do, spread over the gateways, each handing its rows to its relay);
//      writers and relays both at their maximum: events committed / time
//      until the last one's delivery is confirmed (the writers' rate and
//      the relays' rate while they write are printed too);
//   2. the cost of coordination: one gateway with shards and leases against
//      one without (main's relay: ids, no shards), same load, same run:
//      for the bare one-row transactions of (1), and (figure "gateway")
//      through the in-process gateway, HTTP clients POSTing payments;
//   3. the drain of a backlog: rows committed (one per transaction) while
//      the broker is down for --outage_s, then the broker back: events/s
//      until none is pending, with 1 and 3 gateways;
//   4. wake-up latency: a row committed by one gateway for a shard another
//      holds, until its delivery is confirmed.
//
// Medians of --rounds rounds, with the spread. The PostgreSQL server is the
// tests' throwaway one (fsync off: commits are cheaper than on a real
// server), the broker the in-process mock cluster.
//
//   bazel run -c opt //tools/bench:outbox_scale_bench -- --rounds=3
//   ... -- --figures=drain   (or coordination, gateway, gateways, wakeup)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/usage.h"
#include "contracts/v1/payments.pb.h"
#include "database/database.h"
#include "database/migrations.h"
#include "database/testing/postgres_server.h"
#include "gateway/gateway.h"
#include "gateway/settings.h"
#include "messaging/mock_cluster.h"
#include "messaging/outbox/commit_notices.h"
#include "messaging/outbox/outbox_relay.h"
#include "messaging/outbox/outbox_store.h"
#include "web/client.h"

ABSL_FLAG(int, rounds, 3, "rounds of each figure");
ABSL_FLAG(int, seconds, 5, "load per round, seconds");
ABSL_FLAG(int, writers, 8, "writer threads, spread over the gateways");
ABSL_FLAG(int, backlog, 200000, "rows pending for the drain");
ABSL_FLAG(int, outage_s, 30, "broker outage before the drain, seconds");
ABSL_FLAG(int, clients, 16,
          "HTTP clients of the gateway figure (one connection each)");
ABSL_FLAG(std::string, figures, "coordination,gateway,gateways,wakeup,drain",
          "which figures to measure (comma-separated)");

namespace herald {
namespace {

using contracts::v1::PaymentCreated;

struct Env {
  std::unique_ptr<db::testing::PostgresServer> server;
  std::unique_ptr<MockCluster> cluster;
  Config config;
  int databases = 0;
  std::string last_url;
};

std::unique_ptr<db::Database> FreshDatabase(Env& env) {
  auto url = env.server->CreateDatabase(absl::StrCat("b", env.databases++));
  if (!url.ok()) {
    std::fprintf(stderr, "%s\n", url.status().ToString().c_str());
    std::exit(1);
  }
  env.last_url = *url;
  auto db = db::Database::Open(absl::StrCat(*url, "?pool_size=6"));
  if (!db.ok() ||
      !db::Migrate(**db, "outbox", outbox::OutboxMigrations()).ok()) {
    std::fprintf(stderr, "cannot open/migrate %s\n", url->c_str());
    std::exit(1);
  }
  return *std::move(db);
}

// Another gateway's pool on the newest database.
std::unique_ptr<db::Database> Reopen(Env& env) {
  auto db = db::Database::Open(absl::StrCat(env.last_url, "?pool_size=6"));
  if (!db.ok()) std::exit(1);
  return *std::move(db);
}

outbox::OutboxRow Row(int64_t i) {
  PaymentCreated p;
  p.set_payment_id(absl::StrCat("pay_", i % 10000));
  p.set_amount(i + 1);
  p.set_currency("EUR");
  return *outbox::EncodeOutboxRow(p, "bench");
}

int64_t Pending(db::Database& db) {
  auto backlog = outbox::ReadBacklog(db);
  return backlog.ok() ? backlog->pending : -1;
}

void WaitDrained(db::Database& db) {
  while (Pending(db) != 0) absl::SleepFor(absl::Milliseconds(20));
}

// Figure 1/2: `gateways` gateways, each a database pool and a relay;
// writers commit for --seconds; returns events published per second
// (committed rows / time until the last is confirmed).
double RunLoad(Env& env, int gateways, bool shard_leases) {
  std::vector<std::unique_ptr<db::Database>> dbs;
  dbs.push_back(FreshDatabase(env));
  for (int g = 1; g < gateways; ++g) dbs.push_back(Reopen(env));
  outbox::RelayOptions options;
  options.shard_leases = shard_leases;
  std::vector<std::unique_ptr<outbox::OutboxRelay>> relays;
  for (auto& db : dbs) {
    relays.push_back(*outbox::OutboxRelay::Start(*db, env.config, options));
  }
  // Let the leases settle (each relay its share) before the clock starts.
  absl::SleepFor(absl::Milliseconds(shard_leases && gateways > 1 ? 2500 : 0));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> committed{0};
  std::vector<std::thread> writers;
  const absl::Time start = absl::Now();
  for (int w = 0; w < absl::GetFlag(FLAGS_writers); ++w) {
    writers.emplace_back([&, w] {
      const int g = w % gateways;
      for (int64_t i = w; !stop; i += 1000) {
        outbox::OutboxRow row = Row(i);
        outbox::RowPosition position;
        absl::Status s = dbs[g]->Transact([&](db::Transaction& tx) {
          return shard_leases ? outbox::AppendToOutbox(tx, row, &position)
                              : outbox::AppendToOutboxById(tx, row, &position);
        });
        if (!s.ok()) continue;
        committed++;
        relays[g]->Handoff(position, std::move(row));
      }
    });
  }
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (std::thread& t : writers) t.join();
  const absl::Duration writing = absl::Now() - start;
  const int64_t pending_at_end = Pending(*dbs[0]);
  WaitDrained(*dbs[0]);
  // The figure: both sides at their maximum, events committed and
  // published per second, until the last is confirmed. The writers' own
  // rate and the relays' while they write, for the record: main's relay
  // falls behind its writers, and the drain takes the rest.
  const double rate =
      committed.load() / absl::ToDoubleSeconds(absl::Now() - start);
  std::fprintf(
      stderr,
      "  %d gateway(s), %s: %.0f/s end to end; writers committed "
      "%.0f/s, relays published %.0f/s meanwhile (%lld pending "
      "when the writers stopped)\n",
      gateways, shard_leases ? "shards + leases" : "main's relay", rate,
      committed.load() / absl::ToDoubleSeconds(writing),
      (committed.load() - pending_at_end) / absl::ToDoubleSeconds(writing),
      static_cast<long long>(pending_at_end));
  int64_t published = 0, handed_off = 0;
  for (auto& relay : relays) {
    published += relay->Stats().published;
    handed_off += relay->Stats().handed_off;
  }
  std::fprintf(stderr,
               "    %.0f%% of the rows published as handed over (the rest "
               "read back from the table)\n",
               100.0 * handed_off / std::max<int64_t>(1, published));
  for (auto& relay : relays) relay->Stop();
  return rate;
}

// Figure 2b: the same cost, seen by a gateway's clients: the in-process
// gateway on a fresh database, --clients connections POSTing payments for
// --seconds (no API key: auth.enabled=false on loopback), with or without
// shards and leases; returns payments answered 201 per second until the
// last one's delivery is confirmed.
double RunGateway(Env& env, bool shard_leases) {
  absl::StatusOr<std::string> url =
      env.server->CreateDatabase(absl::StrCat("g", env.databases++));
  if (!url.ok()) std::exit(1);
  gateway::GatewaySettings settings;
  settings.database.url = *url;
  settings.http_address = "127.0.0.1";
  settings.http_port = 0;
  settings.admin_port = 0;
  settings.auth.enabled = false;
  settings.relay.shard_leases = shard_leases;
  absl::StatusOr<std::unique_ptr<gateway::Gateway>> gw =
      gateway::Gateway::Start(env.config, settings);
  if (!gw.ok()) {
    std::fprintf(stderr, "%s\n", gw.status().ToString().c_str());
    std::exit(1);
  }
  auto watch = db::Database::Open(absl::StrCat(*url, "?pool_size=1"));
  if (!watch.ok()) std::exit(1);
  const int port = (*gw)->port();
  std::atomic<bool> stop{false};
  std::atomic<int64_t> accepted{0}, refused{0};
  std::vector<std::thread> clients;
  const absl::Time start = absl::Now();
  for (int c = 0; c < absl::GetFlag(FLAGS_clients); ++c) {
    clients.emplace_back([&, c] {
      web::HttpClient client("127.0.0.1", port, absl::Seconds(10));
      const web::HeaderList headers = {{"Content-Type", "application/json"}};
      for (int64_t i = 0; !stop; ++i) {
        auto answer = client.Send(
            "POST", "/api/v1/payments",
            absl::StrCat(R"({"user_id":"user_)", c, "_", i % 100,
                         R"(","amount":)", 100 + i, R"(,"currency":"EUR"})"),
            headers);
        if (answer.ok() && answer->status == 201) {
          accepted++;
        } else {
          refused++;
        }
      }
    });
  }
  absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (std::thread& t : clients) t.join();
  const absl::Duration answering = absl::Now() - start;
  WaitDrained(**watch);
  const double rate =
      accepted.load() / absl::ToDoubleSeconds(absl::Now() - start);
  std::fprintf(stderr,
               "  gateway, %s: %.0f/s end to end; answered 201 %.0f/s "
               "(%lld other answers)\n",
               shard_leases ? "shards + leases" : "main's relay", rate,
               accepted.load() / absl::ToDoubleSeconds(answering),
               static_cast<long long>(refused.load()));
  (*gw)->Stop();
  return rate;
}

// Figure 3: a backlog committed while the broker is down, then drained by
// `gateways` relays; returns events/s from the broker's return to none
// pending.
double RunDrain(Env& env, int gateways) {
  std::vector<std::unique_ptr<db::Database>> dbs;
  dbs.push_back(FreshDatabase(env));
  for (int g = 1; g < gateways; ++g) dbs.push_back(Reopen(env));
  std::vector<std::unique_ptr<outbox::OutboxRelay>> relays;
  for (auto& db : dbs) {
    relays.push_back(*outbox::OutboxRelay::Start(*db, env.config));
  }
  absl::SleepFor(absl::Milliseconds(gateways > 1 ? 2500 : 0));
  if (absl::Status s = env.cluster->SetBrokerDown(1); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
  const absl::Time down = absl::Now();
  // The backlog: one row per transaction, on 8 threads, as a gateway's
  // requests write it (so rows of many shards interleave their ids).
  const int backlog = absl::GetFlag(FLAGS_backlog);
  std::atomic<int64_t> next{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&] {
      for (int64_t i = next++; i < backlog; i = next++) {
        const outbox::OutboxRow row = Row(i);
        absl::Status s = dbs[0]->Transact([&](db::Transaction& tx) {
          return outbox::AppendToOutbox(tx, row);
        });
        if (!s.ok()) std::fprintf(stderr, "%s\n", s.ToString().c_str());
      }
    });
  }
  for (std::thread& t : writers) t.join();
  const absl::Duration written = absl::Now() - down;
  const absl::Duration left =
      absl::Seconds(absl::GetFlag(FLAGS_outage_s)) - written;
  if (left > absl::ZeroDuration()) absl::SleepFor(left);
  const int64_t pending = Pending(*dbs[0]);
  int64_t published_before = 0;
  for (auto& relay : relays) published_before += relay->Stats().published;
  if (absl::Status s = env.cluster->SetBrokerUp(1); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
  const absl::Time up = absl::Now();
  // The first delivery confirmed after the broker's return (the producer
  // has reconnected), then the last: the relays' counts of rows recorded as
  // published, read often (cheap), then the table once to confirm (reading
  // it every few milliseconds would slow the drain it measures).
  auto published = [&] {
    int64_t n = -published_before;
    for (auto& relay : relays) n += relay->Stats().published;
    return n;
  };
  absl::Time first = absl::InfiniteFuture();
  while (true) {
    const int64_t n = published();
    if (n > 0 && first == absl::InfiniteFuture()) first = absl::Now();
    if (n >= pending && Pending(*dbs[0]) == 0) break;
    absl::SleepFor(absl::Milliseconds(1));
  }
  const absl::Time drained = absl::Now();
  if (first == absl::InfiniteFuture()) first = drained;
  const double rate = pending / absl::ToDoubleSeconds(drained - up);
  std::fprintf(
      stderr,
      "  drain, %d gateway(s): %lld rows pending (written in %.1f "
      "s), broker down %.1f s; first delivery %.2f s after its "
      "return, then %.0f/s; %.0f/s from its return\n",
      gateways, static_cast<long long>(pending), absl::ToDoubleSeconds(written),
      absl::ToDoubleSeconds(up - down), absl::ToDoubleSeconds(first - up),
      pending / std::max(1e-3, absl::ToDoubleSeconds(drained - first)), rate);
  for (auto& relay : relays) relay->Stop();
  return rate;
}

// Figure 4: gateway A commits rows and hands them to its relay, which
// holds no shard (B took them all first): A's relay announces them after
// the commit (commit_notices.h), and B's relay publishes them. Milliseconds
// from commit to confirmed delivery.
std::vector<double> RunWakeups(Env& env, int rows) {
  auto db_b = FreshDatabase(env);
  auto db_a = Reopen(env);
  outbox::RelayOptions options;
  options.idle_poll = absl::Seconds(5);  // the fallback, far away
  options.lease = absl::Minutes(1);      // B keeps every shard meanwhile
  auto relay_b = *outbox::OutboxRelay::Start(*db_b, env.config, options);
  auto relay_a = *outbox::OutboxRelay::Start(*db_a, env.config, options);
  std::vector<double> ms;
  for (int i = 0; i < rows; ++i) {
    const int64_t before = relay_b->Stats().published;
    outbox::OutboxRow row = Row(i);
    outbox::RowPosition position;
    db_a->Transact([&](db::Transaction& tx) {
          return outbox::AppendToOutbox(tx, row, &position);
        })
        .IgnoreError();
    const absl::Time committed = absl::Now();
    relay_a->Handoff(position, std::move(row));
    while (relay_b->Stats().published == before) {
      absl::SleepFor(absl::Microseconds(100));
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - committed));
  }
  if (relay_a->Stats().shards_held != 0) {
    std::fprintf(stderr, "gateway A took shards: the figure is not valid\n");
  }
  relay_a->Stop();
  relay_b->Stop();
  return ms;
}

struct Figure {
  double median, low, high;
};
Figure Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}
std::string Show(const Figure& f) {
  return absl::StrFormat("%9.0f (%.0f-%.0f)", f.median, f.low, f.high);
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) {
  using namespace herald;  // NOLINT
  Usage usage;
  usage.synopsis = "outbox_scale_bench [--rounds=N]";
  usage.description =
      "The outbox with several gateways' relays on one PostgreSQL: events/s\n"
      "with 1, 2, 3 gateways, the cost of coordination, backlog drain and\n"
      "wake-up latency.\n";
  HandleHelp(argc, argv, usage);
  absl::ParseCommandLine(argc, argv);
  Env env;
  auto server = db::testing::PostgresServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  env.server = *std::move(server);
  env.cluster = *MockCluster::Start(1);
  env.cluster->CreateTopic("payment.created", 6).IgnoreError();
  env.config.brokers = env.cluster->bootstrap_servers();
  env.config.service = "bench";
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const std::vector<std::string> figures =
      absl::StrSplit(absl::GetFlag(FLAGS_figures), ',');
  auto wanted = [&](absl::string_view figure) {
    return std::find(figures.begin(), figures.end(), figure) != figures.end();
  };

  std::printf(
      "outbox on one PostgreSQL, %d writer threads, %d s of load, "
      "%d rounds (median (min-max) events/s; end to end: writers and relays "
      "both at their maximum, events committed / time until the last one's "
      "delivery is confirmed)\n",
      absl::GetFlag(FLAGS_writers), absl::GetFlag(FLAGS_seconds), rounds);
  std::fflush(stdout);
  // 2: with and without coordination, alternating within each round.
  if (wanted("coordination") || wanted("gateways")) {
    std::vector<double> with, without, ratio;
    std::vector<double> by_gateways[4];
    for (int r = 0; r < rounds; ++r) {
      if (wanted("coordination")) {
        without.push_back(RunLoad(env, 1, /*shard_leases=*/false));
      }
      with.push_back(RunLoad(env, 1, /*shard_leases=*/true));
      if (!without.empty()) ratio.push_back(with.back() / without.back());
      by_gateways[1].push_back(with.back());
      if (wanted("gateways")) {
        for (int g = 2; g <= 3; ++g) {
          by_gateways[g].push_back(RunLoad(env, g, true));
        }
      }
    }
    if (!ratio.empty()) {
      std::printf("one gateway, main's relay (no shards, no leases): %s\n",
                  Show(Summarize(without)).c_str());
      std::printf("one gateway, shards + leases + notices:           %s\n",
                  Show(Summarize(with)).c_str());
      Figure r = Summarize(ratio);
      std::printf(
          "coordination cost: with/without = %.3f (%.3f-%.3f; target "
          ">= 0.9)\n",
          r.median, r.low, r.high);
    }
    if (wanted("gateways")) {
      for (int g = 1; g <= 3; ++g) {
        std::printf("%d gateway(s), same load:                          %s\n",
                    g, Show(Summarize(by_gateways[g])).c_str());
      }
    }
    std::fflush(stdout);
  }

  // 2b: the same, through a gateway, alternating within each round.
  if (wanted("gateway")) {
    std::vector<double> with, without, ratio;
    for (int r = 0; r < rounds; ++r) {
      without.push_back(RunGateway(env, /*shard_leases=*/false));
      with.push_back(RunGateway(env, /*shard_leases=*/true));
      ratio.push_back(with.back() / without.back());
    }
    std::printf(
        "gateway, %d clients POSTing payments (no key), main's relay:   %s\n",
        absl::GetFlag(FLAGS_clients), Show(Summarize(without)).c_str());
    std::printf(
        "gateway, %d clients POSTing payments (no key), shards + leases: "
        "%s\n",
        absl::GetFlag(FLAGS_clients), Show(Summarize(with)).c_str());
    Figure r = Summarize(ratio);
    std::printf(
        "coordination cost through the gateway: with/without = %.3f "
        "(%.3f-%.3f; target >= 0.9)\n",
        r.median, r.low, r.high);
    std::fflush(stdout);
  }

  if (wanted("wakeup")) {
    std::vector<double> wake = RunWakeups(env, 200);
    Figure w = Summarize(wake);
    std::sort(wake.begin(), wake.end());
    std::printf(
        "wake-up across gateways (commit on A -> delivery confirmed by "
        "B): median %.2f ms, p99 %.2f ms, max %.2f ms (target ~10 ms; "
        "B polls every 5 s)\n",
        w.median, wake[wake.size() * 99 / 100], w.high);
    std::fflush(stdout);
  }

  if (wanted("drain")) {
    for (int gateways : {1, 3}) {
      std::vector<double> drain;
      for (int round = 0; round < rounds; ++round) {
        drain.push_back(RunDrain(env, gateways));
      }
      std::printf(
          "drain after a %d s broker outage, %d rows pending, %d "
          "gateway(s): %s (target >= 50,000)\n",
          absl::GetFlag(FLAGS_outage_s), absl::GetFlag(FLAGS_backlog), gateways,
          Show(Summarize(drain)).c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
