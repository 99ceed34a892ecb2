#include "web/http.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace herald {
namespace web {

std::optional<absl::string_view> Request::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return absl::string_view(value);
  }
  return std::nullopt;
}

std::string Request::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body,
                        std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::JsonError(int status, absl::string_view code,
                             absl::string_view message,
                             absl::string_view field) {
  return Json(status,
              absl::StrCat(R"({"error":{"code":)", JsonQuote(code),
                           R"(,"message":)", JsonQuote(message), R"(,"field":)",
                           field.empty() ? "null" : JsonQuote(field), "}}"));
}

}  // namespace web
}  // namespace herald
