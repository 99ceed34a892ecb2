// File: gateway/settings.h
//
// The gateway's settings (base/settings.h), besides the messaging library's
// (messaging/config.h): its HTTP port and threads, its database, how long
// it remembers Idempotency-Keys, and its outbox relay.
//
//   http_port: 8080                      # HERALD_HTTP_PORT, --http_port
//   idempotency:
//     retention_hours: 24
//
// Example:
//
//   herald::gateway::GatewaySettings gateway;
//   absl::Status loaded = herald::settings::Load(
//       herald::gateway::GatewayKeys(gateway), sources);
#ifndef HERALD_GATEWAY_SETTINGS_H_
#define HERALD_GATEWAY_SETTINGS_H_

#include <vector>

#include "absl/time/time.h"
#include "base/settings.h"
#include "database/settings.h"
#include "messaging/outbox/outbox_relay.h"

namespace herald {
namespace gateway {

struct GatewaySettings {
  // HTTP port (0: any free port).
  int http_port = 8080;
  // Threads serving HTTP. A request waiting for its group commit holds no
  // thread, so about one per core is enough.
  int http_threads = 2;
  // Most HTTP connections open at once; one more is answered 503.
  int max_connections = 4096;
  // Most writes waiting for their commit; one more is answered 503 with
  // Retry-After instead of queuing without limit.
  int max_pending_writes = 1024;
  // How long a read (GET /api/v1/payments/{id}, /readyz, the outbox gauges
  // of /metrics) waits for the database before it is answered 503.
  absl::Duration read_timeout = absl::Seconds(2);
  // How long an Idempotency-Key and its answer are remembered.
  absl::Duration idempotency_retention = absl::Hours(24);
  db::DatabaseSettings database;
  outbox::RelayOptions relay;  // outbox.retention_hours
};

// The keys of `settings`, its database's and its relay's included.
std::vector<settings::Key> GatewayKeys(GatewaySettings& settings);

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_SETTINGS_H_
