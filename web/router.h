// File: web/router.h
//
// Maps (method, path pattern) to handlers. Patterns are literal segments and
// `{name}` captures: "/api/v1/payments/{id}/status". An unknown path answers
// 404, a known path with another method 405 with an `Allow` header; both as
// JSON errors.
//
// Example:
//
//   herald::web::Router router;
//   router.Handle("GET", "/api/v1/payments/{id}", [&](const Request& r) {
//     return store.GetPayment(r.Param("id"));
//   });
//
// A handler that waits for something (a database commit, another service)
// should not hold a server thread meanwhile: register it with HandleAsync
// and answer through the Responder, from any thread, when the work is done.
//
//   router.HandleAsync("POST", "/items", [&](const Request& r,
//                                            Responder respond) {
//     store.InsertAsync(r.body, [respond](absl::Status s) {
//       respond(s.ok() ? Response::Json(201, "{}") : ErrorOf(s));
//     });
//   });
#ifndef HERALD_WEB_ROUTER_H_
#define HERALD_WEB_ROUTER_H_

#include <functional>
#include <string>
#include <vector>

#include "web/http.h"

namespace herald {
namespace web {

using Handler = std::function<Response(const Request&)>;
// Sends the answer; call exactly once, from any thread. The Request the
// handler got stays valid until then.
using Responder = std::function<void(Response)>;
using AsyncHandler = std::function<void(const Request&, Responder)>;

class Router {
 public:
  void Handle(std::string method, std::string pattern, Handler handler);
  void HandleAsync(std::string method, std::string pattern,
                   AsyncHandler handler);

  // Routes `request` (filling its params) and runs the handler, which
  // answers through `respond` (404 and 405 are answered here).
  void Dispatch(Request& request, Responder respond) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    AsyncHandler handler;
  };
  static bool Match(const Route& route,
                    const std::vector<absl::string_view>& path,
                    std::map<std::string, std::string>* params);
  std::vector<Route> routes_;
};

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_ROUTER_H_
