// File: base/redact.h
//
// The one place that knows what a secret looks like, so that none reaches a
// log line, an error, an HTTP answer, a dead-letter header or a metric.
// Secrets are passwords in URLs (database URLs, smtp_url, broker lists),
// secret-named parameters in query strings and PostgreSQL conninfo, and
// settings or librdkafka properties whose name says they are secret. Use
// these wherever such a value, or a library's error about it, is written out.
//
// Example:
//
//   RedactUrl("postgresql://herald:s3cret@db/herald")
//       -> "postgresql://herald:***@db/herald"
//   RedactUrl("postgresql://db/herald?password=s3cret&pool_size=4")
//       -> "postgresql://db/herald?password=***&pool_size=4"
//   IsSecretName("sasl.password")  -> true  (also ssl.key.pem, ...secret)
//   RedactValue("kafka.properties.sasl.password", "s3cret") -> "***"
//
//   // A library's error text that may echo what it was given:
//   std::string shown =
//       RedactText(PQerrorMessage(conn), SecretsIn(url));
#ifndef HERALD_BASE_REDACT_H_
#define HERALD_BASE_REDACT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace herald {

// What a secret is replaced with.
inline constexpr char kRedacted[] = "***";

// IsSecretName()
//
// True when a setting, property or parameter named `name` holds a secret:
// its name contains "password", "secret" or "key", in any case (e.g.
// sasl.password, ssl.key.password, ssl.key.pem,
// sasl.oauthbearer.client.secret, kafka.properties.ssl.keystore.password).
bool IsSecretName(absl::string_view name);

// RedactUrl()
//
// `text` (a URL, a conninfo string, or a message holding some) with every
// password masked: the password of each `scheme://user:password@host`, and
// the value of each secret-named parameter (`?password=...`,
// `&sslpassword=...`, conninfo `password=... ` or `password='...'`).
// Everything else is kept, so the result still says which host and
// database was meant.
std::string RedactUrl(absl::string_view text);

// RedactValue()
//
// `value` as it may be shown for the setting or property `name`: kRedacted
// when IsSecretName(name), else RedactUrl(value).
std::string RedactValue(absl::string_view name, absl::string_view value);

// SecretsIn()
//
// The secret strings inside `url` (its password, as written and
// percent-decoded, and the values of its secret-named parameters), to take
// out of texts that libraries write about it (RedactText).
std::vector<std::string> SecretsIn(absl::string_view url);

// RedactText()
//
// RedactUrl(text), with every occurrence of each non-empty string of
// `secrets` replaced by kRedacted as well: for error texts from libraries
// (libpq, librdkafka, libcurl) that may echo a secret in any form.
std::string RedactText(absl::string_view text,
                       const std::vector<std::string>& secrets = {});

}  // namespace herald

#endif  // HERALD_BASE_REDACT_H_
