#include "workers/realtime/hub.h"

#include <glog/logging.h>
#include <pthread.h>

#include <atomic>
#include <deque>
#include <set>
#include <thread>
#include <unordered_map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/thread_pool.h"
#include "web/http.h"
#include "workers/realtime/channels.h"
#include "workers/realtime/position.h"

namespace herald {
namespace workers {

using web::Stream;
using web::Transport;
using Frame = Stream::Frame;

std::string SseFrame(absl::string_view id, absl::string_view event,
                     absl::string_view data_json) {
  std::string out;
  if (!id.empty()) absl::StrAppend(&out, "id: ", id, "\n");
  absl::StrAppend(&out, "event: ", event, "\ndata: ", data_json, "\n\n");
  return out;
}

namespace {

// A WebSocket frame: {"type":..., "id":..., "channel":..., "event":...,
// "data":...}; empty parts left out.
std::string WsFrame(absl::string_view type, absl::string_view id,
                    absl::string_view channel, absl::string_view event,
                    absl::string_view data_json) {
  std::string out = absl::StrCat("{\"type\":", web::JsonQuote(type));
  if (!id.empty()) absl::StrAppend(&out, ",\"id\":", web::JsonQuote(id));
  if (!channel.empty()) {
    absl::StrAppend(&out, ",\"channel\":", web::JsonQuote(channel));
  }
  if (!event.empty()) {
    absl::StrAppend(&out, ",\"event\":", web::JsonQuote(event));
  }
  if (!data_json.empty()) absl::StrAppend(&out, ",\"data\":", data_json);
  out += "}";
  return out;
}

Frame Share(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

// A control event (subscribed, history_lost, slow_consumer) for `transport`.
Frame Control(Transport transport, absl::string_view name, absl::string_view id,
              absl::string_view data_json) {
  if (transport == Transport::kSse) {
    return Share(SseFrame(id, absl::StrCat("herald.", name), data_json));
  }
  return Share(WsFrame(name, id, "", "", data_json));
}

int64_t At(const PartitionOffsets& p, const std::string& topic, int32_t part) {
  auto it = p.find(topic);
  if (it == p.end() || part >= static_cast<int32_t>(it->second.size())) {
    return -1;
  }
  return it->second[part];
}

}  // namespace

class Hub::Impl {
 public:
  Impl(const Config& config, HubOptions options, metrics::Registry* metrics)
      : config_(config), options_(options), topics_(RealtimeTopics()) {
    fanned_out_ = &metrics->GetCounter(
        "herald_realtime_messages_fanned_out_total",
        "Messages queued to a client (one per client and message)");
    slow_dropped_ = &metrics->GetCounter(
        "herald_realtime_slow_clients_dropped_total",
        "Clients disconnected because they fell behind (they resume)");
    resumed_ = &metrics->GetCounter("herald_realtime_resumes_total",
                                    "Subscriptions that replayed from an id");
    lost_ = &metrics->GetCounter(
        "herald_realtime_history_lost_total",
        "Resumes whose position Kafka no longer had (history_lost sent)");
    lag_ = &metrics->GetHistogram(
        "herald_realtime_delivery_lag_seconds",
        "From the Kafka record's timestamp to its fan-out",
        metrics::LatencyBuckets());
  }

