#include "base/process.h"

#include <glog/logging.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "base/log_format.h"

namespace herald {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void InitProcess(int argc, char** argv, const Usage& usage) {
  HandleHelp(argc, argv, usage);
  absl::ParseCommandLine(argc, argv);
  InitLogging(argv[0]);
  // Under `bazel run`, relative paths (herald.db, maildir) mean the user's
  // directory, not the runfiles tree.
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) {
    if (chdir(dir) != 0) PLOG(WARNING) << "cannot enter " << dir;
  }
  sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
#ifdef NDEBUG
  // Debian's Abseil is built with lock-order (deadlock) checks on, which
  // Abseil itself turns off in release builds: each lock then updates a
  // process-wide graph. Optimized builds (-c opt) skip it; others, and every
  // test, keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

int WaitForStopSignal() {
  sigset_t signals = StopSignals();
  int signal = 0;
  sigwait(&signals, &signal);
  return signal;
}

}  // namespace herald
