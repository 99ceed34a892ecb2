// File: workers/realtime/hub.h
//
// The realtime worker's core: one TailReader over every partition of
// RealtimeTopics() (no consumer group: each instance reads everything),
// started at the end, and the streams subscribed to channels. Each record
// is mapped to its deliveries (channels.h) and each delivery encoded once
// per transport; the same buffer is queued to every subscriber, with one
// Send per subscriber for all the records of a poll. A
// subscriber whose queue is full is disconnected with a last event that
// tells it to resume (`herald.slow_consumer`).
//
// Resume: every event's id is the hub's position after it (position.h).
// Subscribing with a position replays what the client missed, read again
// from Kafka by a reader of its own, then joins the live flow (the live
// messages meanwhile wait in a bounded list): no gap, no duplicate. When
// Kafka no longer has that position (retention, or a token from another
// log), the client gets `herald.history_lost` with the current position and
// continues from there.
//
// Example:
//
//   auto hub = Hub::Start(config, options, &registry);
//   hub->Subscribe(stream, {"public.payments"}, /*resume=*/std::nullopt);
#ifndef HERALD_WORKERS_REALTIME_HUB_H_
#define HERALD_WORKERS_REALTIME_HUB_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "messaging/config.h"
#include "messaging/tail_reader.h"
#include "metrics/registry.h"
#include "web/stream_server.h"

namespace herald {
namespace workers {

struct HubOptions {
  // Live messages a resuming subscriber may have waiting during its replay.
  size_t pending_limit = 1024;
  // How long Start() waits for the brokers' watermarks.
  absl::Duration start_timeout = absl::Seconds(30);
  // A replay that has not reached the live position by then is given up
  // (history_lost).
  absl::Duration replay_timeout = absl::Seconds(20);
  // Replays that read Kafka at once (each with a reader of its own); more
  // wait their turn, so that a reconnect storm after a restart does not
  // start a thread and a Kafka client per client. A waiting client's live
  // messages wait with it (pending_limit).
  int replay_threads = 8;
};

class Hub {
 public:
  static absl::StatusOr<std::unique_ptr<Hub>> Start(const Config& config,
                                                    HubOptions options,
                                                    metrics::Registry* metrics);
  ~Hub();

  // Subscribes `stream` to `channels` (checked by the caller), live from now
  // or from `resume`. Sends the first event (`herald.subscribed`).
  void Subscribe(std::shared_ptr<web::Stream> stream,
                 std::vector<std::string> channels,
                 std::optional<PartitionOffsets> resume);
  // More channels (live) or fewer for a subscribed stream (WebSocket).
  void AddChannels(web::Stream* stream,
                   const std::vector<std::string>& channels);
  void RemoveChannels(web::Stream* stream,
                      const std::vector<std::string>& channels);
  bool Subscribed(web::Stream* stream) const;
  // The stream ended: forget it.
  void Remove(web::Stream* stream);

  // The position after everything fanned out so far (a resume token).
  std::string Position() const;
  // Stops reading and drops every subscriber (releases their streams).
  void Stop();

  class Impl;

 private:
  explicit Hub(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The frames of one event, as the hub writes them (for tests and the page).
std::string SseFrame(absl::string_view id, absl::string_view event,
                     absl::string_view data_json);

}  // namespace workers
}  // namespace herald

#endif  // HERALD_WORKERS_REALTIME_HUB_H_
