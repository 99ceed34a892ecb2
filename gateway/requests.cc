#include "gateway/requests.h"

#include <cmath>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "contracts/v1/limits.h"
#include "gateway/api_error.h"
#include "messaging/realtime/channel.h"
#include "web/json.h"

namespace herald {
namespace gateway {
namespace {

constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxReasonLength = 1000;
constexpr size_t kMaxSubjectLength = 998;  // RFC 5322 line limit
constexpr size_t kMaxEmailBodyLength = 256 * 1024;

// A JSON object under validation: typed accessors that report the field.
class Fields {
 public:
  static absl::StatusOr<Fields> Parse(
      absl::string_view body,
      std::initializer_list<absl::string_view> allowed) {
    json::error_code ec;
    json::value value =
        json::parse(json::string_view(body.data(), body.size()), ec);
    if (ec) {
      return WithApiCode(absl::InvalidArgumentError(absl::StrCat(
                             "request body is not valid JSON: ", ec.message())),
                         "invalid_json");
    }
    if (!value.is_object()) {
      return WithApiCode(
          absl::InvalidArgumentError("request body must be a JSON object"),
          "invalid_json");
    }
    Fields fields(std::move(value.as_object()));
    for (const auto& entry : fields.object_) {
      absl::string_view key(entry.key().data(), entry.key().size());
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return FieldError(key,
                          absl::StrCat("unknown field '", key, "'; expected ",
                                       absl::StrJoin(allowed, ", ")),
                          "unknown_field");
      }
    }
    return fields;
  }

  bool Has(const char* name) const {
    const json::value* v = object_.if_contains(name);
    return v != nullptr && !v->is_null();
  }

  absl::StatusOr<std::string> String(const char* name, bool required,
                                     size_t max_length) const {
    const json::value* v = object_.if_contains(name);
    if (v == nullptr || v->is_null()) {
      if (required) return Missing(name);
      return std::string();
    }
    if (!v->is_string()) return FieldError(name, "must be a string");
    std::string s(v->as_string().data(), v->as_string().size());
    if (required && absl::StripAsciiWhitespace(s).empty()) {
      return FieldError(name, "must not be empty");
    }
    if (s.size() > max_length) {
      return FieldError(
          name, absl::StrCat("must be at most ", max_length, " characters"));
    }
    return s;
  }

  // A required id: a string, or a non-negative integer (the seed's clients
  // send numeric user ids) taken as its decimal string.
  absl::StatusOr<std::string> Id(const char* name) const {
    const json::value* v = object_.if_contains(name);
    if (v != nullptr && v->is_int64()) {
      if (v->as_int64() < 0) {
        return FieldError(name, "must be a string or a non-negative integer");
      }
      return absl::StrCat(v->as_int64());
    }
    if (v != nullptr && v->is_uint64()) return absl::StrCat(v->as_uint64());
    if (v != nullptr && !v->is_null() && !v->is_string()) {
      return FieldError(name, "must be a string or a non-negative integer");
    }
    return String(name, true, kMaxIdLength);
  }

  absl::StatusOr<int64_t> Integer(const char* name) const {
    const json::value* v = object_.if_contains(name);
    if (v == nullptr || v->is_null()) return Missing(name);
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) {
      return FieldError(name, "is too large");
    }
    if (v->is_double()) {
      // Integers beyond 64 bits arrive as doubles.
      double d = v->as_double();
      if (std::floor(d) == d && std::fabs(d) > 9e15) {
        return FieldError(name, "is too large");
      }
      return FieldError(name, "must be an integer (minor units, e.g. cents)");
    }
    return FieldError(name, "must be an integer");
  }

  // Any JSON value, re-serialized compactly (null included); the field must
  // be present.
  absl::StatusOr<std::string> AnyJson(const char* name) const {
    const json::value* v = object_.if_contains(name);
    if (v == nullptr) return Missing(name);
    return json::serialize(*v);
  }

  absl::StatusOr<std::map<std::string, std::string>> StringMap(
      const char* name) const {
    std::map<std::string, std::string> out;
    const json::value* v = object_.if_contains(name);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_object()) {
      return FieldError(name, "must be an object of string values");
    }
    for (const auto& entry : v->as_object()) {
      std::string key(entry.key());
      if (!entry.value().is_string()) {
        return FieldError(absl::StrCat(name, ".", key), "must be a string");
      }
      out[key] = std::string(entry.value().as_string().data(),
                             entry.value().as_string().size());
    }
    return out;
  }

