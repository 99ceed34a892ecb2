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
#ifndef HERALD_WEB_ROUTER_H_
#define HERALD_WEB_ROUTER_H_

#include <functional>
#include <string>
#include <vector>

#include "web/http.h"

namespace herald {
namespace web {

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  void Handle(std::string method, std::string pattern, Handler handler);

  // Routes `request` (filling its params) and runs the handler.
  Response Dispatch(Request& request) const;

  // The pattern that matches `path` (for metrics labels), or "unmatched".
  std::string PatternFor(absl::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool Match(const Route& route,
                    const std::vector<absl::string_view>& path,
                    std::map<std::string, std::string>* params);
  std::vector<Route> routes_;
};

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_ROUTER_H_
