// File: gateway/offload.h
//
// Runs blocking calls (database reads: GET /api/v1/payments/{id}, /readyz,
// the outbox gauges of /metrics) on threads of its own, so that they never
// hold an HTTP server thread, and answers each within a deadline: a call
// that has not finished by then (a database that does not answer) gets its
// `late` answer instead, e.g. 503, while the call itself is left to finish
// on its thread. Calls queue without a bound of their own: each waits for
// an answer on one connection, and the server caps connections.
//
// Example:
//
//   Offload reads(4, absl::Seconds(2));
//   router.HandleAsync("GET", "/items/{id}", [&](const web::Request& r,
//                                                web::Responder respond) {
//     reads.Run([&store, id = r.Param("id")] { return store.Get(id); },
//               [] { return Unavailable(); }, std::move(respond));
//   });
#ifndef HERALD_GATEWAY_OFFLOAD_H_
#define HERALD_GATEWAY_OFFLOAD_H_

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "web/http.h"
#include "web/router.h"

namespace herald {
namespace gateway {

class Offload {
 public:
  Offload(int threads, absl::Duration deadline);
  // Stop().
  ~Offload();

  // Calls `work` on one of the threads and answers `respond` with its
  // response; or, when `work` has not returned within the deadline, with
  // `late()` (called on another thread of this class's: keep it short and
  // non-blocking).
  void Run(std::function<web::Response()> work,
           std::function<web::Response()> late, web::Responder respond);

  // Answers what is still queued with its `late()`, lets calls in progress
  // finish and joins the threads. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_OFFLOAD_H_
