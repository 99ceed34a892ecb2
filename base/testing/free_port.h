// File: base/testing/free_port.h
//
// A free loopback TCP port for a test's servers and child processes (the
// kernel picks it; another process may still take it before the caller
// binds, which tests on one machine accept).
//
// Example:
//
//   const int port = herald::FreePort();
//   Launch(binary, {absl::StrCat("--http_port=", port)});
#ifndef HERALD_BASE_TESTING_FREE_PORT_H_
#define HERALD_BASE_TESTING_FREE_PORT_H_

namespace herald {

// A loopback TCP port free at the time of the call.
int FreePort();

}  // namespace herald

#endif  // HERALD_BASE_TESTING_FREE_PORT_H_
