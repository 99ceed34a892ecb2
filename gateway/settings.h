// File: gateway/settings.h
//
// The gateway's settings (base/settings.h), besides the messaging library's
// (messaging/config.h): its HTTP address, port and threads, its admin port,
// API keys, its database, how long it remembers Idempotency-Keys, and its
// outbox relay.
//
//   http_port: 8080                      # HERALD_HTTP_PORT, --http_port
//   admin_port: 9090                     # /readyz, /metrics; --admin_port
//   auth:
//     rate_limit_per_second: 1000        # per API key, per gateway
//   idempotency:
//     retention_hours: 24
//   realtime:
//     token_secret: ...                  # shared with the realtime workers
//     token_ttl_ms: 600000
//
// Example:
//
//   herald::gateway::GatewaySettings gateway;
//   absl::Status loaded = herald::settings::Load(
//       herald::gateway::GatewayKeys(gateway), sources);
#ifndef HERALD_GATEWAY_SETTINGS_H_
#define HERALD_GATEWAY_SETTINGS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/settings.h"
#include "database/settings.h"
#include "messaging/outbox/outbox_relay.h"

namespace herald {
namespace gateway {

// API keys (gateway/auth/authenticator.h).
struct AuthSettings {
  // false: every request is let through without a key. For local
  // development only: the gateway then refuses to start unless http_address
  // is a loopback address.
  bool enabled = true;
  // Each key's token bucket, per gateway (0: no limit).
  int rate_limit_per_second = 1000;
  int rate_limit_burst = 2000;
};

// Realtime user tokens (POST /api/v1/realtime/tokens).
struct RealtimeTokenSettings {
  // realtime.token_secret, the HMAC key the realtime workers verify with
  // (messaging/realtime/token.h); empty: the endpoint answers 503
  // not_configured.
  std::string secret;
  // How long an issued token opens its user's channel.
  absl::Duration ttl = absl::Minutes(10);
};

struct GatewaySettings {
  // Address the HTTP API and the admin port listen on.
  std::string http_address = "0.0.0.0";
  // HTTP port of the API (0: any free port).
  int http_port = 8080;
  // Port of /readyz, /metrics and /healthz, kept off the API's port (0: any
  // free port).
  int admin_port = 9090;
  AuthSettings auth;
  RealtimeTokenSettings realtime_tokens;
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
