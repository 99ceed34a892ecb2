#include "gateway/gateway.h"

#include <glog/logging.h>

#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "base/redact.h"
#include "base/trace_context.h"
#include "database/database.h"
#include "devbroker/dev_broker.h"
#include "gateway/auth/authenticator.h"
#include "gateway/auth/scopes.h"
#include "gateway/http_answers.h"
#include "gateway/offload.h"
#include "gateway/pending_writes.h"
#include "gateway/requests.h"
#include "gateway/schema.h"
#include "gateway/store.h"
#include "messaging/cloudevents.h"
#include "messaging/outbox/outbox_relay.h"
#include "messaging/outbox/outbox_store.h"
#include "messaging/realtime/token.h"
#include "metrics/registry.h"
#include "web/json.h"
#include "web/server.h"
#include "web/tcp_forwarder.h"

namespace herald {
namespace gateway {
namespace {

using auth::Scope;

// The scope each API route requires: the one place it is decided. A route
// registered with Api() must be here.
struct RouteScope {
  const char* method;
  const char* pattern;
  Scope scope;
};
constexpr RouteScope kRouteScopes[] = {
    {"POST", "/api/v1/payments", Scope::kPaymentsWrite},
    {"POST", "/api/v1/payments/{id}/status", Scope::kPaymentsStatus},
    {"GET", "/api/v1/payments/{id}", Scope::kPaymentsRead},
    {"POST", "/api/v1/users", Scope::kUsersWrite},
    {"POST", "/api/v1/notifications/email", Scope::kNotificationsSend},
    {"POST", "/api/v1/realtime/channels/{channel}/messages",
     Scope::kRealtimePublish},
    {"POST", "/api/v1/realtime/tokens", Scope::kRealtimeTokens},
};

Scope ScopeOf(absl::string_view method, absl::string_view pattern) {
  for (const RouteScope& route : kRouteScopes) {
    if (route.method == method && route.pattern == pattern) return route.scope;
  }
  LOG(FATAL) << method << " " << pattern << " has no scope in kRouteScopes";
}

bool IsLoopback(absl::string_view address) {
  return absl::StartsWith(address, "127.") || address == "::1" ||
         address == "localhost";
}

// The request's Idempotency-Key, if it sent one, scoped by the API key that
// sent it (`api_key`, its name; "" when keys are not checked): two clients
// may use the same string.
std::optional<IdempotencyKey> KeyOf(const web::Request& request,
                                    absl::string_view route,
                                    absl::string_view api_key) {
  std::optional<absl::string_view> key = request.Header("Idempotency-Key");
  if (!key.has_value() || key->empty()) return std::nullopt;
  IdempotencyKey out;
  // A name has no ':' (gateway/auth/api_keys.h), so this is unambiguous.
  out.key = absl::StrCat(api_key, ":", *key);
  out.route = std::string(route);
  // The path and the body as sent identify the request. The hash is stored
  // and compared after restarts, so it must be stable: FNV-1a, not
  // std::hash or absl::Hash.
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : request.body) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  out.fingerprint = absl::StrCat(request.path, "\n", absl::Hex(hash));
  return out;
}

// The request's method as a metrics label: a client may send any token as
// its method, and each label value is a series kept forever.
absl::string_view MethodLabel(absl::string_view method) {
  for (absl::string_view known :
       {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

// What every write checks before it is parsed: its Content-Type and its
// Idempotency-Key (an empty one counts as none).
absl::Status CheckWriteRequest(const web::Request& r) {
  absl::Status s = CheckContentType(r.Header("Content-Type"));
  if (!s.ok()) return s;
  std::optional<absl::string_view> key = r.Header("Idempotency-Key");
  if (key.has_value() && !key->empty()) return CheckIdempotencyKey(*key);
  return absl::OkStatus();
}

}  // namespace

class Gateway::Impl {
 public:
  Impl(Config config, GatewaySettings settings, GatewayOptions options)
      : config_(std::move(config)),
        settings_(std::move(settings)),
        options_(std::move(options)) {}

  ~Impl() { Stop(); }

  absl::Status Start() {
    if (config_.brokers.empty()) {
      absl::Status s = StartDevBroker();
      if (!s.ok()) return s;
    }
    absl::StatusOr<std::unique_ptr<db::Database>> db =
        db::Database::Open(settings_.database.url);
    if (!db.ok()) return db.status();
    db_ = *std::move(db);
    absl::Status s = MigrateGatewayDatabase(*db_);
    if (!s.ok()) return s;
    s = StartAuthenticator();
    if (!s.ok()) return s;
    const std::string& secret = settings_.realtime_tokens.secret;
    if (!secret.empty() && secret.size() < realtime::kMinSecretBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("realtime.token_secret needs at least ",
                       realtime::kMinSecretBytes, " bytes"));
    }
    if (secret.empty()) {
      LOG(INFO) << "realtime.token_secret is not set: POST "
                   "/api/v1/realtime/tokens answers 503 not_configured";
    }

    absl::StatusOr<std::unique_ptr<outbox::OutboxRelay>> relay =
        outbox::OutboxRelay::Start(*db_, config_, settings_.relay);
    if (!relay.ok()) return relay.status();
    relay_ = *std::move(relay);
    store_ =
        std::make_unique<Store>(*db_, config_.service, answers_, relay_.get(),
                                settings_.relay.shard_leases);
    RegisterMetrics();
    janitor_ = std::thread([this] { Maintain(); });

    web::ServerOptions server_options;
    server_options.address = settings_.http_address;
    server_options.port = settings_.http_port;
    server_options.threads = settings_.http_threads;
    server_options.max_body_bytes = options_.max_body_bytes;
    server_options.max_connections = settings_.max_connections;
    server_options.on_request = [this](const web::Request& r, int status,
                                       double seconds) {
      RequestMetrics& m = MetricsFor(r, status);
      m.requests->Increment();
      m.latency->Observe(seconds);
    };
    absl::StatusOr<std::unique_ptr<web::HttpServer>> server =
        web::HttpServer::Start(server_options, ApiRoutes());
    if (!server.ok()) return server.status();
    server_ = *std::move(server);
    web::ServerOptions admin_options;
    admin_options.address = settings_.http_address;
    admin_options.port = settings_.admin_port;
    admin_options.threads = 1;
    absl::StatusOr<std::unique_ptr<web::HttpServer>> admin =
        web::HttpServer::Start(admin_options, AdminRoutes());
    if (!admin.ok()) return admin.status();
    admin_ = *std::move(admin);
    LOG(INFO) << "gateway listening on " << settings_.http_address << ":"
              << server_->port() << ", admin on :" << admin_->port()
              << " (database " << RedactUrl(settings_.database.url)
              << ", brokers " << RedactUrl(config_.brokers) << ")";
    return absl::OkStatus();
  }

  // In the order that keeps every callback's target alive: the database's
  // destructor runs the callbacks of the writes still queued, which hand
  // events to the relay and answers to the server, so both objects outlive
  // it (stopped: an event handed over then stays in the outbox table for
  // the next start, an answer goes nowhere).
  void Stop() {
    if (server_ != nullptr) server_->Stop();  // answers what it can
    if (admin_ != nullptr) admin_->Stop();
    authenticator_.reset();
    if (janitor_.joinable()) {
      stopping_.Notify();
      janitor_.join();
    }
    reads_.Stop();
    if (relay_ != nullptr) relay_->Stop();  // still writes to the database
    db_.reset();  // runs what is queued, and its callbacks
  }

  int port() const { return server_->port(); }
  int admin_port() const { return admin_->port(); }
  std::string brokers() const { return config_.brokers; }

 private:
  // Background upkeep until Stop(): forgets old Idempotency-Keys.
  void Maintain() {
    const absl::Duration retention = settings_.idempotency_retention;
    while (
        !stopping_.WaitForNotificationWithTimeout(options_.maintenance_every)) {
      absl::StatusOr<int64_t> pruned =
          store_->PruneIdempotencyKeys(absl::Now() - retention);
      if (!pruned.ok()) {
        LOG(WARNING) << "pruning idempotency keys: " << pruned.status();
      } else if (*pruned > 0) {
        VLOG(1) << "forgot " << *pruned << " idempotency keys";
      }
    }
  }

  absl::Status StartAuthenticator() {
    if (!settings_.auth.enabled) {
      if (!IsLoopback(settings_.http_address)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "auth.enabled=false lets anyone write: it is for local "
            "development only, and http_address must then be a loopback "
            "address (127.0.0.1), not '",
            settings_.http_address, "'"));
      }
      LOG(WARNING) << "auth.enabled=false: API keys are NOT checked; every "
                      "request on "
                   << settings_.http_address << " is let through";
      return absl::OkStatus();
    }
    auth::AuthenticatorOptions options;
    options.rate_limit_per_second = settings_.auth.rate_limit_per_second;
    options.rate_limit_burst = settings_.auth.rate_limit_burst;
    absl::StatusOr<std::unique_ptr<auth::Authenticator>> authenticator =
        auth::Authenticator::Start(*db_, options);
    if (!authenticator.ok()) return authenticator.status();
    authenticator_ = *std::move(authenticator);
    return absl::OkStatus();
  }

