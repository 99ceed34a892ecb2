// File: workers/realtime/realtime_worker.h
//
// The realtime worker (`bazel run //workers:realtime`): the Hub (hub.h)
// behind a web::StreamServer on realtime.http_port (8090):
//
//   GET /                               the live page (page.html)
//   GET /api/v1/realtime/sse?channels=a,b[&token=...][&last_event_id=...]
//                                       text/event-stream; Last-Event-ID
//                                       header or last_event_id resumes
//   GET /api/v1/realtime/ws[?same]      WebSocket; JSON frames
//       {"type":"subscribe","channels":[...],"token":...,"last_event_id":...}
//       {"type":"unsubscribe","channels":[...]}
//   GET /healthz, GET /metrics
//
// `public.*` channels are open; `user.<id>` needs a token for that user
// (messaging/realtime/token.h): none or a bad one 401, another user's 403.
//
// Example:
//
//   auto worker = RealtimeWorker::Start(config, settings);
//   int port = (*worker)->port();
#ifndef HERALD_WORKERS_REALTIME_REALTIME_WORKER_H_
#define HERALD_WORKERS_REALTIME_REALTIME_WORKER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "messaging/config.h"
#include "workers/realtime/hub.h"
#include "workers/realtime/realtime_settings.h"

namespace herald {
namespace workers {

class RealtimeWorker {
 public:
  static absl::StatusOr<std::unique_ptr<RealtimeWorker>> Start(
      const Config& config, const RealtimeSettings& settings,
      HubOptions hub_options = {});
  ~RealtimeWorker();

  int port() const;
  // Closes every stream (clients reconnect elsewhere), stops reading.
  void Stop();

  class Impl;

 private:
  explicit RealtimeWorker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Loads the settings from flags (--http_port, --brokers, --config), runs
// until SIGINT/SIGTERM; the process exit code.
int RealtimeMain(int argc, char** argv);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_REALTIME_REALTIME_WORKER_H_
