// File: tools/up/child.h
//
// One child process of `herald up`: started in a process group of its own
// (a Ctrl-C on the terminal reaches only the supervisor, which then stops
// the children in order), killed by the kernel if the supervisor dies
// (PR_SET_PDEATHSIG), with its standard output and error merged into one
// pipe the supervisor reads.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<Child>> gateway =
//       Child::Start("gateway", {"/path/to/gateway", "--http_port=8080"});
//   read((*gateway)->output_fd(), ...);   // its log, until EOF
//   (*gateway)->Signal(SIGTERM);
//   std::optional<int> status = (*gateway)->Reap(/*block=*/true);
#ifndef HERALD_TOOLS_UP_CHILD_H_
#define HERALD_TOOLS_UP_CHILD_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace herald {
namespace up {

class Child {
 public:
  // Starts `argv[0]` with `argv` and the supervisor's environment and
  // directory, with every signal unblocked and at its default action.
  // Call from the thread that lives as long as the child should: the
  // kernel sends the death signal when that thread ends.
  static absl::StatusOr<std::unique_ptr<Child>> Start(
      std::string name, std::vector<std::string> argv);
  // Kills and reaps the child if it is still running.
  ~Child();

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  // The read end of its stdout+stderr (non-blocking); -1 once closed.
  int output_fd() const { return output_fd_; }
  void CloseOutput();

  // Sends `signal` to the child's process group. False once reaped.
  bool Signal(int signal);

  // The wait status once the child has exited (and reaps it), nullopt while
  // it runs (block=false).
  std::optional<int> Reap(bool block);
  bool exited() const { return status_.has_value(); }
  std::optional<int> status() const { return status_; }

 private:
  Child(std::string name, pid_t pid, int output_fd);

  std::string name_;
  pid_t pid_;
  int output_fd_;
  std::optional<int> status_;
};

// "exit code 3", "signal 9 (Killed)".
std::string DescribeWaitStatus(int status);

}  // namespace up
}  // namespace herald

#endif  // HERALD_TOOLS_UP_CHILD_H_