  absl::Status StartDevBroker() {
    const int port = options_.dev_broker_port;
    if (web::IsListening("127.0.0.1", port)) {
      LOG(INFO) << "no brokers configured; using the development broker "
                   "already listening on 127.0.0.1:"
                << port;
    } else {
      devbroker::DevBrokerOptions options;
      options.port = port;
      absl::StatusOr<std::unique_ptr<devbroker::DevBroker>> broker =
          devbroker::DevBroker::Start(options);
      if (!broker.ok()) return broker.status();
      dev_broker_ = *std::move(broker);
      LOG(INFO) << "no brokers configured; started the in-memory development "
                   "broker on 127.0.0.1:"
                << port
                << " (set --brokers or HERALD_BROKERS for a real Kafka)";
    }
    config_.brokers = absl::StrCat("127.0.0.1:", port);
    return absl::OkStatus();
  }

  void RegisterMetrics() {
    metrics_.AddCallbackGauge(
        "herald_outbox_pending", "Outbox rows not yet confirmed by Kafka",
        [this] {
          absl::MutexLock lock(&backlog_mu_);
          return backlog_.ok() ? static_cast<double>(backlog_->pending) : -1.0;
        });
    metrics_.AddCallbackGauge(
        "herald_outbox_oldest_pending_age_seconds",
        "Age of the oldest outbox row not yet confirmed", [this] {
          absl::MutexLock lock(&backlog_mu_);
          return backlog_.ok() ? absl::ToDoubleSeconds(backlog_->oldest_age)
                               : -1.0;
        });
    metrics_.AddCallbackGauge(
        "herald_gateway_pending_writes",
        "Writes admitted and waiting for their commit (at most "
        "gateway.max_pending_writes)",
        [this] { return static_cast<double>(pending_writes_.count()); });
    metrics_.AddCallbackCounter(
        "herald_events_published_total", "Events confirmed by Kafka",
        [this] { return static_cast<double>(relay_->Stats().published); });
    metrics_.AddCallbackCounter(
        "herald_publish_failures_total",
        "Event deliveries that failed (and were retried)", [this] {
          return static_cast<double>(relay_->Stats().publish_failures);
        });
  }