  absl::Status Start() {
    absl::StatusOr<std::unique_ptr<TailReader>> reader =
        TailReader::Create(config_);
    if (!reader.ok()) return reader.status();
    reader_ = *std::move(reader);
    const absl::Time deadline = absl::Now() + options_.start_timeout;
    absl::StatusOr<std::map<std::string, std::vector<Watermark>>> marks;
    do {
      marks = reader_->Watermarks(topics_, absl::Seconds(5));
    } while (!marks.ok() && absl::Now() < deadline);
    if (!marks.ok()) return marks.status();
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [topic, list] : *marks) {
        for (const Watermark& m : list) position_[topic].push_back(m.high);
      }
      absl::Status assigned = reader_->Assign(position_);
      if (!assigned.ok()) return assigned;
    }
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "realtime hub");
      Run();
    });
    return absl::OkStatus();
  }

  void Stop() {
    if (stopping_.exchange(true)) return;
    if (thread_.joinable()) thread_.join();
    replays_.reset();  // queued replays see stopping_ and return at once
    absl::MutexLock lock(&mu_);
    subscribers_.clear();
    index_.clear();
  }

  void Subscribe(std::shared_ptr<Stream> stream,
                 std::vector<std::string> channels,
                 std::optional<PartitionOffsets> resume) {
    if (stopping_.load()) return stream->Close(nullptr);
    Stream* key = stream.get();
    const std::string channel_list = ChannelsJson(channels);
    PartitionOffsets live_position;
    {
      absl::MutexLock lock(&mu_);
      Subscriber& sub = subscribers_[key];
      sub.stream = stream;
      for (std::string& c : channels) {
        index_[c].insert(&sub);
        sub.channels.insert(std::move(c));
      }
      if (!resume.has_value()) {
        // The current position as the first id: a client that leaves before
        // any message resumes from here, missing nothing.
        sub.live = true;
        stream->Send(Control(stream->transport(), "subscribed",
                             EncodePosition(position_),
                             absl::StrCat("{\"channels\":", channel_list,
                                          ",\"resumed\":false}")));
        return;
      }
      sub.live = false;
      sub.skip_below = *resume;
      live_position = position_;
      stream->Send(Control(
          stream->transport(), "subscribed", "",
          absl::StrCat("{\"channels\":", channel_list, ",\"resumed\":true}")));
    }
    resumed_->Increment();
    replays_->Submit([this, stream, resume = *std::move(resume),
                      live_position = std::move(live_position)](int) {
      Replay(stream, resume, live_position);
    });
  }

  void AddChannels(Stream* stream, const std::vector<std::string>& channels) {
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(stream);
    if (it == subscribers_.end()) return;
    for (const std::string& c : channels) {
      index_[c].insert(&it->second);
      it->second.channels.insert(c);
    }
  }

  void RemoveChannels(Stream* stream,
                      const std::vector<std::string>& channels) {
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(stream);
    if (it == subscribers_.end()) return;
    for (const std::string& c : channels) {
      Unindex(c, &it->second);
      it->second.channels.erase(c);
    }
  }

  bool Subscribed(Stream* stream) const {
    absl::MutexLock lock(&mu_);
    return subscribers_.count(stream) > 0;
  }

  void Remove(Stream* stream) {
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(stream);
    if (it == subscribers_.end()) return;
    for (const std::string& c : it->second.channels) {
      Unindex(c, &it->second);
    }
    subscribers_.erase(it);
  }

  std::string Position() const {
    absl::MutexLock lock(&mu_);
    return EncodePosition(position_);
  }

 private:
  struct Subscriber {
    std::shared_ptr<Stream> stream;
    std::set<std::string> channels;
    bool live = true;
    // Live frames held while the subscriber replays.
    std::deque<Frame> pending;
    // Live frames of the batch being fanned out (FanOut).
    std::vector<Frame> outbox;
    // What the client has seen already (its resume position): live records
    // below it are not sent again (an instance behind the client's last one).
    PartitionOffsets skip_below;
  };

  static std::string ChannelsJson(const std::vector<std::string>& channels) {
    std::vector<std::string> quoted;
    for (const auto& c : channels) quoted.push_back(web::JsonQuote(c));
    return absl::StrCat("[", absl::StrJoin(quoted, ","), "]");
  }

  void Unindex(const std::string& channel, Subscriber* sub)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = index_.find(channel);
    if (it == index_.end()) return;
    it->second.erase(sub);
    if (it->second.empty()) index_.erase(it);
  }

  static Frame SlowFrame(Transport transport) {
    return Control(transport, "slow_consumer", "",
                   "{\"reason\":\"the client fell behind\","
                   "\"resume\":\"reconnect with the last event id\"}");
  }

  // Closes a laggard; Remove() comes with its on_close.
  void DropSlow(Subscriber& sub) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (sub.stream->closing()) return;
    slow_dropped_->Increment();
    sub.stream->Close(SlowFrame(sub.stream->transport()));
  }

  void Run() {
    while (!stopping_.load()) {
      FanOut(reader_->Poll(absl::Milliseconds(100)));
    }
  }

  // Fans out a polled batch: each live subscriber's frames of the whole
  // batch are gathered (in order) and queued with one Send, so a stream
  // costs one lock and one wake-up per batch, not per message.
  void FanOut(const std::vector<TailRecord>& records) {
    if (records.empty()) return;
    absl::MutexLock lock(&mu_);
    for (const TailRecord& record : records) FanOut(record);
    int64_t queued = 0;
    for (Subscriber* sub : gathered_) {
      const size_t wanted = sub->outbox.size();
      const size_t taken = sub->stream->Send(sub->outbox);
      queued += static_cast<int64_t>(taken);
      if (taken < wanted) DropSlow(*sub);
      sub->outbox.clear();
    }
    gathered_.clear();
    if (queued > 0) fanned_out_->Increment(static_cast<double>(queued));
  }

  void FanOut(const TailRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<Delivery> deliveries = DeliveriesOf(record);
    std::vector<int64_t>& offsets = position_[record.topic];
    if (static_cast<int32_t>(offsets.size()) <= record.partition) {
      offsets.resize(record.partition + 1, 0);
    }
    offsets[record.partition] = record.offset + 1;
    if (deliveries.empty()) return;
    const std::string id = EncodePosition(position_);
    const double lag = absl::ToDoubleSeconds(absl::Now() - record.timestamp);
    for (const Delivery& d : deliveries) {
      auto it = index_.find(d.channel);
      if (it == index_.end()) continue;
      lag_->Observe(std::max(0.0, lag));
      // One encoding per transport, shared by every subscriber.
      Frame sse, ws;
      for (Subscriber* each : it->second) {
        Subscriber& sub = *each;
        if (!sub.skip_below.empty() &&
            record.offset <
                At(sub.skip_below, record.topic, record.partition)) {
          continue;
        }
        Frame frame;
        if (sub.stream->transport() == Transport::kSse) {
          if (sse == nullptr) sse = Share(SseFrame(id, d.event, d.data_json));
          frame = sse;
        } else {
          if (ws == nullptr) {
            ws = Share(WsFrame("message", id, d.channel, d.event, d.data_json));
          }
          frame = ws;
        }
        if (!sub.live) {
          if (sub.pending.size() >= options_.pending_limit) {
            DropSlow(sub);
          } else {
            sub.pending.push_back(std::move(frame));
          }
          continue;
        }
        if (sub.outbox.empty()) gathered_.push_back(&sub);
        sub.outbox.push_back(std::move(frame));
      }
    }
  }

  // Sends `frame`, waiting while the client's queue is full (a replay is
  // this client's own work: it may wait for it), up to the replay timeout.
  bool SendReplayed(Stream& stream, Frame frame, absl::Time deadline) {
    while (!stream.Send(frame)) {
      if (stream.closing() || absl::Now() > deadline || stopping_.load()) {
        return false;
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
    fanned_out_->Increment();
    return true;
  }

  // Reads [resume, live) again for one subscriber, then makes it live.
  void Replay(std::shared_ptr<Stream> stream, PartitionOffsets resume,
              PartitionOffsets live) {
    if (stopping_.load()) return;  // queued when the hub stopped
    const absl::Time deadline = absl::Now() + options_.replay_timeout;
    std::set<std::string> channels;
    {
      absl::MutexLock lock(&mu_);
      auto it = subscribers_.find(stream.get());
      if (it == subscribers_.end()) return;
      channels = it->second.channels;
    }
    bool lost = false;
    absl::StatusOr<std::unique_ptr<TailReader>> reader =
        TailReader::Create(config_);
    absl::StatusOr<std::map<std::string, std::vector<Watermark>>> marks =
        reader.ok() ? (*reader)->Watermarks(topics_, absl::Seconds(5))
                    : reader.status();
    // Where the client is; partitions it does not name start live.
    PartitionOffsets at = live;
    PartitionOffsets from;
    if (!marks.ok()) {
      LOG(WARNING) << "replay: " << marks.status();
      lost = true;
    } else {
      for (auto& [topic, offsets] : at) {
        for (size_t p = 0; p < offsets.size(); ++p) {
          const int64_t r = At(resume, topic, static_cast<int32_t>(p));
          if (r < 0) continue;
          const std::vector<Watermark>& m = marks->at(topic);
          if (p >= m.size() || r < m[p].low || r > m[p].high) {
            lost = true;  // gone from Kafka, or from another log
            continue;
          }
          offsets[p] = r;
        }
      }
      for (const auto& [topic, offsets] : at) {
        std::vector<int64_t>& f = from[topic];
        for (size_t p = 0; p < offsets.size(); ++p) {
          // Only what lies behind the live position is read again.
          f.push_back(std::min(offsets[p], live[topic][p]));
        }
      }
    }
    if (!lost) {
      auto behind = [&] {
        for (const auto& [topic, offsets] : from) {
          for (size_t p = 0; p < offsets.size(); ++p) {
            if (offsets[p] < live[topic][p]) return true;
          }
        }
        return false;
      };
      if (behind() && !(*reader)->Assign(from).ok()) lost = true;
      while (!lost && behind()) {
        if (absl::Now() > deadline || stream->closing() || stopping_.load()) {
          lost = true;
          break;
        }
        for (const TailRecord& r : (*reader)->Poll(absl::Milliseconds(50))) {
          std::vector<int64_t>& next = from[r.topic];
          if (r.offset < next[r.partition] ||
              r.offset >= live[r.topic][r.partition]) {
            continue;
          }
          next[r.partition] = r.offset + 1;
          at[r.topic][r.partition] =
              std::max(at[r.topic][r.partition], r.offset + 1);
          const std::string id = EncodePosition(at);
          for (const Delivery& d : DeliveriesOf(r)) {
            if (channels.count(d.channel) == 0) continue;
            Frame frame = stream->transport() == Transport::kSse
                              ? Share(SseFrame(id, d.event, d.data_json))
                              : Share(WsFrame("message", id, d.channel, d.event,
                                              d.data_json));
            if (!SendReplayed(*stream, std::move(frame), deadline)) {
              lost = true;
              break;
            }
          }
        }
      }
    }
    absl::MutexLock lock(&mu_);
    auto it = subscribers_.find(stream.get());
    if (it == subscribers_.end()) return;
    Subscriber& sub = it->second;
    if (lost) {
      lost_->Increment();
      // Continues live from the position the replay would have reached.
      stream->Send(Control(
          stream->transport(), "history_lost", EncodePosition(live),
          absl::StrCat("{\"reason\":\"the position is no longer in Kafka\","
                       "\"resume_from\":",
                       web::JsonQuote(EncodePosition(live)), "}")));
      sub.skip_below.clear();
    }
    sub.live = true;
    for (Frame& frame : sub.pending) {
      if (!stream->Send(std::move(frame))) {
        DropSlow(sub);
        break;
      }
      fanned_out_->Increment();
    }
    sub.pending.clear();
  }

  const Config config_;
  const HubOptions options_;
  const std::vector<std::string> topics_;
  std::unique_ptr<TailReader> reader_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  mutable absl::Mutex mu_;
  PartitionOffsets position_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<Stream*, Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
  // Subscribers by channel, as pointers into subscribers_ (whose nodes stay
  // put): the fan-out walks a flat set, with no lookup per subscriber.
  std::unordered_map<std::string, absl::flat_hash_set<Subscriber*>> index_
      ABSL_GUARDED_BY(mu_);
  // The subscribers with frames in their outbox (FanOut's).
  std::vector<Subscriber*> gathered_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ThreadPool> replays_ =
      std::make_unique<ThreadPool>(options_.replay_threads);
  metrics::Counter* fanned_out_;
  metrics::Counter* slow_dropped_;
  metrics::Counter* resumed_;
  metrics::Counter* lost_;
  metrics::Histogram* lag_;
};

absl::StatusOr<std::unique_ptr<Hub>> Hub::Start(const Config& config,
                                                HubOptions options,
                                                metrics::Registry* metrics) {
  auto impl = std::make_unique<Impl>(config, options, metrics);
  absl::Status started = impl->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<Hub>(new Hub(std::move(impl)));
}

Hub::Hub(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Hub::~Hub() { impl_->Stop(); }
void Hub::Subscribe(std::shared_ptr<web::Stream> stream,
                    std::vector<std::string> channels,
                    std::optional<PartitionOffsets> resume) {
  impl_->Subscribe(std::move(stream), std::move(channels), std::move(resume));
}
void Hub::AddChannels(web::Stream* stream,
                      const std::vector<std::string>& channels) {
  impl_->AddChannels(stream, channels);
}
void Hub::RemoveChannels(web::Stream* stream,
                         const std::vector<std::string>& channels) {
  impl_->RemoveChannels(stream, channels);
}
bool Hub::Subscribed(web::Stream* stream) const {
  return impl_->Subscribed(stream);
}
void Hub::Remove(web::Stream* stream) { impl_->Remove(stream); }
std::string Hub::Position() const { return impl_->Position(); }
void Hub::Stop() { impl_->Stop(); }

}  // namespace workers
}  // namespace herald