 private:
  explicit Fields(json::object object) : object_(std::move(object)) {}

  static absl::Status Missing(const char* name) {
    return FieldError(name, absl::StrCat("'", name, "' is required"),
                      "missing_field");
  }

  json::object object_;
};

// Unwraps a StatusOr into `out`, or returns its error from the caller.
#define HERALD_ASSIGN_OR_RETURN(lhs, expr)      \
  do {                                          \
    auto _result = (expr);                      \
    if (!_result.ok()) return _result.status(); \
    lhs = *std::move(_result);                  \
  } while (0)

}  // namespace

absl::Status CheckContentType(std::optional<absl::string_view> content_type) {
  if (!content_type.has_value()) return absl::OkStatus();
  absl::string_view media_type = *content_type;
  media_type = media_type.substr(0, media_type.find(';'));
  media_type = absl::StripAsciiWhitespace(media_type);
  if (absl::EqualsIgnoreCase(media_type, "application/json")) {
    return absl::OkStatus();
  }
  return WithApiCode(
      absl::InvalidArgumentError("the request body must be application/json"),
      "unsupported_media_type");
}

absl::Status CheckIdempotencyKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes) {
    return WithApiCode(absl::InvalidArgumentError(
                           absl::StrCat("Idempotency-Key must be 1 to ",
                                        kMaxIdempotencyKeyBytes, " bytes")),
                       "invalid_idempotency_key");
  }
  for (char c : key) {
    if (c < 0x20 || c > 0x7e) {
      return WithApiCode(
          absl::InvalidArgumentError("Idempotency-Key must be printable ASCII"),
          "invalid_idempotency_key");
    }
  }
  return absl::OkStatus();
}

bool IsKnownCurrency(absl::string_view code) {
  // Active ISO 4217 codes (2024 list), without funds and precious metals.
  static const auto* codes = new std::set<std::string, std::less<>>{
      "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN",
      "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL",
      "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY",
      "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
      "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD",
      "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
      "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
      "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
      "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
      "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
      "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
      "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
      "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
      "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
      "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF",
      "XPF", "YER", "ZAR", "ZMW", "ZWL"};
  return codes->count(code) > 0;
}

bool IsValidEmail(absl::string_view email) {
  if (email.empty() || email.size() > 254) return false;
  size_t at = email.find('@');
  if (at == absl::string_view::npos || at == 0 || at > 64 ||
      email.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  absl::string_view local = email.substr(0, at);
  for (char c : local) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c)) || c == '"' ||
        c == '(' || c == ')' || c == ',' || c == ':' || c == ';' || c == '<' ||
        c == '>' || c == '[' || c == ']' || c == '\\') {
      return false;
    }
  }
  if (local.front() == '.' || local.back() == '.') return false;
  std::vector<absl::string_view> labels =
      absl::StrSplit(email.substr(at + 1), '.');
  if (labels.size() < 2) return false;
  for (absl::string_view label : labels) {
    if (label.empty() || label.size() > 63 || label.front() == '-' ||
        label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return false;
      }
    }
  }
  return true;
}

absl::StatusOr<CreatePayment> ParseCreatePayment(absl::string_view body) {
  absl::StatusOr<Fields> fields =
      Fields::Parse(body, {"user_id", "amount", "currency"});
  if (!fields.ok()) return fields.status();
  CreatePayment request;
  HERALD_ASSIGN_OR_RETURN(request.user_id, fields->Id("user_id"));
  HERALD_ASSIGN_OR_RETURN(request.amount, fields->Integer("amount"));
  if (request.amount <= 0) {
    return FieldError("amount", "must be greater than 0 (minor units)");
  }
  if (request.amount > contracts::v1::kMaxAmount) {
    return FieldError("amount", "is too large (at most 10^15 minor units)");
  }
  HERALD_ASSIGN_OR_RETURN(request.currency,
                          fields->String("currency", true, 3));
  if (!IsKnownCurrency(request.currency)) {
    return FieldError("currency",
                      absl::StrCat("'", request.currency,
                                   "' is not an ISO 4217 currency code "
                                   "(upper case, e.g. EUR)"));
  }
  return request;
}