  // The outbox backlog, read now (blocks: on reads_' threads only).
  absl::StatusOr<outbox::Backlog> RefreshBacklog() {
    absl::StatusOr<outbox::Backlog> backlog = outbox::ReadBacklog(*db_);
    absl::MutexLock lock(&backlog_mu_);
    backlog_ = backlog;
    return backlog;
  }

  web::Response MetricsText() {
    return web::Response::Text(200, metrics_.Render(),
                               "text/plain; version=0.0.4");
  }

  // GET /readyz (blocks: on reads_' threads only). Ready means: requests
  // can be accepted durably. Kafka being away only grows the backlog.
  web::Response Readiness() {
    const bool db_ok = db_->Ping();
    outbox::RelayStats stats = relay_->Stats();
    absl::StatusOr<outbox::Backlog> backlog = RefreshBacklog();
    json::object o;
    o["database"] = db_ok ? "ok" : "unreachable";
    o["kafka"] = stats.kafka_reachable ? "reachable" : "unreachable";
    o["outbox_pending"] = backlog.ok() ? backlog->pending : -1;
    o["outbox_oldest_pending_age_seconds"] =
        backlog.ok() ? absl::ToDoubleSeconds(backlog->oldest_age) : -1.0;
    return web::Response::Json(db_ok ? 200 : 503, json::serialize(o));
  }

