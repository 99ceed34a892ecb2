#include "workers/realtime/realtime_worker.h"

#include <glog/logging.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/flags.h"
#include "base/log_format.h"
#include "base/process.h"
#include "base/usage.h"
#include "messaging/flags.h"
#include "messaging/realtime/channel.h"
#include "messaging/realtime/token.h"
#include "metrics/registry.h"
#include "web/json.h"
#include "web/stream_server.h"
#include "workers/realtime/channels.h"
#include "workers/realtime/page.h"
#include "workers/realtime/position.h"

ABSL_FLAG(std::optional<int>, http_port, std::nullopt,
          "realtime worker port (default 8090; HERALD_REALTIME_HTTP_PORT)");

namespace herald {
namespace workers {

using web::Request;
using web::Response;
using web::Stream;
using web::StreamAnswer;

namespace {

constexpr size_t kMaxChannels = 32;

// A refusal, or the channels a request may read and where it resumes.
struct Admission {
  std::optional<Response> refusal;
  std::vector<std::string> channels;
  std::optional<PartitionOffsets> resume;
};

std::optional<Response> Refusal(absl::Status status) {
  if (status.ok()) return std::nullopt;
  if (absl::IsUnauthenticated(status)) {
    return Response::JsonError(401, "unauthenticated", status.message());
  }
  if (absl::IsPermissionDenied(status) || absl::IsFailedPrecondition(status)) {
    return Response::JsonError(403, "forbidden", status.message());
  }
  return Response::JsonError(400, "bad_request", status.message());
}

}  // namespace

class RealtimeWorker::Impl {
 public:
  Impl(const Config& config, const RealtimeSettings& settings)
      : config_(config), settings_(settings) {}

  absl::Status Start(HubOptions hub_options) {
    absl::StatusOr<std::unique_ptr<Hub>> hub =
        Hub::Start(config_, hub_options, &metrics_);
    if (!hub.ok()) return hub.status();
    hub_ = *std::move(hub);

    web::Router router;
    router.Handle("GET", "/", [](const Request&) {
      return Response::Text(200, std::string(LivePage()),
                            "text/html; charset=utf-8");
    });
    router.Handle("GET", "/healthz", [this](const Request&) {
      return Response::Json(
          200, json::serialize(json::object{
                   {"status", "ok"},
                   {"position", hub_->Position()},
                   {"connections",
                    json::object{
                        {"sse", Open(web::Transport::kSse)},
                        {"websocket", Open(web::Transport::kWebSocket)}}}}));
    });
    router.Handle("GET", "/metrics", [this](const Request&) {
      for (auto t : {web::Transport::kSse, web::Transport::kWebSocket}) {
        metrics_
            .GetGauge("herald_realtime_connections", "Open connections",
                      {{"transport", web::TransportName(t)}})
            .Set(static_cast<double>(Open(t)));
      }
      metrics_
          .GetGauge("herald_realtime_refused_connections",
                    "Connections refused at realtime.max_connections")
          .Set(server_ ? static_cast<double>(server_->refused_at_cap()) : 0);
      return Response::Text(200, metrics_.Render(),
                            "text/plain; version=0.0.4");
    });

    web::StreamRoutes streams;
    streams.Sse("/api/v1/realtime/sse", [this](const Request& request) {
      Admission admission = Admit(request, /*require_channels=*/true);
      if (admission.refusal) return StreamAnswer::Refuse(*admission.refusal);
      web::StreamCallbacks callbacks;
      callbacks.on_open = [this, admission](std::shared_ptr<Stream> stream) {
        static const auto* retry = new std::string("retry: 1000\n\n");
        stream->Send(
            Stream::Frame(std::shared_ptr<const std::string>(), retry));
        hub_->Subscribe(std::move(stream), admission.channels,
                        admission.resume);
      };
      callbacks.on_close = [this](Stream& stream) { hub_->Remove(&stream); };
      return StreamAnswer::Accept(std::move(callbacks));
    });
    streams.WebSocket("/api/v1/realtime/ws", [this](const Request& request) {
      Admission admission = Admit(request, /*require_channels=*/false);
      if (admission.refusal) return StreamAnswer::Refuse(*admission.refusal);
      web::StreamCallbacks callbacks;
      callbacks.on_open = [this, admission](std::shared_ptr<Stream> stream) {
        if (!admission.channels.empty()) {
          hub_->Subscribe(std::move(stream), admission.channels,
                          admission.resume);
        }
      };
      callbacks.on_text = [this](Stream& stream, std::string text) {
        OnFrame(stream, text);
      };
      callbacks.on_close = [this](Stream& stream) { hub_->Remove(&stream); };
      return StreamAnswer::Accept(std::move(callbacks));
    });

    web::StreamServerOptions options;
    options.port = settings_.http_port;
    options.threads = settings_.http_threads;
    options.max_streams = settings_.max_connections;
    options.max_queued_frames = static_cast<size_t>(settings_.client_buffer);
    options.ping_interval = settings_.ping_interval;
    options.idle_timeout = settings_.idle_timeout;
    // Its frames are compact JSON: a client that falls behind gets what it
    // missed in one message, one frame per line.
    options.websocket_batches = true;
    options.write_delay = settings_.write_delay;
    absl::StatusOr<std::unique_ptr<web::StreamServer>> server =
        web::StreamServer::Start(options, std::move(router),
                                 std::move(streams));
    if (!server.ok()) return server.status();
    server_ = *std::move(server);
    return absl::OkStatus();
  }

