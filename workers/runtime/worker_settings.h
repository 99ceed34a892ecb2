// File: workers/runtime/worker_settings.h
//
// What every worker can be told (base/settings.h), besides the messaging
// library's settings (messaging/config.h): its admin port, its database,
// the batches of workers that handle them, how long its inbox remembers
// events and how long a stop may take.
//
//   admin_port: 9100                      # HERALD_ADMIN_PORT, --admin_port
//                                         # (each worker binary: its own)
//   consumer:
//     batch_size: 100
//
// Example:
//
//   herald::workers::WorkerSettings worker;
//   absl::Status loaded = herald::settings::Load(
//       herald::workers::WorkerKeys(worker), sources);
#ifndef HERALD_WORKERS_RUNTIME_WORKER_SETTINGS_H_
#define HERALD_WORKERS_RUNTIME_WORKER_SETTINGS_H_

#include <vector>

#include "absl/time/time.h"
#include "base/settings.h"
#include "database/settings.h"
#include "messaging/handler.h"

namespace herald {
namespace workers {

struct WorkerSettings {
  // Port of /healthz and /metrics (0: any free port).
  int admin_port = 9100;
  // Its own database (WorkerMain defaults it to sqlite:<worker>.db).
  db::DatabaseSettings database;
  // Workers that handle batches (consumer.batch_size, batch_wait_ms).
  BatchOptions batch;
  // How long the inbox remembers a handled event. An event redelivered
  // later (offsets reset to a topic's start, say) runs again: keep it above
  // the topics' retention (Kafka's default: 7 days).
  absl::Duration inbox_retention = absl::Hours(168);
  // On SIGINT/SIGTERM, how long the worker may take to finish and commit.
  absl::Duration shutdown_timeout = absl::Seconds(30);
};

// The keys of `settings`, its database's included.
std::vector<settings::Key> WorkerKeys(WorkerSettings& settings);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_RUNTIME_WORKER_SETTINGS_H_