  // The answer to a read the database did not serve within
  // gateway.read_timeout_ms.
  static web::Response ReadTimedOut() {
    web::Response late = web::Response::JsonError(
        503, "unavailable", "the database did not answer in time; retry later");
    late.headers.emplace_back("Retry-After", "1");
    return late;
  }

  struct RequestMetrics {
    metrics::Counter* requests;
    metrics::Histogram* latency;
  };

  // The instruments of one (route, method, status), resolved once: the
  // registry's lookup builds label vectors, too slow for every request.
  RequestMetrics& MetricsFor(const web::Request& r, int status) {
    const absl::string_view route = r.route.empty() ? "unmatched" : r.route;
    const std::string method(MethodLabel(r.method));
    std::string key = absl::StrCat(route, " ", method, " ", status);
    {
      absl::ReaderMutexLock lock(&metrics_mu_);
      auto it = request_metrics_.find(key);
      if (it != request_metrics_.end()) return it->second;
    }
    RequestMetrics m;
    m.requests = &metrics_.GetCounter("herald_http_requests_total",
                                      "HTTP requests answered",
                                      {{"route", std::string(route)},
                                       {"method", method},
                                       {"status", absl::StrCat(status)}});
    m.latency = &metrics_.GetHistogram(
        "herald_http_request_duration_seconds", "HTTP request latency",
        metrics::LatencyBuckets(), {{"route", std::string(route)}});
    absl::MutexLock lock(&metrics_mu_);
    return request_metrics_.try_emplace(key, m).first->second;
  }

  // The callback that answers a write once its transaction is done.
  template <typename Result>
  static Done<Result> AnswerWith(web::Responder respond) {
    return [respond = std::move(respond)](absl::StatusOr<Result> result) {
      respond(ToResponse(std::move(result)));
    };
  }

  // An API route's handler, called once its request passed the API key
  // check; `api_key` is the key's name ("" when keys are not checked).
  using ApiHandler = std::function<void(const web::Request&, web::Responder,
                                        const std::string& api_key)>;

  // Registers an API route behind the check of its scope (kRouteScopes).
  void Api(web::Router& router, const char* method, const char* pattern,
           ApiHandler handler) {
    const Scope scope = ScopeOf(method, pattern);
    router.HandleAsync(
        method, pattern,
        [this, scope, handler = std::move(handler)](const web::Request& r,
                                                    web::Responder respond) {
          // The caller's trace (W3C traceparent), or a new one: the events
          // this request writes carry it, and log lines on this thread
          // show it.
          std::optional<trace::Context> caller =
              trace::Parse(r.Header(trace::kTraceparent).value_or(""),
                           r.Header(trace::kTracestate).value_or(""));
          trace::Scope trace_scope(caller.has_value() ? trace::ChildOf(*caller)
                                                      : trace::NewRoot());
          if (authenticator_ == nullptr)
            return handler(r, std::move(respond), "");
          auth::Verdict verdict =
              authenticator_->Check(r.Header("Authorization"), scope);
          if (verdict.outcome != auth::Outcome::kAllowed) {
            return respond(RefusalResponse(verdict));
          }
          handler(r, std::move(respond), verdict.key_name);
        });
  }

