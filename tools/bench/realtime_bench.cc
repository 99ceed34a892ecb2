// realtime_bench: `bazel run -c opt //tools/bench:realtime_bench`.
//
// 5,000 SSE clients and 1,000 WebSocket clients on one channel, fed 200
// messages a second, on two servers in turn, in the same run:
//   - herald: the realtime worker (workers/realtime), the messages produced
//     to Kafka (the mock cluster) as RealtimeMessage;
//   - baseline: a minimal Beast broadcaster fed from memory
//     (web/testing/minimal_broadcaster.h), no channels, no resume.
// Both serve with 2 threads. Each message carries its send time; clients
// (raw sockets on epoll, 2 threads, in this process) take the latency at
// receipt. Prints, per server, the medians over rounds (and min-max):
// delivered messages/s, end-to-end latency p50/p99, and memory per idle
// connection (the process's RSS growth from no clients to all connected and
// idle, less the clients' own buffers, divided by the connections).
// Flags: --rounds --sse --ws --rate --seconds.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/usage.h"
#include "contracts/v1/realtime.pb.h"
#include "messaging/mock_cluster.h"
#include "messaging/producer.h"
#include "web/client.h"
#include "web/testing/minimal_broadcaster.h"
#include "workers/realtime/channels.h"
#include "workers/realtime/realtime_worker.h"

ABSL_FLAG(int, rounds, 3, "rounds per server (medians are reported)");
ABSL_FLAG(int, sse, 5000, "SSE clients");
ABSL_FLAG(int, ws, 1000, "WebSocket clients");
ABSL_FLAG(int, rate, 200, "messages a second");
ABSL_FLAG(int, seconds, 5, "measured seconds per round (after 1 s warm-up)");
ABSL_FLAG(int, write_delay_ms, 20,
          "the worker's realtime.write_delay_ms (20: its default)");
ABSL_FLAG(bool, herald_only, false,
          "run the herald worker only (to profile it); no ratio");
ABSL_FLAG(int, fetch_wait_ms, 10,
          "the worker's consumer.fetch_wait_max_ms (10: the realtime worker's "
          "default; the mock cluster holds an empty fetch this long even when "
          "a record arrives meanwhile)");

namespace herald {
namespace {

constexpr int kClientThreads = 2;
constexpr char kChannel[] = "public.bench";
constexpr char kStamp[] = "\"bench_t\":";
constexpr int64_t kBinNanos = 100000;  // latency histogram: 0.1 ms bins
constexpr int kBins = 100000;          // up to 10 s

int64_t NowNanos() { return absl::GetCurrentTimeNanos(); }

// Messages sent from this time on (their stamp) are the measured ones.
std::atomic<int64_t> measure_from{std::numeric_limits<int64_t>::max()};

size_t ResidentBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f != nullptr) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  return static_cast<size_t>(resident) * sysconf(_SC_PAGESIZE);
}

// CPU (user + system) of this process's threads by role, in seconds, from
// /proc/self/task: the clients share the machine with the server they
// measure, so each round says where the cores went. Loopback TCP charges the
// receiver's kernel work to the sender's thread.
struct CpuSplit {
  double clients = 0;  // "bench client"
  double server = 0;   // "stream loop" (herald), "broadcaster" (baseline)
  double hub = 0;      // "realtime hub": Kafka records to streams
  double kafka = 0;    // "rdk:*": mock cluster, producer, consumer
  double other = 0;    // the publishing main thread, ...
  // Time the threads were ready to run but waited for a core (schedstat's
  // run_delay, all threads): high when the machine's other work crowds the
  // bench out, near zero when a slow round was waiting on something else.
  double waited = 0;
  CpuSplit Minus(const CpuSplit& o) const {
    return {clients - o.clients, server - o.server, hub - o.hub,
            kafka - o.kafka,     other - o.other,   waited - o.waited};
  }
};

