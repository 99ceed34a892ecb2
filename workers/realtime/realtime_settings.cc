#include "workers/realtime/realtime_settings.h"

#include "messaging/realtime/token.h"

namespace herald {
namespace workers {

std::vector<settings::Key> RealtimeKeys(RealtimeSettings& s) {
  constexpr int kHour = 3600000;
  return {
      settings::Int("realtime.http_port", &s.http_port, 0, 65535,
                    "realtime worker: page, SSE, WebSocket, /healthz and "
                    "/metrics port (0: any free port)"),
      settings::Int("realtime.http_threads", &s.http_threads, 1, 64,
                    "realtime worker: threads serving the connections"),
      settings::Int("realtime.max_connections", &s.max_connections, 1, 10000000,
                    "realtime worker: most SSE + WebSocket connections; "
                    "more are answered 503"),
      settings::Int("realtime.client_buffer", &s.client_buffer, 1, 100000,
                    "realtime worker: messages queued per connection; a "
                    "client further behind is disconnected and resumes"),
      settings::Milliseconds(
          "realtime.write_delay_ms", &s.write_delay, 0, 1000,
          "realtime worker: at most one write per connection this often "
          "(up to 4 times as long when busy); what queues meanwhile goes "
          "out together (0: every message at once)"),
      settings::Milliseconds(
          "realtime.ping_interval_ms", &s.ping_interval, 100, kHour,
          "realtime worker: an SSE keep-alive comment this often"),
      settings::Milliseconds("realtime.idle_timeout_ms", &s.idle_timeout, 100,
                             kHour,
                             "realtime worker: a WebSocket silent this long "
                             "(pinged at half) or an SSE write stuck this "
                             "long is closed"),
      realtime::TokenSecretKey(&s.token_secret),
  };
}

}  // namespace workers
}  // namespace herald