  // A write route, once its key is checked: a JSON body (415 otherwise) and
  // a well-formed Idempotency-Key (400 otherwise), admitted while fewer than
  // max_pending_writes writes wait for their commit (503 otherwise).
  ApiHandler WriteRoute(ApiHandler handler) {
    return [this, handler = std::move(handler)](const web::Request& r,
                                                web::Responder respond,
                                                const std::string& api_key) {
      absl::Status acceptable = CheckWriteRequest(r);
      if (!acceptable.ok()) return respond(ErrorResponse(acceptable));
      std::optional<web::Responder> admitted =
          pending_writes_.Admit(std::move(respond));
      if (admitted.has_value()) handler(r, *std::move(admitted), api_key);
    };
  }

  static web::Response Healthz(const web::Request&) {
    return web::Response::Json(200, R"({"status":"ok"})");
  }

  // The public port: the API, and /healthz (open, for load balancers).
  // The write routes are asynchronous: a request waiting for its group
  // commit holds no server thread, so a few threads serve every connection;
  // reads run off the HTTP threads (reads_).
  web::Router ApiRoutes() {
    web::Router router;
    Api(router, "POST", "/api/v1/payments",
        WriteRoute([this](const web::Request& r, web::Responder respond,
                          const std::string& api_key) {
          auto request = ParseCreatePayment(r.body);
          if (!request.ok()) return respond(ErrorResponse(request.status()));
          store_->CreatePayment(
              *std::move(request), KeyOf(r, "payments", api_key),
              AnswerWith<CreatePaymentResult>(std::move(respond)));
        }));
    Api(router, "POST", "/api/v1/payments/{id}/status",
        WriteRoute([this](const web::Request& r, web::Responder respond,
                          const std::string& api_key) {
          if (!web::IsValidUtf8(r.Param("id"))) {
            return respond(ToResponse(PaymentNotFound{r.Param("id")}));
          }
          auto request = ParseUpdatePaymentStatus(r.body);
          if (!request.ok()) return respond(ErrorResponse(request.status()));
          store_->UpdatePaymentStatus(
              r.Param("id"), *std::move(request),
              KeyOf(r, "payment_status", api_key),
              AnswerWith<UpdatePaymentStatusResult>(std::move(respond)));
        }));
    Api(router, "GET", "/api/v1/payments/{id}",
        [this](const web::Request& r, web::Responder respond,
               const std::string&) {
          std::string id = r.Param("id");
          if (!web::IsValidUtf8(id)) {
            return respond(ToResponse(PaymentNotFound{std::move(id)}));
          }
          reads_.Run(
              [this, id = std::move(id)] {
                return ToResponse(store_->GetPayment(id));
              },
              &ReadTimedOut, std::move(respond));
        });
    Api(router, "POST", "/api/v1/users",
        WriteRoute([this](const web::Request& r, web::Responder respond,
                          const std::string& api_key) {
          auto request = ParseRegisterUser(r.body);
          if (!request.ok()) return respond(ErrorResponse(request.status()));
          store_->RegisterUser(
              *std::move(request), KeyOf(r, "users", api_key),
              AnswerWith<RegisterUserResult>(std::move(respond)));
        }));
    Api(router, "POST", "/api/v1/notifications/email",
        WriteRoute([this](const web::Request& r, web::Responder respond,
                          const std::string& api_key) {
          auto request = ParseSendEmail(r.body);
          if (!request.ok()) return respond(ErrorResponse(request.status()));
          store_->RequestEmail(
              *std::move(request), KeyOf(r, "email", api_key),
              AnswerWith<RequestEmailResult>(std::move(respond)));
        }));
    Api(router, "POST", "/api/v1/realtime/channels/{channel}/messages",
        WriteRoute([this](const web::Request& r, web::Responder respond,
                          const std::string& api_key) {
          auto request =
              ParsePublishRealtimeMessage(r.Param("channel"), r.body);
          if (!request.ok()) return respond(ErrorResponse(request.status()));
          store_->PublishRealtime(
              *std::move(request), KeyOf(r, "realtime_messages", api_key),
              AnswerWith<PublishRealtimeResult>(std::move(respond)));
        }));
    Api(router, "POST", "/api/v1/realtime/tokens",
        [this](const web::Request& r, web::Responder respond,
               const std::string&) { respond(IssueToken(r)); });
    router.Handle("GET", "/healthz", Healthz);
    return router;
  }