CpuSplit ThreadCpu() {
  CpuSplit split;
  const double tick = 1.0 / sysconf(_SC_CLK_TCK);
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return split;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    FILE* f = fopen(
        absl::StrCat("/proc/self/task/", entry->d_name, "/stat").c_str(), "r");
    if (f == nullptr) continue;  // the thread ended
    char line[1024];
    const size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = 0;
    const absl::string_view stat(line, n);
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == absl::string_view::npos || close == absl::string_view::npos) {
      continue;
    }
    const absl::string_view name = stat.substr(open + 1, close - open - 1);
    std::vector<absl::string_view> fields =
        absl::StrSplit(stat.substr(close + 2), ' ');
    if (fields.size() < 13) continue;
    int64_t user = 0, system = 0;
    if (!absl::SimpleAtoi(fields[11], &user) ||
        !absl::SimpleAtoi(fields[12], &system)) {
      continue;
    }
    const double seconds = (user + system) * tick;
    if (FILE* sched =
            fopen(absl::StrCat("/proc/self/task/", entry->d_name, "/schedstat")
                      .c_str(),
                  "r")) {
      unsigned long long on_cpu = 0, run_delay = 0;
      if (fscanf(sched, "%llu %llu", &on_cpu, &run_delay) == 2) {
        split.waited += run_delay / 1e9;
      }
      fclose(sched);
    }
    if (name == "bench client") {
      split.clients += seconds;
    } else if (name == "stream loop" || name == "broadcaster") {
      split.server += seconds;
    } else if (name == "realtime hub") {
      split.hub += seconds;
    } else if (absl::StartsWith(name, "rdk:")) {
      split.kafka += seconds;
    } else {
      split.other += seconds;
    }
  }
  closedir(dir);
  return split;
}

// One client connection.
struct Conn {
  int fd = -1;
  bool ws = false;
  bool requested = false;
  bool ready = false;  // the answer's head is read
  std::string buf;
};

// Clients on one epoll thread: connects, reads, stamps latencies.
class ClientThread {
 public:
  ClientThread() : epoll_(epoll_create1(0)), bins_(kBins + 1) {}
  ~ClientThread() { Close(); }

