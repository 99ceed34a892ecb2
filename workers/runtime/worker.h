// File: workers/runtime/worker.h
//
// What every Herald worker shares: its database (with the inbox migrated),
// one consumer group, the admin endpoints (/healthz, /metrics on
// --admin_port), graceful shutdown on SIGINT/SIGTERM within
// consumer.shutdown_timeout_ms, and the same flags (--brokers, --db,
// --config, --admin_port) and settings (workers/runtime/worker_settings.h).
// A worker only supplies `setup`: its migrations and its subscriptions, and
// the keys of its own settings, if it has any.
//
// GET /healthz says whether restarting the worker could help:
//
// clang-format off
//   200 {"status":"ok", ...}       working; also while it joins its group,
//                                  rebalances or briefly loses its brokers
//   200 {"status":"waiting",       a handler's dependency (its database, an
//        "waiting_on", ...}        SMTP server) is away: the consumer waits
//                                  for it, and a restart would not help
//   503 {"status":"unhealthy",     the consumer has not been a member of its
//        "reason", ...}            group for longer than
//                                  WorkerSpec::out_of_group_limit (30 s)
// clang-format on
//
// Out of its group means: not joined yet since the worker started (brokers
// unreachable, or the group cannot be joined), or its membership lost (the
// group coordinator did not answer for consumer.session_timeout_ms, after
// which the consumer gives up its member id and joins again). A member with
// no partitions is healthy: a group may have more members than partitions.
// There is no /readyz: a worker takes no requests that readiness could
// route away, and its group shares the partitions among the members by
// itself.
//
// Example (a worker's main.cc):
//
//   int main(int argc, char** argv) {
//     herald::workers::WorkerSpec spec;
//     spec.name = "crm";
//     spec.group = "crm-worker-group";
//     spec.setup = &herald::workers::SetUpCrm;
//     return herald::workers::WorkerMain(argc, argv, spec);
//   }
#ifndef HERALD_WORKERS_RUNTIME_WORKER_H_
#define HERALD_WORKERS_RUNTIME_WORKER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/flags.h"
#include "base/settings.h"
#include "database/database.h"
#include "messaging/config.h"
#include "messaging/consumer.h"
#include "metrics/registry.h"
#include "workers/runtime/worker_settings.h"

namespace herald {
namespace workers {

// Handed to a worker's setup.
struct WorkerContext {
  const Config& config;
  const WorkerSettings& settings;
  db::Database& db;
  Consumer& consumer;
  metrics::Registry& metrics;
};

struct WorkerSpec {
  std::string name;   // service name and client id, e.g. "email-worker"
  std::string group;  // default consumer group, e.g. "email-worker-group"
  // Migrates the worker's tables and subscribes its handlers.
  std::function<absl::Status(WorkerContext&)> setup;
  // The keys of the worker's own settings, bound to the settings `setup`
  // reads (see workers/email/email_worker.h); none when null.
  std::function<std::vector<settings::Key>()> keys;
  // What the worker does, a few lines for --help.
  std::string description;
  // How often inbox claims older than consumer.inbox_retention_hours are
  // deleted.
  absl::Duration maintenance_every = absl::Minutes(10);
  // How long the consumer may stay out of its group (since the worker
  // started, or since it lost its membership) before /healthz answers 503.
  absl::Duration out_of_group_limit = absl::Seconds(30);
  // WorkerMain's default admin_port for this worker (unset: WorkerSettings'
  // default): each its own, so that all of them run side by side.
  std::optional<int> admin_port;
};

// A running worker: consumer thread plus admin server.
class Worker {
 public:
  // Opens the database, migrates, runs `spec.setup`, starts the admin server
  // (on settings.admin_port; 0 picks a free port: see admin_port()) and
  // the consumer.
  static absl::StatusOr<std::unique_ptr<Worker>> Start(
      const Config& config, const WorkerSettings& settings,
      const WorkerSpec& spec);
  ~Worker();

  // Stops fetching, finishes the running handler, commits, leaves the group.
  absl::Status Stop();
  int admin_port() const;
  Consumer& consumer();

 private:
  class Impl;
  explicit Worker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Loads the settings (messaging, worker and the spec's own keys) from the
// shared flags (plus the worker's own flags, read by `extra` after
// parsing), runs the worker until SIGINT/SIGTERM and returns the process
// exit code.
int WorkerMain(
    int argc, char** argv, const WorkerSpec& spec,
    const std::function<std::vector<FlagOverride>()>& extra = nullptr);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_RUNTIME_WORKER_H_
