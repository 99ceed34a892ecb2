// Every key some Herald binary accepts. The keys themselves (defaults,
// parsing, help) are declared by the components that own them; this list
// only lets each binary tell another binary's key from a typo.
// tools/settings_reference_test fails when it and the components disagree.
#include "base/settings.h"

namespace herald {
namespace settings {

const std::vector<std::string>& KnownKeys() {
  static const auto* keys = new std::vector<std::string>{
      // messaging/config.h
      "service",
      "brokers",
      "client_id",
      "producer.compression",
      "producer.linger_ms",
      "producer.delivery_timeout_ms",
      "producer.enqueue_timeout_ms",
      "producer.close_timeout_ms",
      "producer.partitioner",
      "log.format",
      "consumer.group_id",
      "consumer.auto_offset_reset",
      "consumer.session_timeout_ms",
      "consumer.heartbeat_interval_ms",
      "consumer.commit_interval_ms",
      "consumer.fetch_wait_max_ms",
      "consumer.max_attempts",
      "consumer.retry_backoff_ms",
      "consumer.retry_max_backoff_ms",
      "consumer.dead_letter",
      "consumer.concurrency",
      "consumer.ordering",
      "consumer.max_in_flight",
      "kafka.properties.",
      // database/settings.h
      "db",
      // messaging/outbox/outbox_relay.h (OutboxKeys)
      "outbox.retention_hours",
      "outbox.lease_ms",
      // gateway/settings.h
      "http_address",
      "http_port",
      "admin_port",
      "auth.enabled",
      "auth.rate_limit_per_second",
      "auth.rate_limit_burst",
      "http_threads",
      "gateway.max_connections",
      "gateway.max_pending_writes",
      "gateway.read_timeout_ms",
      "idempotency.retention_hours",
      "realtime.token_ttl_ms",
      // workers/runtime/worker_settings.h (admin_port too)
      "consumer.batch_size",
      "consumer.batch_wait_ms",
      "consumer.inbox_retention_hours",
      "consumer.shutdown_timeout_ms",
      // workers/email/email_settings.h
      "maildir",
      "smtp_url",
      // workers/realtime/realtime_settings.h
      "realtime.http_port",
      "realtime.http_threads",
      "realtime.max_connections",
      "realtime.client_buffer",
      "realtime.write_delay_ms",
      "realtime.ping_interval_ms",
      "realtime.idle_timeout_ms",
      // messaging/realtime/token.h (the gateway and the realtime worker)
      "realtime.token_secret",
  };
  return *keys;
}

}  // namespace settings
}  // namespace herald
