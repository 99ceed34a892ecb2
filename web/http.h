// File: web/http.h
//
// Plain HTTP request and response values, shared by the server and client in
// this folder. No Boost types: handlers include only this and router.h.
//
// Example:
//
//   herald::web::Response Hello(const herald::web::Request& request) {
//     return herald::web::Response::Json(200, R"({"hello":"world"})");
//   }
#ifndef HERALD_WEB_HTTP_H_
#define HERALD_WEB_HTTP_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/json_string.h"

namespace herald {
namespace web {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/api/v1/payments/p1", without the query
  std::string query;   // after '?', undecoded
  HeaderList headers;
  std::string body;
  // Captured by the router from `{name}` pattern segments.
  std::map<std::string, std::string> params;
  // Set by the router: the pattern of the route whose path matched (also
  // when the method did not: 405), empty when none did (404). Valid while
  // the server runs; for metrics labels.
  absl::string_view route;

  // Case-insensitive header lookup.
  std::optional<absl::string_view> Header(absl::string_view name) const;
  // A path parameter, or "".
  std::string Param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList headers;
  std::string body;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  // `{"error": {"code", "message", "field"}}`; field is null when empty.
  static Response JsonError(int status, absl::string_view code,
                            absl::string_view message,
                            absl::string_view field = "");
};

// JSON string literals and UTF-8 checks (base/json_string.h), for web's
// users.
using ::herald::IsValidUtf8;
using ::herald::JsonQuote;

}  // namespace web
}  // namespace herald

#endif  // HERALD_WEB_HTTP_H_
