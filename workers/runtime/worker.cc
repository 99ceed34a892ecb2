#include "workers/runtime/worker.h"

#include <glog/logging.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "base/log_format.h"
#include "base/process.h"
#include "base/redact.h"
#include "base/usage.h"
#include "database/flags.h"
#include "database/migrations.h"
#include "messaging/flags.h"
#include "messaging/inbox/inbox.h"
#include "web/json.h"
#include "web/server.h"

ABSL_FLAG(std::optional<int>, admin_port, std::nullopt,
          "port of /healthz and /metrics (default: the worker's own; "
          "HERALD_ADMIN_PORT)");

namespace herald {
namespace workers {

class Worker::Impl {
 public:
  Impl(Config config, WorkerSettings settings, WorkerSpec spec)
      : config_(std::move(config)),
        settings_(std::move(settings)),
        spec_(std::move(spec)) {}

  ~Impl() { Stop().IgnoreError(); }

  absl::Status Start() {
    {
      // Out of its group until the consumer joins: a worker that never
      // reaches its brokers turns unhealthy once the limit has passed.
      absl::MutexLock lock(&membership_mu_);
      out_of_group_since_ = absl::Now();
    }
    absl::StatusOr<std::unique_ptr<db::Database>> db =
        db::Database::Open(settings_.database.url);
    if (!db.ok()) return db.status();
    db_ = *std::move(db);
    absl::Status s = db::Migrate(*db_, "inbox", inbox::InboxMigrations());
    if (!s.ok()) return s;
    absl::StatusOr<std::unique_ptr<Consumer>> consumer =
        Consumer::Create(config_);
    if (!consumer.ok()) return consumer.status();
    consumer_ = *std::move(consumer);
    consumer_->Instrument(&metrics_);
    WorkerContext context{config_, settings_, *db_, *consumer_, metrics_};
    s = spec_.setup(context);
    if (!s.ok()) return s;

    web::Router router;
    router.Handle("GET", "/healthz",
                  [this](const web::Request&) { return HealthAnswer(); });
    router.Handle("GET", "/metrics", [this](const web::Request&) {
      consumer_->UpdateLagMetrics();
      return web::Response::Text(200, metrics_.Render(),
                                 "text/plain; version=0.0.4");
    });
    web::ServerOptions options;
    options.address = "0.0.0.0";
    options.port = settings_.admin_port;
    options.threads = 1;
    absl::StatusOr<std::unique_ptr<web::HttpServer>> admin =
        web::HttpServer::Start(options, std::move(router));
    if (!admin.ok()) return admin.status();
    admin_ = *std::move(admin);

    thread_ = std::thread([this] { result_ = consumer_->Run(); });
    janitor_ = std::thread([this] { Maintain(); });
    membership_watch_ = std::thread([this] { WatchMembership(); });
    LOG(INFO) << spec_.name << " started: group " << config_.consumer.group_id
              << ", brokers " << RedactUrl(config_.brokers) << ", database "
              << RedactUrl(settings_.database.url)
              << ", admin on :" << admin_->port();
    return absl::OkStatus();
  }

  absl::Status Stop() {
    if (!stopping_.HasBeenNotified()) stopping_.Notify();
    if (janitor_.joinable()) janitor_.join();
    if (membership_watch_.joinable()) membership_watch_.join();
    if (thread_.joinable()) {
      consumer_->Stop();
      thread_.join();
    }
    if (admin_ != nullptr) admin_->Stop();
    return result_;
  }

  int admin_port() const { return admin_->port(); }
  Consumer& consumer() { return *consumer_; }

 private:
  // GET /healthz (see worker.h): 503 once the consumer has been out of its
  // group for longer than spec_.out_of_group_limit; otherwise 200, "ok" or,
  // while a dependency is away, "waiting".
  web::Response HealthAnswer() {
    const ConsumerHealth health = consumer_->Health();
    const absl::Duration out_of_group = OutOfGroupFor(health.in_group);
    json::object body;
    if (out_of_group > spec_.out_of_group_limit) {
      body["status"] = "unhealthy";
      body["worker"] = spec_.name;
      body["reason"] = absl::StrCat(
          "not a member of consumer group '", config_.consumer.group_id,
          "' for ", Rounded(out_of_group), " (limit ",
          Rounded(spec_.out_of_group_limit), "): its brokers (",
          RedactUrl(config_.brokers),
          ") cannot be reached, or the group cannot be joined");
      body["out_of_group_seconds"] = absl::ToInt64Seconds(out_of_group);
      body["handled"] = consumer_->Stats().handled;
      body["in_flight"] = health.in_flight;
      return web::Response::Json(503, json::serialize(body));
    }
    // Waiting for a dependency is not a reason to restart the worker:
    // still 200, with what it waits for.
    body["status"] = health.waiting_on_dependency ? "waiting" : "ok";
    body["worker"] = spec_.name;
    body["handled"] = consumer_->Stats().handled;
    body["in_flight"] = health.in_flight;
    if (health.waiting_on_dependency) {
      body["waiting_on"] = health.dependency_error;
      body["waiting_seconds"] =
          absl::ToInt64Seconds(absl::Now() - health.waiting_since);
    }
    return web::Response::Json(200, json::serialize(body));
  }

  // "31.2s", "500ms": a duration to a tenth of a second, for people.
  static std::string Rounded(absl::Duration d) {
    return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(100)));
  }

