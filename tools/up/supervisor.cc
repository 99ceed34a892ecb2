#include "tools/up/supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tools/up/child.h"
#include "tools/up/readiness.h"

namespace herald {
namespace up {
namespace {

struct Running {
  const ProcessSpec* spec;
  std::unique_ptr<Child> child;
  bool asked_to_stop = false;
};

class Supervisor {
 public:
  Supervisor(const std::vector<ProcessSpec>& plan,
             const SupervisorOptions& options, LogPrinter& log)
      : plan_(plan), options_(options), log_(log) {
    for (const ProcessSpec& spec : plan_) {
      stages_.insert(spec.stage);
      log_.AddSource(spec.name);
    }
  }

  int Run(const std::function<void()>& on_ready) {
    if (stages_.empty()) return 0;
    sigset_t signals;
    sigemptyset(&signals);
    for (int s : {SIGINT, SIGTERM, SIGCHLD}) sigaddset(&signals, s);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) {
      log_.Say(absl::StrCat("signalfd: ", strerror(errno)));
      return 1;
    }
    StartStage(*stages_.begin());
    while (true) {
      WaitForEvents();
      ReadOutputs();
      ReadSignals();
      ReapChildren();
      if (phase_ == Phase::kStarting) CheckReadiness(on_ready);
      if (phase_ == Phase::kStopping && !AdvanceStop()) break;
    }
    close(signal_fd_);
    return exit_code_;
  }

 private:
  enum class Phase { kStarting, kRunning, kStopping };

  void StartStage(int stage) {
    stage_ = stage;
    std::vector<std::pair<std::string, ReadyCheck>> checks;
    for (const ProcessSpec& spec : plan_) {
      if (spec.stage != stage) continue;
      absl::StatusOr<std::unique_ptr<Child>> child =
          Child::Start(spec.name, spec.argv);
      if (!child.ok()) {
        log_.Say(absl::StrCat("cannot start ", spec.name, ": ",
                              child.status().message()));
        BeginStop(1);
        return;
      }
      log_.Say(
          absl::StrCat("started ", spec.name, " (pid ", (*child)->pid(), ")"));
      running_.push_back({&spec, *std::move(child)});
      checks.emplace_back(spec.name, spec.ready);
    }
    poller_ = std::make_unique<ReadinessPoller>(std::move(checks));
    ready_deadline_ = absl::Now() + options_.ready_timeout;
  }

  void CheckReadiness(const std::function<void()>& on_ready) {
    const std::vector<std::string> waiting = poller_->NotReady();
    if (waiting.empty()) {
      std::vector<std::string> names;
      for (const Running& r : running_) {
        if (r.spec->stage == stage_) names.push_back(r.spec->name);
      }
      log_.Say(absl::StrCat(absl::StrJoin(names, ", "), " ready"));
      poller_.reset();
      auto next = stages_.upper_bound(stage_);
      if (next != stages_.end()) {
        StartStage(*next);
        return;
      }
      phase_ = Phase::kRunning;
      on_ready();
      return;
    }
    if (absl::Now() > ready_deadline_) {
      log_.Say(absl::StrCat("not ready after ",
                            absl::FormatDuration(options_.ready_timeout), ": ",
                            absl::StrJoin(waiting, ", ")));
      BeginStop(1);
    }
  }

  void WaitForEvents() {
    std::vector<pollfd> fds = {{signal_fd_, POLLIN, 0}};
    for (const Running& r : running_) {
      if (r.child->output_fd() >= 0) {
        fds.push_back({r.child->output_fd(), POLLIN, 0});
      }
    }
    poll(fds.data(), fds.size(), /*timeout_ms=*/100);
  }

  void ReadOutputs() {
    for (Running& r : running_) ReadOutput(r);
  }