  void Stop() {
    if (server_) server_->Stop();
    if (hub_) hub_->Stop();
  }

  ~Impl() {
    Stop();
    hub_.reset();  // releases every stream before the server goes
    server_.reset();
  }

  int port() const { return server_->port(); }

 private:
  int64_t Open(web::Transport t) const {
    return server_ ? server_->open_streams(t) : 0;
  }

  // Whether `token` lets its bearer read every channel of `channels`.
  absl::Status Authorize(const std::vector<std::string>& channels,
                         absl::string_view token) const {
    if (channels.size() > kMaxChannels) {
      return absl::InvalidArgumentError(
          absl::StrCat("at most ", kMaxChannels, " channels"));
    }
    std::optional<realtime::TokenClaims> claims;
    for (const std::string& channel : channels) {
      absl::Status valid = realtime::CheckChannel(channel);
      if (!valid.ok()) return valid;
      absl::string_view user = realtime::UserOfChannel(channel);
      if (user.empty()) continue;
      if (!claims.has_value()) {
        if (token.empty()) {
          return absl::UnauthenticatedError(
              absl::StrCat("channel ", channel, " needs a token"));
        }
        absl::StatusOr<realtime::TokenClaims> verified =
            realtime::VerifyToken(settings_.token_secret, token, absl::Now());
        if (!verified.ok()) return verified.status();
        claims = *std::move(verified);
      }
      if (claims->user_id != user) {
        return absl::PermissionDeniedError(
            absl::StrCat("the token is not for channel ", channel));
      }
    }
    return absl::OkStatus();
  }

  Admission Admit(const Request& request, bool require_channels) const {
    Admission out;
    std::string channels =
        web::QueryParam(request.query, "channels").value_or("");
    for (absl::string_view c :
         absl::StrSplit(channels, ',', absl::SkipEmpty())) {
      out.channels.emplace_back(c);
    }
    if (require_channels && out.channels.empty()) {
      out.refusal = Response::JsonError(400, "bad_request",
                                        "give ?channels=a,b", "channels");
      return out;
    }
    std::string token = web::QueryParam(request.query, "token").value_or("");
    if (auto auth = request.Header("Authorization");
        token.empty() && auth && absl::StartsWith(*auth, "Bearer ")) {
      token = std::string(auth->substr(7));
    }
    out.refusal = Refusal(Authorize(out.channels, token));
    if (out.refusal) return out;
    std::optional<std::string> last =
        web::QueryParam(request.query, "last_event_id");
    if (!last) {
      if (auto header = request.Header("Last-Event-ID")) {
        last = std::string(*header);
      }
    }
    if (last && !last->empty()) {
      absl::StatusOr<PartitionOffsets> resume = DecodePosition(*last);
      if (!resume.ok()) {
        out.refusal = Response::JsonError(
            400, "bad_request", resume.status().message(), "last_event_id");
        return out;
      }
      out.resume = *std::move(resume);
    }
    return out;
  }

  static std::shared_ptr<const std::string> WsError(absl::string_view code,
                                                    absl::string_view message) {
    return std::make_shared<const std::string>(
        json::serialize(json::object{{"type", "error"},
                                     {"code", std::string(code)},
                                     {"message", std::string(message)}}));
  }

