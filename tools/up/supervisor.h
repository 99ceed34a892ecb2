// File: tools/up/supervisor.h
//
// Runs the processes of a plan (tools/up/stack.h) as one system: starts
// them stage by stage, each stage once the one before is ready; prints
// their output as one stream (tools/up/log_printer.h); calls `on_ready` once
// everything is ready; and runs until SIGINT or SIGTERM, or until a process
// exits on its own (reported with its last lines). Then it stops them in
// the reverse order, a stage at a time: SIGTERM, wait (SIGKILL after
// `stop_timeout`). A second SIGINT or SIGTERM kills what is left at once.
//
// Supervise receives SIGINT and SIGTERM on a signalfd: every other thread
// must block them (threads started after herald::InitProcess do). Call it
// from the thread that lives as long as the children (their death signal
// follows that thread, tools/up/child.h).
//
// Example:
//
//   herald::InitProcess(argc, argv);
//   LogPrinter log(stdout, isatty(STDOUT_FILENO));
//   int code = Supervise(PlanStack(options), SupervisorOptions(), log,
//                        [&] { log.Plain("ready\n"); });
//   return code;
#ifndef HERALD_TOOLS_UP_SUPERVISOR_H_
#define HERALD_TOOLS_UP_SUPERVISOR_H_

#include <functional>
#include <vector>

#include "absl/time/time.h"
#include "tools/up/log_printer.h"
#include "tools/up/stack.h"

namespace herald {
namespace up {

struct SupervisorOptions {
  // How long each stage may take to become ready.
  absl::Duration ready_timeout = absl::Minutes(2);
  // How long each stage may take to stop after SIGTERM before SIGKILL.
  absl::Duration stop_timeout = absl::Seconds(30);
  // Once everything is ready, a process that exits on its own is reported
  // and the others go on (false: they are stopped, and Supervise returns 1).
  bool keep_going = false;
};

// Returns the exit code of `herald up`: 0 when stopped by a signal and every
// process stopped cleanly (exit code 0, or killed by the SIGTERM it was
// sent); 1 when a process could not start, was not ready in time, exited on
// its own (unless keep_going), or had to be killed.
int Supervise(const std::vector<ProcessSpec>& plan,
              const SupervisorOptions& options, LogPrinter& log,
              const std::function<void()>& on_ready);

}  // namespace up
}  // namespace herald

#endif  // HERALD_TOOLS_UP_SUPERVISOR_H_
