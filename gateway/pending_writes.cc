#include "gateway/pending_writes.h"

#include <utility>

namespace herald {
namespace gateway {

std::optional<web::Responder> PendingWrites::Admit(web::Responder respond) {
  if (pending_.fetch_add(1) >= max_) {
    pending_.fetch_sub(1);
    web::Response refused = web::Response::JsonError(
        503, "overloaded",
        "too many writes are waiting for their commit; retry later");
    refused.headers.emplace_back("Retry-After", "1");
    respond(std::move(refused));
    return std::nullopt;
  }
  return web::Responder(
      [this, respond = std::move(respond)](web::Response response) {
        pending_.fetch_sub(1);
        respond(std::move(response));
      });
}

}  // namespace gateway
}  // namespace herald