  // Everything the child has written so far; at EOF, its last partial line.
  void ReadOutput(Running& r) {
    char buffer[16384];
    while (r.child->output_fd() >= 0) {
      const ssize_t n = read(r.child->output_fd(), buffer, sizeof(buffer));
      if (n > 0) {
        log_.Write(r.spec->name, absl::string_view(buffer, n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        log_.Flush(r.spec->name);
        r.child->CloseOutput();
      } else if (errno == EAGAIN) {
        return;
      }
    }
  }

  void ReadSignals() {
    signalfd_siginfo info;
    while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGCHLD) continue;  // ReapChildren() looks
      if (phase_ != Phase::kStopping) {
        log_.Say(absl::StrCat("stopping (", strsignal(info.ssi_signo),
                              "), in the reverse order of the start"));
        BeginStop(0);
      } else {
        log_.Say("stopping again: killing what is left");
        for (Running& r : running_) r.child->Signal(SIGKILL);
        exit_code_ = 1;
      }
    }
  }

  void ReapChildren() {
    for (Running& r : running_) {
      if (r.child->exited()) continue;
      std::optional<int> status = r.child->Reap(/*block=*/false);
      if (!status.has_value()) continue;
      // The rest of its output first: the write end closed with the
      // process, so this reads to EOF.
      ReadOutput(r);
      const std::string what = DescribeWaitStatus(*status);
      if (r.asked_to_stop) {
        // Exit code 0, or the SIGTERM it was sent when it has no handler.
        const bool clean =
            (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) ||
            (WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM);
        log_.Say(absl::StrCat(r.spec->name, " stopped",
                              clean ? "" : absl::StrCat(" (", what, ")")));
        if (!clean) exit_code_ = 1;
        continue;
      }
      log_.Say(absl::StrCat(r.spec->name, " (pid ", r.child->pid(),
                            ") exited unexpectedly (", what,
                            "); its last lines:"));
      for (const std::string& line : log_.LastLines(r.spec->name)) {
        log_.Say(absl::StrCat("  ", r.spec->name, ": ", line));
      }
      // While starting, its stage can never be ready: stop either way.
      if (options_.keep_going && phase_ == Phase::kRunning) {
        log_.Say("--keep_going: the others go on");
      } else if (phase_ != Phase::kStopping) {
        log_.Say("stopping the others (--keep_going lets them run)");
        BeginStop(1);
      } else {
        exit_code_ = 1;
      }
    }
  }

  void BeginStop(int code) {
    exit_code_ = std::max(exit_code_, code);
    if (phase_ == Phase::kStopping) return;
    phase_ = Phase::kStopping;
    poller_.reset();
  }

  // Signals the highest stage still running; false once nothing runs.
  bool AdvanceStop() {
    int stage = -1;
    for (const Running& r : running_) {
      if (!r.child->exited()) stage = std::max(stage, r.spec->stage);
    }
    if (stage < 0) return false;
    if (stage != stopping_stage_) {
      stopping_stage_ = stage;
      stop_deadline_ = absl::Now() + options_.stop_timeout;
      for (Running& r : running_) {
        if (r.spec->stage == stage && !r.child->exited()) {
          r.asked_to_stop = true;
          r.child->Signal(SIGTERM);
        }
      }
    } else if (absl::Now() > stop_deadline_) {
      for (Running& r : running_) {
        if (r.spec->stage == stage && !r.child->exited()) {
          log_.Say(absl::StrCat(r.spec->name, " did not stop within ",
                                absl::FormatDuration(options_.stop_timeout),
                                ": killing it"));
          r.child->Signal(SIGKILL);
        }
      }
      stop_deadline_ = absl::InfiniteFuture();
      exit_code_ = 1;
    }
    return true;
  }

  const std::vector<ProcessSpec>& plan_;
  const SupervisorOptions options_;
  LogPrinter& log_;
  std::set<int> stages_;
  std::vector<Running> running_;
  Phase phase_ = Phase::kStarting;
  int stage_ = 0;
  int stopping_stage_ = -1;
  int exit_code_ = 0;
  int signal_fd_ = -1;
  std::unique_ptr<ReadinessPoller> poller_;
  absl::Time ready_deadline_;
  absl::Time stop_deadline_;
};

}  // namespace

int Supervise(const std::vector<ProcessSpec>& plan,
              const SupervisorOptions& options, LogPrinter& log,
              const std::function<void()>& on_ready) {
  return Supervisor(plan, options, log).Run(on_ready);
}

}  // namespace up
}  // namespace herald
