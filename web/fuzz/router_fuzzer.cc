// Fuzz target: routing a request by method and path (web/router.h) over the
// gateway's route patterns, and the JSON errors of 404 and 405 answers.
//
// Input: the method, a space, then the path (any bytes: the server hands
// the request target over as it came, up to the '?').
//
// Properties:
//   - every request is answered exactly once;
//   - a handler runs only for its method (GET also for HEAD) and gets each
//     `{name}` of its pattern as one non-empty path segment;
//   - otherwise the answer is 404 when no pattern matches the path, or 405
//     with an Allow header naming the methods that would be served;
//   - the body is JSON (valid UTF-8 included) with a code and a message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "base/testing/fuzz_check.h"
#include "web/http.h"
#include "web/json.h"
#include "web/router.h"

namespace herald {
namespace web {
namespace {

struct Pattern {
  const char* method;
  const char* path;
  const char* param;  // the captured parameter, or nullptr
};

// The gateway's routes (gateway/gateway.cc).
constexpr Pattern kRoutes[] = {
    {"POST", "/api/v1/payments", nullptr},
    {"POST", "/api/v1/payments/{id}/status", "id"},
    {"GET", "/api/v1/payments/{id}", "id"},
    {"POST", "/api/v1/users", nullptr},
    {"POST", "/api/v1/notifications/email", nullptr},
    {"GET", "/healthz", nullptr},
    {"GET", "/readyz", nullptr},
    {"GET", "/metrics", nullptr},
};

// The route whose handler ran for the current input, or nullptr.
const Pattern* served = nullptr;

const Router& GatewayRouter() {
  static const Router* router = [] {
    auto* r = new Router;
    for (const Pattern& route : kRoutes) {
      r->Handle(route.method, route.path, [&route](const Request&) {
        served = &route;
        return Response::Json(200, "{}");
      });
    }
    return r;
  }();
  return *router;
}

void CheckJsonError(const Response& response) {
  json::error_code ec;
  const json::value body = json::parse(response.body, ec);
  FUZZ_CHECK(!ec) << response.status << " body is not JSON (" << ec.message()
                  << "): " << response.body;
  const json::object* error = nullptr;
  if (body.is_object() && body.as_object().if_contains("error") != nullptr &&
      body.as_object().at("error").is_object()) {
    error = &body.as_object().at("error").as_object();
  }
  FUZZ_CHECK(error != nullptr) << response.body;
  for (const char* field : {"code", "message"}) {
    const json::value* v = error->if_contains(field);
    FUZZ_CHECK(v != nullptr && v->is_string() && !v->as_string().empty())
        << field << " in " << response.body;
  }
}

}  // namespace
}  // namespace web
}  // namespace herald

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::web;  // NOLINT: one target, one namespace
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t space = input.find(' ');
  Request request;
  request.method = std::string(input.substr(0, space));
  if (space != absl::string_view::npos) {
    request.path = std::string(input.substr(space + 1));
  }

  served = nullptr;
  int answers = 0;
  Response response;
  GatewayRouter().Dispatch(request, [&](Response r) {
    ++answers;
    response = std::move(r);
  });
  FUZZ_CHECK(answers == 1) << answers << " answers";

  if (served != nullptr) {
    FUZZ_CHECK(request.method == served->method ||
               (request.method == "HEAD" &&
                absl::string_view(served->method) == "GET"))
        << request.method << " served by " << served->method << " "
        << served->path;
    if (served->param != nullptr) {
      const std::string value = request.Param(served->param);
      FUZZ_CHECK(!value.empty() && value.find('/') == std::string::npos)
          << served->path << " got {" << served->param << "} = '" << value
          << "'";
    }
    FUZZ_CHECK(request.route == served->path) << request.route;
    return 0;
  }
  FUZZ_CHECK(response.status == 404 || response.status == 405)
      << response.status;
  if (response.status == 405) {
    bool allow = false;
    for (const auto& [name, value] : response.headers) {
      allow |= name == "Allow" && !value.empty();
    }
    FUZZ_CHECK(allow) << "405 without an Allow header";
    FUZZ_CHECK(!request.route.empty());
  } else {
    FUZZ_CHECK(request.route.empty()) << request.route;
  }
  CheckJsonError(response);
  return 0;
}
