// File: workers/realtime/realtime_settings.h
//
// The realtime worker's settings (base/settings.h), besides the messaging
// library's (messaging/config.h) and the token secret it shares with the
// gateway (messaging/realtime/token.h: realtime.token_secret).
//
//   realtime:
//     http_port: 8090          # HERALD_REALTIME_HTTP_PORT, --http_port
//     max_connections: 10000
//     client_buffer: 256
#ifndef HERALD_WORKERS_REALTIME_REALTIME_SETTINGS_H_
#define HERALD_WORKERS_REALTIME_REALTIME_SETTINGS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/settings.h"

namespace herald {
namespace workers {

struct RealtimeSettings {
  // Port of the page, the streams, /healthz and /metrics (0: any free port).
  int http_port = 8090;
  int http_threads = 2;
  // Most SSE and WebSocket connections open at once; more get 503.
  int max_connections = 10000;
  // Messages a connection may have queued, not yet written; a client
  // further behind is disconnected (it resumes from its last event id).
  int client_buffer = 256;
  // At most one write per connection this often: what queues meanwhile
  // goes out together (Centrifuge's WriteDelay). A message after a quiet
  // spell goes at once; at many messages a second, writes carry several;
  // when writing keeps a loop busy, the gap grows with the time a flush
  // takes (up to 4 delays; web/stream_server.h).
  absl::Duration write_delay = absl::Milliseconds(20);
  absl::Duration ping_interval = absl::Seconds(15);
  absl::Duration idle_timeout = absl::Seconds(60);
  // HMAC key of user tokens (realtime.token_secret); empty: user channels
  // are refused.
  std::string token_secret;
};

// The keys of `settings`, realtime.token_secret included.
std::vector<settings::Key> RealtimeKeys(RealtimeSettings& settings);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_REALTIME_REALTIME_SETTINGS_H_
