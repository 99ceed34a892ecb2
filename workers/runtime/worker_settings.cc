#include "workers/runtime/worker_settings.h"

namespace herald {
namespace workers {

std::vector<settings::Key> WorkerKeys(WorkerSettings& s) {
  constexpr int kHour = 3600000;
  std::vector<settings::Key> keys = {
      settings::Int(
          "admin_port", &s.admin_port, 0, 65535,
          "worker /healthz and /metrics port (0: any free port); each "
          "worker binary has its own default, below"),
      settings::Int("consumer.batch_size", &s.batch.max_size, 1, 100000,
                    "workers: records handled in one transaction (analytics, "
                    "CRM, email)"),
      settings::Milliseconds(
          "consumer.batch_wait_ms", &s.batch.max_wait, 0, kHour,
          "workers: the longest a partial batch waits for records known to "
          "be coming (fetched, or on the broker past what was fetched); with "
          "nothing more coming a batch goes at once"),
      settings::Hours("consumer.inbox_retention_hours", &s.inbox_retention, 1,
                      87600,
                      "workers: how long a handled event id is remembered "
                      "(deduplication); keep it above the topics' retention"),
      settings::Milliseconds("consumer.shutdown_timeout_ms",
                             &s.shutdown_timeout, 0, kHour,
                             "SIGTERM: finish, commit and leave within this"),
  };
  for (auto& key : db::DatabaseKeys(s.database)) keys.push_back(key);
  return keys;
}

}  // namespace workers
}  // namespace herald
