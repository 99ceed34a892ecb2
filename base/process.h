// File: base/process.h
//
// What every Herald binary does first and last: parse the flags, log to
// stderr with glog, resolve relative paths in the caller's directory under
// `bazel run`, and stop cleanly on SIGINT/SIGTERM.
//
// Example:
//
//   int main(int argc, char** argv) {
//     // Blocks SIGINT and SIGTERM here and in every thread started later.
//     herald::Usage usage;  // what --help prints (base/usage.h)
//     usage.synopsis = "my_tool [--flag=value]";
//     herald::InitProcess(argc, argv, usage);
//     ... start threads ...
//     int signal = herald::WaitForStopSignal();
//     ... stop ...
//   }
#ifndef HERALD_BASE_PROCESS_H_
#define HERALD_BASE_PROCESS_H_

#include "base/usage.h"

namespace herald {

// Answers --help with `usage` (base/usage.h: prints and exits 0), parses absl
// flags, initializes glog (to stderr), enters $BUILD_WORKING_DIRECTORY when
// set, and blocks SIGINT and SIGTERM so that WaitForStopSignal() receives them.
// Call before starting any thread.
void InitProcess(int argc, char** argv, const Usage& usage);

// Blocks until SIGINT or SIGTERM arrives; returns the signal number.
int WaitForStopSignal();

}  // namespace herald

#endif  // HERALD_BASE_PROCESS_H_