absl::StatusOr<UpdatePaymentStatus> ParseUpdatePaymentStatus(
    absl::string_view body) {
  absl::StatusOr<Fields> fields = Fields::Parse(body, {"status", "reason"});
  if (!fields.ok()) return fields.status();
  UpdatePaymentStatus request;
  HERALD_ASSIGN_OR_RETURN(request.status, fields->String("status", true, 32));
  if (request.status != "succeeded" && request.status != "failed" &&
      request.status != "canceled" && request.status != "pending") {
    return FieldError("status", "must be one of succeeded, failed, canceled");
  }
  HERALD_ASSIGN_OR_RETURN(request.reason,
                          fields->String("reason", false, kMaxReasonLength));
  return request;
}

absl::StatusOr<RegisterUser> ParseRegisterUser(absl::string_view body) {
  absl::StatusOr<Fields> fields = Fields::Parse(body, {"email", "name"});
  if (!fields.ok()) return fields.status();
  RegisterUser request;
  HERALD_ASSIGN_OR_RETURN(request.email, fields->String("email", true, 254));
  request.email = absl::AsciiStrToLower(request.email);
  if (!IsValidEmail(request.email)) {
    return FieldError("email", "is not a valid email address");
  }
  HERALD_ASSIGN_OR_RETURN(request.name,
                          fields->String("name", true, kMaxNameLength));
  return request;
}

absl::StatusOr<SendEmail> ParseSendEmail(absl::string_view body) {
  absl::StatusOr<Fields> fields =
      Fields::Parse(body, {"to", "subject", "body", "template", "variables"});
  if (!fields.ok()) return fields.status();
  SendEmail request;
  HERALD_ASSIGN_OR_RETURN(request.to, fields->String("to", true, 254));
  if (!IsValidEmail(request.to)) {
    return FieldError("to", "is not a valid email address");
  }
  const bool templated = fields->Has("template");
  if (templated) {
    std::string name;
    HERALD_ASSIGN_OR_RETURN(name, fields->String("template", true, 100));
    request.template_name = name;
    HERALD_ASSIGN_OR_RETURN(request.variables, fields->StringMap("variables"));
  } else if (fields->Has("variables")) {
    return FieldError("variables", "only allowed together with 'template'");
  }
  HERALD_ASSIGN_OR_RETURN(request.subject, fields->String("subject", !templated,
                                                          kMaxSubjectLength));
  if (request.subject.find_first_of("\r\n") != std::string::npos) {
    return FieldError("subject", "must be a single line");
  }
  HERALD_ASSIGN_OR_RETURN(
      request.body, fields->String("body", !templated, kMaxEmailBodyLength));
  return request;
}

absl::StatusOr<PublishRealtimeMessage> ParsePublishRealtimeMessage(
    absl::string_view channel, absl::string_view body) {
  absl::Status valid = realtime::CheckChannel(channel);
  if (!valid.ok()) return WithApiCode(valid, "invalid_channel");
  absl::StatusOr<Fields> fields = Fields::Parse(body, {"event", "data"});
  if (!fields.ok()) return fields.status();
  PublishRealtimeMessage request;
  request.channel = std::string(channel);
  HERALD_ASSIGN_OR_RETURN(
      request.event,
      fields->String("event", true, realtime::kMaxEventNameBytes));
  if (!realtime::CheckEventName(request.event).ok()) {
    return FieldError("event", "may hold only letters, digits and ._-:");
  }
  HERALD_ASSIGN_OR_RETURN(request.data_json, fields->AnyJson("data"));
  return request;
}

absl::StatusOr<IssueRealtimeToken> ParseIssueRealtimeToken(
    absl::string_view body) {
  absl::StatusOr<Fields> fields = Fields::Parse(body, {"user_id"});
  if (!fields.ok()) return fields.status();
  IssueRealtimeToken request;
  HERALD_ASSIGN_OR_RETURN(request.user_id, fields->Id("user_id"));
  if (!realtime::CheckChannel(absl::StrCat("user.", request.user_id)).ok()) {
    return FieldError("user_id", "may hold only letters, digits and ._-:");
  }
  return request;
}

}  // namespace gateway
}  // namespace herald
