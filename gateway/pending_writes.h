// File: gateway/pending_writes.h
//
// Bounds the writes that wait for their commit (gateway.max_pending_writes):
// a write is admitted with a slot, which its answer gives back; when every
// slot is taken the write is refused at once, 503 with Retry-After, instead
// of queuing without limit in front of the database.
//
// Example:
//
//   PendingWrites pending(1024);
//   router.HandleAsync("POST", "/items", [&](const web::Request& r,
//                                            web::Responder respond) {
//     std::optional<web::Responder> admitted =
//         pending.Admit(std::move(respond));
//     if (!admitted.has_value()) return;  // answered 503
//     store.Write(..., *std::move(admitted));  // its answer frees the slot
//   });
#ifndef HERALD_GATEWAY_PENDING_WRITES_H_
#define HERALD_GATEWAY_PENDING_WRITES_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "web/http.h"
#include "web/router.h"

namespace herald {
namespace gateway {

class PendingWrites {
 public:
  // `max`: most writes admitted and not yet answered.
  explicit PendingWrites(int max) : max_(max) {}

  // A responder that frees the slot when it answers; or, when `max` writes
  // are pending, nothing, after answering `respond` 503 "overloaded" with
  // Retry-After: 1.
  std::optional<web::Responder> Admit(web::Responder respond);

  // Writes admitted and not yet answered.
  int64_t count() const { return pending_.load(std::memory_order_relaxed); }

 private:
  const int max_;
  std::atomic<int64_t> pending_{0};
};

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_PENDING_WRITES_H_