  // POST /api/v1/realtime/tokens. Writes nothing, so it is not a WriteRoute:
  // a retry (with or without an Idempotency-Key) gets a fresh token, which
  // is as good as the first.
  web::Response IssueToken(const web::Request& r) {
    absl::Status acceptable = CheckWriteRequest(r);
    if (!acceptable.ok()) return ErrorResponse(acceptable);
    auto request = ParseIssueRealtimeToken(r.body);
    if (!request.ok()) return ErrorResponse(request.status());
    const RealtimeTokenSettings& tokens = settings_.realtime_tokens;
    if (tokens.secret.empty()) {
      return web::Response::JsonError(
          503, "not_configured",
          "realtime tokens are off: set realtime.token_secret "
          "(HERALD_REALTIME_TOKEN_SECRET) to the realtime workers' secret");
    }
    // Whole seconds: the token carries Unix seconds.
    const absl::Time expires_at =
        absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now() + tokens.ttl));
    json::object o;
    o["token"] =
        realtime::SignToken(tokens.secret, request->user_id, expires_at);
    o["channel"] = absl::StrCat("user.", request->user_id);
    o["expires_at"] = FormatEventTime(expires_at);
    return web::Response::Json(200, json::serialize(o));
  }

  // The admin port (admin_port): liveness, readiness and metrics, off the
  // API's port; readiness and metrics read off the HTTP threads.
  web::Router AdminRoutes() {
    web::Router router;
    router.Handle("GET", "/healthz", Healthz);
    router.HandleAsync("GET", "/readyz",
                       [this](const web::Request&, web::Responder respond) {
                         reads_.Run([this] { return Readiness(); },
                                    &ReadTimedOut, std::move(respond));
                       });
    router.HandleAsync(
        "GET", "/metrics", [this](const web::Request&, web::Responder respond) {
          // Reads the outbox backlog first; late, the last one read.
          reads_.Run(
              [this] {
                // A failed read is kept as the backlog's state: the pending
                // gauges then say unknown (-1).
                RefreshBacklog().IgnoreError();
                return MetricsText();
              },
              [this] { return MetricsText(); }, std::move(respond));
        });
    return router;
  }

  Config config_;
  const GatewaySettings settings_;
  const GatewayOptions options_;
  std::unique_ptr<devbroker::DevBroker> dev_broker_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<outbox::OutboxRelay> relay_;
  HttpAnswers answers_;
  PendingWrites pending_writes_{settings_.max_pending_writes};
  // Reads that block on the database, off the HTTP threads.
  Offload reads_{4, settings_.read_timeout};
  absl::Mutex backlog_mu_;
  absl::StatusOr<outbox::Backlog> backlog_ ABSL_GUARDED_BY(backlog_mu_) =
      absl::UnavailableError("not read yet");
  std::unique_ptr<Store> store_;
  std::thread janitor_;
  absl::Notification stopping_;
  metrics::Registry metrics_;
  absl::Mutex metrics_mu_;
  absl::flat_hash_map<std::string, RequestMetrics> request_metrics_
      ABSL_GUARDED_BY(metrics_mu_);
  std::unique_ptr<auth::Authenticator> authenticator_;  // null: not checked
  std::unique_ptr<web::HttpServer> server_;
  std::unique_ptr<web::HttpServer> admin_;
};

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(
    const Config& config, const GatewaySettings& settings,
    const GatewayOptions& options) {
  auto impl = std::make_unique<Impl>(config, settings, options);
  absl::Status s = impl->Start();
  if (!s.ok()) return s;
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() = default;
int Gateway::port() const { return impl_->port(); }
int Gateway::admin_port() const { return impl_->admin_port(); }
std::string Gateway::brokers() const { return impl_->brokers(); }
void Gateway::Stop() { impl_->Stop(); }

}  // namespace gateway
}  // namespace herald