  void Connect(int port, bool ws) {
    auto conn = std::make_unique<Conn>();
    conn->ws = ws;
    conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK_GE(conn->fd, 0) << "socket: " << strerror(errno);
    int one = 1;
    setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(conn->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    CHECK(r == 0 || errno == EINPROGRESS) << "connect: " << strerror(errno);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.ptr = conn.get();
    CHECK_EQ(epoll_ctl(epoll_, EPOLL_CTL_ADD, conn->fd, &ev), 0);
    conns_.push_back(std::move(conn));
  }

  void Run() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "bench client");
      epoll_event events[256];
      while (!stop_.load(std::memory_order_relaxed)) {
        int n = epoll_wait(epoll_, events, 256, 50);
        for (int i = 0; i < n; ++i) {
          Handle(static_cast<Conn*>(events[i].data.ptr), events[i].events);
        }
      }
    });
  }

  void Close() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& c : conns_) close(c->fd);
    conns_.clear();
    if (epoll_ >= 0) close(epoll_);
    epoll_ = -1;
  }

  int ready() const { return ready_.load(); }
  // Streams the server closed.
  int closed() const { return closed_.load(); }
  // Measured messages received (see measure_from).
  int64_t received() const { return received_.load(); }
  // The latency histogram (read after the thread stopped recording).
  const std::vector<uint32_t>& bins() const { return bins_; }
  size_t HeapBytes() const {
    size_t bytes = 0;
    for (const auto& c : conns_) bytes += sizeof(Conn) + c->buf.capacity();
    return bytes;
  }

 private:
  void Handle(Conn* c, uint32_t events) {
    if ((events & EPOLLOUT) && !c->requested) {
      c->requested = true;
      std::string request =
          c->ws ? absl::StrCat("GET /api/v1/realtime/ws?channels=", kChannel,
                               " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: "
                               "websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\n\r\n")
                : absl::StrCat("GET /api/v1/realtime/sse?channels=", kChannel,
                               " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      CHECK_EQ(write(c->fd, request.data(), request.size()),
               static_cast<ssize_t>(request.size()));
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = c;
      epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    // One read per readiness into a large buffer: a read that fills it goes
    // on, a shorter one has taken everything (epoll is level-triggered, so
    // more arriving meanwhile wakes us again). Reading on to EAGAIN would
    // cost the clients a second system call per server write, CPU the
    // server under test shares.
    for (;;) {
      ssize_t n = read(c->fd, chunk_.data(), chunk_.size());
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        // The server closed the stream (a slow client dropped).
        epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
        closed_.fetch_add(1);
        break;
      }
      if (n < 0) break;
      const int64_t now = NowNanos();
      c->buf.append(chunk_.data(), n);
      size_t pos = 0;
      if (!c->ready) {
        size_t end = c->buf.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        c->ready = true;
        ready_.fetch_add(1);
        pos = end + 4;
      }
      // Every stamp is one message; keep what may hold a stamp's start.
      constexpr size_t kStampSize = sizeof(kStamp) - 1;
      size_t cut;
      for (;;) {
        size_t at = c->buf.find(kStamp, pos);
        if (at == std::string::npos) {
          cut = c->buf.size() > kStampSize
                    ? std::max(pos, c->buf.size() - kStampSize)
                    : pos;
          break;
        }
        size_t end = at + kStampSize;
        int64_t sent = 0;
        while (end < c->buf.size() && c->buf[end] >= '0' &&
               c->buf[end] <= '9') {
          sent = sent * 10 + (c->buf[end++] - '0');
        }
        if (end == c->buf.size()) {
          cut = at;  // the number may go on in the next read
          break;
        }
        if (sent >= measure_from.load(std::memory_order_relaxed)) {
          received_.fetch_add(1, std::memory_order_relaxed);
          int64_t bin = (now - sent) / kBinNanos;
          ++bins_[std::min<int64_t>(std::max<int64_t>(bin, 0), kBins)];
        }
        pos = end;
      }
      c->buf.erase(0, cut);
      if (static_cast<size_t>(n) < chunk_.size()) break;
    }
  }

  int epoll_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ready_{0};
  std::atomic<int> closed_{0};
  std::atomic<int64_t> received_{0};
  std::vector<uint32_t> bins_;
  std::vector<char> chunk_ = std::vector<char>(64 * 1024);
};

struct RoundResult {
  double delivered_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double bytes_per_connection = 0;
  double delivered_fraction = 0;  // of sent x clients
  int closed = 0;                 // streams the server closed
  int slow_dropped = -1;  // of them, dropped as slow (herald's /metrics)
  // CPU seconds per measured second (cores), by role (CpuSplit).
  double cpu_clients = 0, cpu_server = 0, cpu_hub = 0, cpu_kafka = 0,
         cpu_other = 0;
  double cpu_waited = 0;  // threads ready but waiting for a core
};

double Percentile(const std::vector<uint64_t>& bins, double q) {
  uint64_t total = 0;
  for (uint64_t b : bins) total += b;
  if (total == 0) return -1;
  const uint64_t rank = static_cast<uint64_t>(q * (total - 1));
  uint64_t seen = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    seen += bins[i];
    if (seen > rank) return (i + 0.5) * kBinNanos / 1e6;
  }
  return bins.size() * kBinNanos / 1e6;
}

