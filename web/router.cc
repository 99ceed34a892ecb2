#include "web/router.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace herald {
namespace web {
namespace {

std::vector<absl::string_view> Segments(absl::string_view path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

}  // namespace

void Router::Handle(std::string method, std::string pattern, Handler handler) {
  HandleAsync(std::move(method), std::move(pattern),
              [handler = std::move(handler)](const Request& request,
                                             Responder respond) {
                respond(handler(request));
              });
}

void Router::HandleAsync(std::string method, std::string pattern,
                         AsyncHandler handler) {
  Route route;
  route.method = std::move(method);
  for (absl::string_view s : Segments(pattern)) route.segments.emplace_back(s);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

bool Router::Match(const Route& route,
                   const std::vector<absl::string_view>& path,
                   std::map<std::string, std::string>* params) {
  if (route.segments.size() != path.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& want = route.segments[i];
    if (absl::StartsWith(want, "{") && absl::EndsWith(want, "}")) {
      if (params != nullptr) {
        (*params)[want.substr(1, want.size() - 2)] = std::string(path[i]);
      }
    } else if (want != path[i]) {
      return false;
    }
  }
  return true;
}

void Router::Dispatch(Request& request, Responder respond) const {
  std::vector<absl::string_view> path = Segments(request.path);
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    if (!Match(route, path, nullptr)) continue;
    if (request.route.empty()) request.route = route.pattern;
    if (route.method == request.method ||
        (request.method == "HEAD" && route.method == "GET")) {
      Match(route, path, &request.params);
      return route.handler(request, std::move(respond));
    }
    allowed.insert(route.method);
  }
  if (allowed.empty()) {
    return respond(Response::JsonError(404, "not_found",
                                       "no such route: " + request.path));
  }
  Response r = Response::JsonError(
      405, "method_not_allowed",
      request.method + " is not allowed on " + request.path);
  r.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
  respond(std::move(r));
}

}  // namespace web
}  // namespace herald
