#include "gateway/settings.h"

#include "messaging/realtime/token.h"

namespace herald {
namespace gateway {

std::vector<settings::Key> GatewayKeys(GatewaySettings& s) {
  std::vector<settings::Key> keys = {
      settings::String("http_address", &s.http_address,
                       "gateway: address of its HTTP API and admin port"),
      settings::Int("http_port", &s.http_port, 0, 65535,
                    "gateway HTTP port (0: any free port)"),
      settings::Int("admin_port", &s.admin_port, 0, 65535,
                    "gateway: /readyz, /metrics and /healthz port, off the "
                    "API's (0: any free port)"),
      settings::Bool("auth.enabled", &s.auth.enabled,
                     "gateway: require API keys; false lets every request "
                     "through and is refused unless http_address is "
                     "loopback (local development only)"),
      settings::Int("auth.rate_limit_per_second", &s.auth.rate_limit_per_second,
                    0, 1000000000,
                    "gateway: requests a second per API key, per gateway "
                    "(token bucket; 0: no limit); over it: 429"),
      settings::Int("auth.rate_limit_burst", &s.auth.rate_limit_burst, 1,
                    1000000000,
                    "gateway: requests an API key may send at once above "
                    "its rate"),
      settings::Int("http_threads", &s.http_threads, 1, 256,
                    "gateway threads serving HTTP; a request waiting for its "
                    "group commit holds no thread, so about one per core is "
                    "enough"),
      settings::Int("gateway.max_connections", &s.max_connections, 1, 1000000,
                    "gateway: most HTTP connections open at once; one more "
                    "is answered 503 (Retry-After: 1) and closed"),
      settings::Int("gateway.max_pending_writes", &s.max_pending_writes, 1,
                    1000000,
                    "gateway: most writes waiting for their commit; one more "
                    "is answered 503 (Retry-After: 1)"),
      settings::Milliseconds(
          "gateway.read_timeout_ms", &s.read_timeout, 10, 600000,
          "gateway: how long a read (GET /api/v1/payments/{id}, /readyz, the "
          "outbox gauges of /metrics) waits for the database before it is "
          "answered 503"),
      settings::Hours("idempotency.retention_hours", &s.idempotency_retention,
                      1, 87600,
                      "gateway: how long an Idempotency-Key and its answer "
                      "are remembered"),
  };
  keys.push_back(realtime::TokenSecretKey(&s.realtime_tokens.secret));
  keys.push_back(settings::Milliseconds(
      "realtime.token_ttl_ms", &s.realtime_tokens.ttl, 1000, 86400000,
      "gateway: how long a realtime user token (POST "
      "/api/v1/realtime/tokens) stays valid"));
  for (auto& key : db::DatabaseKeys(s.database)) keys.push_back(key);
  for (auto& key : outbox::OutboxKeys(s.relay)) keys.push_back(key);
  return keys;
}

}  // namespace gateway
}  // namespace herald