// One round against a server listening on `port`: connect every client,
// measure idle memory, then `publish(payload)` at --rate for 1 + --seconds.
RoundResult Round(int port,
                  const std::function<void(const std::string&)>& publish) {
  const int sse = absl::GetFlag(FLAGS_sse), ws = absl::GetFlag(FLAGS_ws);
  const int total = sse + ws;
  const size_t rss_before = ResidentBytes();
  std::vector<std::unique_ptr<ClientThread>> threads;
  for (int i = 0; i < kClientThreads; ++i) {
    threads.push_back(std::make_unique<ClientThread>());
    threads.back()->Run();
  }
  for (int i = 0; i < total; ++i) {
    threads[i % kClientThreads]->Connect(port, i >= sse);
    if (i % 500 == 499) absl::SleepFor(absl::Milliseconds(20));
  }
  auto ready = [&] {
    int n = 0;
    for (auto& t : threads) n += t->ready();
    return n;
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (ready() < total && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  CHECK_EQ(ready(), total) << "clients not connected in 120 s";
  absl::SleepFor(absl::Seconds(1));  // settle: every subscription done
  size_t client_heap = 0;
  for (auto& t : threads) client_heap += t->HeapBytes();
  const size_t rss_idle = ResidentBytes();

  const int rate = absl::GetFlag(FLAGS_rate);
  const int seconds = absl::GetFlag(FLAGS_seconds);
  auto received = [&] {
    int64_t n = 0;
    for (auto& t : threads) n += t->received();
    return n;
  };
  const absl::Duration period = absl::Seconds(1) / rate;
  const absl::Time start = absl::Now();
  int64_t sent_measured = 0;
  absl::Time measure_start;
  CpuSplit cpu_start;
  const int warmup = rate;  // one second
  for (int64_t i = 0; i < static_cast<int64_t>(rate) * (1 + seconds); ++i) {
    if (i == warmup) {
      measure_start = absl::Now();
      measure_from = NowNanos();
      cpu_start = ThreadCpu();
    }
    absl::Time due = start + period * i;
    absl::Duration wait = due - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    publish(absl::StrCat("{", kStamp, NowNanos(), ",\"seq\":", i, "}"));
    if (i >= warmup) ++sent_measured;
  }
  // Deliveries of the measured messages still on their way count too.
  const int64_t expected = sent_measured * total;
  const absl::Time drain = absl::Now() + absl::Seconds(10);
  while (received() < expected && absl::Now() < drain) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Time measure_end = absl::Now();
  const CpuSplit cpu = ThreadCpu().Minus(cpu_start);
  const int64_t delivered = received();
  int closed = 0;
  for (auto& t : threads) closed += t->closed();
  measure_from = std::numeric_limits<int64_t>::max();
  std::vector<uint64_t> bins(kBins + 1);
  for (auto& t : threads) {
    t->Close();
    for (size_t i = 0; i < bins.size(); ++i) bins[i] += t->bins()[i];
  }
  RoundResult r;
  r.closed = closed;
  // Delivered per second over the measured window: the messages sent in it,
  // received by however many clients, over the time from its first send to
  // its last delivery.
  r.delivered_per_second =
      delivered / absl::ToDoubleSeconds(measure_end - measure_start);
  r.delivered_fraction =
      static_cast<double>(delivered) / (sent_measured * total);
  const double window = absl::ToDoubleSeconds(measure_end - measure_start);
  r.cpu_clients = cpu.clients / window;
  r.cpu_server = cpu.server / window;
  r.cpu_hub = cpu.hub / window;
  r.cpu_kafka = cpu.kafka / window;
  r.cpu_other = cpu.other / window;
  r.cpu_waited = cpu.waited / window;
  r.p50_ms = Percentile(bins, 0.50);
  r.p99_ms = Percentile(bins, 0.99);
  r.bytes_per_connection =
      (static_cast<double>(rss_idle) - rss_before - client_heap) / total;
  return r;
}

RoundResult HeraldRound(const std::string& brokers) {
  Config config;
  config.brokers = brokers;
  config.service = "realtime_bench";
  workers::RealtimeSettings settings;
  settings.http_port = 0;
  settings.http_threads = 2;
  settings.idle_timeout = absl::Minutes(10);
  settings.write_delay =
      absl::Milliseconds(absl::GetFlag(FLAGS_write_delay_ms));
  config.consumer.fetch_wait_max_ms = absl::GetFlag(FLAGS_fetch_wait_ms);
  auto worker = workers::RealtimeWorker::Start(config, settings);
  CHECK(worker.ok()) << worker.status();
  Config producer_config = config;
  producer_config.producer.linger_ms = 1;
  auto producer = Producer::Create(producer_config);
  CHECK(producer.ok()) << producer.status();
  RoundResult r = Round((*worker)->port(), [&](const std::string& payload) {
    contracts::v1::RealtimeMessage m;
    m.set_channel(kChannel);
    m.set_event("tick");
    m.set_data_json(payload);
    (*producer)->Send(m, [](const DeliveryResult&) {});
  });
  // Whether the streams it closed were slow clients (their buffer full) or
  // something else (a write error).
  web::HttpClient metrics("127.0.0.1", (*worker)->port(), absl::Seconds(5));
  absl::StatusOr<web::ClientResponse> page = metrics.Send("GET", "/metrics");
  if (!page.ok()) LOG(WARNING) << "GET /metrics: " << page.status();
  if (page.ok()) {
    constexpr absl::string_view kName =
        "\nherald_realtime_slow_clients_dropped_total ";
    const size_t at = absl::string_view(page->body).find(kName);
    double dropped = 0;
    if (at != std::string::npos &&
        absl::SimpleAtod(
            absl::string_view(page->body)
                .substr(at + kName.size(),
                        page->body.find('\n', at) - at - kName.size()),
            &dropped)) {
      r.slow_dropped = static_cast<int>(dropped);
    }
  }
  (*worker)->Stop();
  return r;
}

RoundResult BaselineRound() {
  auto server = web::testing::MinimalBroadcaster::Start(2);
  CHECK(server.ok()) << server.status();
  RoundResult r = Round((*server)->port(), [&](const std::string& payload) {
    (*server)->Broadcast("tick", payload);
  });
  (*server)->Stop();
  return r;
}

struct Figure {
  double median, min, max;
};
Figure Summary(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}
std::string Show(const Figure& f, const char* format) {
  return absl::StrCat(
      absl::StrFormat(absl::ParsedFormat<'f'>(format), f.median), " (",
      absl::StrFormat(absl::ParsedFormat<'f'>(format), f.min), "-",
      absl::StrFormat(absl::ParsedFormat<'f'>(format), f.max), ")");
}

int Main() {
#ifdef NDEBUG
  // As the worker's binary does (base/process.cc InitProcess): Debian's
  // Abseil checks lock order on every lock unless told not to.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  CHECK_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  const int clients = absl::GetFlag(FLAGS_sse) + absl::GetFlag(FLAGS_ws);
  CHECK_GT(static_cast<rlim_t>(limit.rlim_cur),
           static_cast<rlim_t>(2 * clients + 200))
      << "RLIMIT_NOFILE hard limit " << limit.rlim_max << " is below "
      << 2 * clients + 200 << " (a client and a server socket per connection)";
  auto cluster = MockCluster::Start(1);
  CHECK(cluster.ok()) << cluster.status();
  for (const std::string& topic : workers::RealtimeTopics()) {
    CHECK((*cluster)->CreateTopic(topic, 1).ok());
  }
  std::vector<RoundResult> herald, baseline;
  const int rounds = absl::GetFlag(FLAGS_rounds);
  for (int i = 0; i < rounds; ++i) {
    baseline.push_back(absl::GetFlag(FLAGS_herald_only) ? RoundResult{}
                                                        : BaselineRound());
    herald.push_back(HeraldRound((*cluster)->bootstrap_servers()));
    const RoundResult& b = baseline.back();
    const RoundResult& h = herald.back();
    std::printf(
        "round %d: baseline %.0f/s p50 %.1f p99 %.1f ms %.0f B/conn (%.3f "
        "delivered, %d closed) | herald %.0f/s p50 %.1f p99 %.1f ms %.0f "
        "B/conn (%.3f delivered, %d closed, %d slow)\n",
        i + 1, b.delivered_per_second, b.p50_ms, b.p99_ms,
        b.bytes_per_connection, b.delivered_fraction, b.closed,
        h.delivered_per_second, h.p50_ms, h.p99_ms, h.bytes_per_connection,
        h.delivered_fraction, h.closed, h.slow_dropped);
    std::printf(
        "  cores: baseline clients %.2f server %.2f other %.2f waited %.2f | "
        "herald clients %.2f loops %.2f hub %.2f kafka %.2f other %.2f "
        "waited %.2f\n",
        b.cpu_clients, b.cpu_server, b.cpu_other, b.cpu_waited, h.cpu_clients,
        h.cpu_server, h.cpu_hub, h.cpu_kafka, h.cpu_other, h.cpu_waited);
    std::fflush(stdout);
  }
  auto column = [](const std::vector<RoundResult>& rs,
                   double RoundResult::*field, double scale = 1) {
    std::vector<double> v;
    for (const RoundResult& r : rs) v.push_back(r.*field * scale);
    return Summary(v);
  };
  std::vector<double> ratio;
  for (int i = 0; i < rounds; ++i) {
    ratio.push_back(herald[i].delivered_per_second /
                    baseline[i].delivered_per_second);
  }
  std::printf(
      "\n%d SSE + %d WebSocket clients, one channel, %d messages/s, %d "
      "rounds of %d s, consumer.fetch_wait_max_ms %d, "
      "realtime.write_delay_ms %d; median (min-max)\n",
      absl::GetFlag(FLAGS_sse), absl::GetFlag(FLAGS_ws),
      absl::GetFlag(FLAGS_rate), rounds, absl::GetFlag(FLAGS_seconds),
      absl::GetFlag(FLAGS_fetch_wait_ms), absl::GetFlag(FLAGS_write_delay_ms));
  std::printf("%-28s %-28s %-28s\n", "", "minimal Beast broadcaster",
              "herald realtime worker");
  auto row = [&](const char* name, double RoundResult::*field,
                 const char* format, double scale) {
    std::printf("%-28s %-28s %-28s\n", name,
                Show(column(baseline, field, scale), format).c_str(),
                Show(column(herald, field, scale), format).c_str());
  };
  row("delivered messages/s", &RoundResult::delivered_per_second, "%.0f", 1);
  row("delivered / sent x clients", &RoundResult::delivered_fraction, "%.3f",
      1);
  row("latency p50 (ms)", &RoundResult::p50_ms, "%.1f", 1);
  row("latency p99 (ms)", &RoundResult::p99_ms, "%.1f", 1);
  row("memory per idle conn (KiB)", &RoundResult::bytes_per_connection, "%.1f",
      1.0 / 1024);
  row("cores: bench clients", &RoundResult::cpu_clients, "%.2f", 1);
  row("cores: stream loops", &RoundResult::cpu_server, "%.2f", 1);
  row("cores: hub (Kafka->streams)", &RoundResult::cpu_hub, "%.2f", 1);
  row("cores: Kafka (mock, clients)", &RoundResult::cpu_kafka, "%.2f", 1);
  row("cores: other (publisher)", &RoundResult::cpu_other, "%.2f", 1);
  row("cores waited for (run queue)", &RoundResult::cpu_waited, "%.2f", 1);
  std::printf("herald / baseline delivered rate: %s (target >= 0.8)\n",
              Show(Summary(ratio), "%.3f").c_str());
  return 0;
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) {
  herald::Usage usage;
  usage.synopsis = "realtime_bench [--sse=N] [--ws=N] [--rate=N] [--seconds=N]";
  usage.description =
      "The realtime worker against a minimal Beast broadcaster: SSE "
      "and\nWebSocket fan-out latency, side by side in the same run.\n";
  herald::HandleHelp(argc, argv, usage);
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  return herald::Main();
}
