// File: e2e/processes.h
//
// Binaries run as child processes for multi-process tests: launched with
// flags and environment, output to a log file, killed with SIGKILL or
// stopped with SIGTERM (free ports for them: base/testing/free_port.h).
//
// Example:
//
//   std::unique_ptr<Process> gw = Process::Launch(
//       binary, {"--http_port=" + absl::StrCat(FreePort())},
//       {{"HERALD_AUTH_ENABLED", "false"}}, tmp + "/gateway.log");
//   gw->Kill();  // kill -9, and reaped
#ifndef HERALD_E2E_PROCESSES_H_
#define HERALD_E2E_PROCESSES_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace herald {
namespace e2e {

class Process {
 public:
  // Forks and execs `binary` with `flags`, `env` added to the environment,
  // stdout and stderr appended to `log`.
  static std::unique_ptr<Process> Launch(
      const std::string& binary, const std::vector<std::string>& flags,
      const std::vector<std::pair<std::string, std::string>>& env,
      const std::string& log);
  // Kills (SIGKILL) if still running.
  ~Process();

  void Kill();      // SIGKILL, then reaped
  int Terminate();  // SIGTERM, then reaped; the exit status (waitpid)
  pid_t pid() const { return pid_; }

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

}  // namespace e2e
}  // namespace herald

#endif  // HERALD_E2E_PROCESSES_H_
