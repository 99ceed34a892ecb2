// File: gateway/gateway.h
//
// The gateway service, assembled: database (migrated on start), outbox relay,
// HTTP API behind API keys (gateway/auth/), and an admin port with health,
// readiness and metrics. `main.cc` only parses flags and calls Start.
// With no brokers configured it starts (or reuses) the in-memory development
// broker on 127.0.0.1:9092 and says so.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<herald::gateway::Gateway>> gateway =
//       herald::gateway::Gateway::Start(config, settings);
//   ...
//   (*gateway)->Stop();
#ifndef HERALD_GATEWAY_GATEWAY_H_
#define HERALD_GATEWAY_GATEWAY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/settings.h"
#include "messaging/config.h"

namespace herald {
namespace gateway {

// What code (tests, benchmarks) may change besides the settings.
struct GatewayOptions {
  size_t max_body_bytes = 64 * 1024;
  // Where the development broker goes when no brokers are configured.
  int dev_broker_port = 9092;
  // How often Idempotency-Keys older than their retention are deleted.
  absl::Duration maintenance_every = absl::Minutes(1);
};

class Gateway {
 public:
  // `config` for Kafka (no brokers: the development broker), `settings` for
  // the rest.
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(
      const Config& config, const GatewaySettings& settings,
      const GatewayOptions& options = {});
  ~Gateway();

  // The bound HTTP port (settings.http_port, or the free port picked for 0).
  int port() const;
  // The bound admin port: /readyz, /metrics, /healthz (settings.admin_port,
  // or the free port picked for 0).
  int admin_port() const;
  // The brokers in use (the development broker's address if it started one).
  std::string brokers() const;

  // Stops serving, lets requests in progress finish, stops the relay.
  void Stop();

 private:
  class Impl;
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_GATEWAY_H_