  // A WebSocket frame from the client: subscribe or unsubscribe.
  void OnFrame(Stream& stream, const std::string& text) {
    json::error_code ec;
    json::value frame = json::parse(text, ec);
    if (ec || !frame.is_object() || !frame.as_object().contains("type") ||
        !frame.as_object().at("type").is_string()) {
      stream.Send(
          WsError("bad_request", "frames are JSON objects with a type"));
      return;
    }
    const json::object& object = frame.as_object();
    const std::string type(object.at("type").as_string());
    std::vector<std::string> channels;
    if (const json::value* list = object.if_contains("channels");
        list != nullptr && list->is_array()) {
      for (const json::value& c : list->as_array()) {
        if (c.is_string()) channels.emplace_back(c.as_string());
      }
    }
    auto text_of = [&](const char* key) {
      const json::value* v = object.if_contains(key);
      return v != nullptr && v->is_string() ? std::string(v->as_string())
                                            : std::string();
    };
    if (type == "unsubscribe") {
      hub_->RemoveChannels(&stream, channels);
      return;
    }
    if (type != "subscribe" || channels.empty()) {
      stream.Send(WsError("bad_request",
                          "send {\"type\":\"subscribe\",\"channels\":[...]} "
                          "or unsubscribe"));
      return;
    }
    absl::Status allowed = Authorize(channels, text_of("token"));
    if (!allowed.ok()) {
      std::optional<Response> refusal = Refusal(allowed);
      stream.Send(WsError(refusal->status == 401   ? "unauthenticated"
                          : refusal->status == 403 ? "forbidden"
                                                   : "bad_request",
                          allowed.message()));
      return;
    }
    if (hub_->Subscribed(&stream)) {
      hub_->AddChannels(&stream, channels);
      return;
    }
    std::optional<PartitionOffsets> resume;
    if (std::string last = text_of("last_event_id"); !last.empty()) {
      absl::StatusOr<PartitionOffsets> decoded = DecodePosition(last);
      if (!decoded.ok()) {
        stream.Send(WsError("bad_request", decoded.status().message()));
        return;
      }
      resume = *std::move(decoded);
    }
    // The hub keeps the stream: find the shared owner through the server.
    hub_->Subscribe(Owner(stream), std::move(channels), std::move(resume));
  }

  // A shared_ptr to `stream` (web::Stream objects are shared-owned).
  static std::shared_ptr<Stream> Owner(Stream& stream) {
    return stream.shared();
  }

  const Config config_;
  const RealtimeSettings settings_;
  metrics::Registry metrics_;
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<web::StreamServer> server_;
};

absl::StatusOr<std::unique_ptr<RealtimeWorker>> RealtimeWorker::Start(
    const Config& config, const RealtimeSettings& settings,
    HubOptions hub_options) {
  auto impl = std::make_unique<Impl>(config, settings);
  absl::Status started = impl->Start(hub_options);
  if (!started.ok()) return started;
  return std::unique_ptr<RealtimeWorker>(new RealtimeWorker(std::move(impl)));
}

RealtimeWorker::RealtimeWorker(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
RealtimeWorker::~RealtimeWorker() = default;
int RealtimeWorker::port() const { return impl_->port(); }
void RealtimeWorker::Stop() { impl_->Stop(); }

int RealtimeMain(int argc, char** argv) {
  Config config;
  RealtimeSettings settings;
  LogSettings log;
  std::vector<settings::Key> keys = MessagingKeys(config);
  for (auto& key : LogKeys(log)) keys.push_back(key);
  for (auto& key : RealtimeKeys(settings)) keys.push_back(key);
  // consumer.fetch_wait_max_ms 10 instead of 100: an empty fetch is held
  // that long, and the development broker (librdkafka's mock cluster) holds
  // it even when a record arrives meanwhile, so browsers would see messages
  // up to 100 ms late (p99 ~105 ms in tools/bench/realtime_bench, ~13 ms
  // at 10). Idle fetches every 10 ms cost a real broker little.
  std::vector<std::pair<std::string, std::string>> defaults = {
      {"service", "realtime-worker"},
      {"client_id", "realtime-worker"},
      {"consumer.fetch_wait_max_ms", "10"}};
  Usage usage;
  usage.synopsis = "realtime [--http_port=N] [--brokers=LIST] [--config=FILE]";
  usage.description =
      "The realtime worker: fans realtime.messages out to browsers over SSE\n"
      "and WebSocket (public.* channels, and user.* with a gateway token);\n"
      "a live page on its port.\n";
  usage.keys = keys;
  usage.defaults = defaults;
  InitProcess(argc, argv, usage);
  std::vector<FlagOverride> own;
  if (auto port = absl::GetFlag(FLAGS_http_port)) {
    own.push_back({"realtime.http_port", absl::StrCat(*port)});
  }
  absl::Status loaded =
      settings::Load(keys, SourcesFromFlags(defaults, {MessagingFlags(), own}));
  if (!loaded.ok()) {
    LOG(ERROR) << "bad configuration: " << loaded.message();
    return 2;
  }
  ApplyLogFormat(log.format);
  if (config.brokers.empty()) {
    config.brokers = "127.0.0.1:9092";
    LOG(INFO) << "no brokers configured: using the development broker at "
                 "127.0.0.1:9092";
  }
  if (settings.token_secret.empty()) {
    LOG(INFO) << "realtime.token_secret is not set: user.* channels are "
                 "closed, public.* channels are open";
  }
  auto worker = RealtimeWorker::Start(config, settings);
  if (!worker.ok()) {
    LOG(ERROR) << "realtime worker cannot start: " << worker.status();
    return 1;
  }
  LOG(INFO) << "realtime worker: the live page is http://localhost:"
            << (*worker)->port() << "/";
  const int signal = WaitForStopSignal();
  LOG(INFO) << "realtime worker stopping (signal " << signal << ")";
  (*worker)->Stop();
  return 0;
}

}  // namespace workers
}  // namespace herald