  // Notes whether the consumer is in its group now; returns for how long it
  // has been out of it (zero while it is in).
  absl::Duration OutOfGroupFor(bool in_group) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&membership_mu_);
    if (in_group) {
      out_of_group_since_.reset();
      return absl::ZeroDuration();
    }
    if (!out_of_group_since_.has_value()) out_of_group_since_ = now;
    return now - *out_of_group_since_;
  }

  // Samples the group membership until Stop(), so that /healthz knows how
  // long the consumer has been out of its group however rarely it is asked.
  void WatchMembership() {
    const absl::Duration every =
        std::clamp(spec_.out_of_group_limit / 10, absl::Milliseconds(10),
                   absl::Seconds(1));
    do {
      OutOfGroupFor(consumer_->Health().in_group);
    } while (!stopping_.WaitForNotificationWithTimeout(every));
  }

  // Background upkeep until Stop(): forgets old inbox claims.
  void Maintain() {
    const absl::Duration retention = settings_.inbox_retention;
    while (!stopping_.WaitForNotificationWithTimeout(spec_.maintenance_every)) {
      absl::StatusOr<int64_t> pruned =
          inbox::Prune(*db_, absl::Now() - retention);
      if (!pruned.ok()) {
        LOG(WARNING) << spec_.name
                     << ": pruning the inbox: " << pruned.status();
      } else if (*pruned > 0) {
        VLOG(1) << spec_.name << ": forgot " << *pruned << " inbox claims";
      }
    }
  }

  Config config_;
  WorkerSettings settings_;
  WorkerSpec spec_;
  std::unique_ptr<db::Database> db_;
  metrics::Registry metrics_;
  std::unique_ptr<Consumer> consumer_;
  std::unique_ptr<web::HttpServer> admin_;
  std::thread thread_;
  std::thread janitor_;
  std::thread membership_watch_;
  absl::Notification stopping_;
  absl::Mutex membership_mu_;
  // Since when the consumer has been out of its group; empty while it is in.
  std::optional<absl::Time> out_of_group_since_ ABSL_GUARDED_BY(membership_mu_);
  absl::Status result_;
};

absl::StatusOr<std::unique_ptr<Worker>> Worker::Start(
    const Config& config, const WorkerSettings& settings,
    const WorkerSpec& spec) {
  auto impl = std::make_unique<Impl>(config, settings, spec);
  absl::Status s = impl->Start();
  if (!s.ok()) return s;
  return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() = default;
absl::Status Worker::Stop() { return impl_->Stop(); }
int Worker::admin_port() const { return impl_->admin_port(); }
Consumer& Worker::consumer() { return impl_->consumer(); }

int WorkerMain(int argc, char** argv, const WorkerSpec& spec,
               const std::function<std::vector<FlagOverride>()>& extra) {
  Config config;
  WorkerSettings settings;
  if (spec.admin_port.has_value()) settings.admin_port = *spec.admin_port;
  LogSettings log;
  std::vector<settings::Key> keys = MessagingKeys(config);
  for (auto& key : LogKeys(log)) keys.push_back(key);
  for (auto& key : WorkerKeys(settings)) keys.push_back(key);
  if (spec.keys) {
    for (auto& key : spec.keys()) keys.push_back(key);
  }
  std::vector<std::pair<std::string, std::string>> defaults = {
      {"service", spec.name},
      {"client_id", spec.name},
      {"consumer.group_id", spec.group},
      // Its own file by default: no lock shared with the gateway's
      // database.
      {"db", absl::StrCat("sqlite:", spec.name, ".db")}};

  Usage usage;
  usage.synopsis = absl::StrCat(
      argc > 0 ? absl::string_view(argv[0]).substr(
                     absl::string_view(argv[0]).find_last_of('/') + 1)
               : absl::string_view(spec.name),
      " [--brokers=LIST] [--db=URL] [--admin_port=N] [--config=FILE]");
  usage.description = spec.description;
  usage.keys = keys;
  usage.defaults = defaults;
  InitProcess(argc, argv, usage);

  std::vector<FlagOverride> own;
  if (extra) own = extra();
  if (auto port = absl::GetFlag(FLAGS_admin_port)) {
    own.push_back({"admin_port", absl::StrCat(*port)});
  }
  absl::Status loaded = settings::Load(
      keys,
      SourcesFromFlags(defaults, {MessagingFlags(), db::DatabaseFlags(), own}));
  if (!loaded.ok()) {
    LOG(ERROR) << "bad configuration: " << loaded.message();
    return 2;
  }
  ApplyLogFormat(log.format);
  if (config.brokers.empty()) {
    config.brokers = "127.0.0.1:9092";
    LOG(INFO) << "no brokers configured: using the development broker at "
                 "127.0.0.1:9092 (started by `bazel run //gateway` or "
                 "`bazel run //tools:dev_broker`)";
  }
  auto worker = Worker::Start(config, settings, spec);
  if (!worker.ok()) {
    LOG(ERROR) << spec.name << " cannot start: " << worker.status();
    return 1;
  }
  int signal = WaitForStopSignal();
  LOG(INFO) << spec.name << " stopping (signal " << signal
            << "): finishing the running handler and committing";
  // A stop that hangs (e.g. a wedged handler) must not keep the process.
  std::thread watchdog([timeout = settings.shutdown_timeout] {
    absl::SleepFor(timeout);
    LOG(ERROR) << "shutdown did not finish within " << timeout
               << "; exiting (uncommitted records will be redelivered)";
    _exit(1);
  });
  watchdog.detach();
  absl::Status stopped = (*worker)->Stop();
  if (!stopped.ok()) {
    LOG(WARNING) << "stopped with: " << stopped;
  }
  return 0;
}

}  // namespace workers
}  // namespace herald
