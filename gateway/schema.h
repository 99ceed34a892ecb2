// File: gateway/schema.h
//
// The gateway's database schema, brought up to date: the outbox's tables
// and the gateway's own (gateway/store.h Store::Migrations(), API keys
// included). The gateway runs it on start; `heraldctl keys` and tests run
// it before touching the api_keys table of a database no gateway has
// opened yet.
//
// Example:
//
//   auto db = herald::db::Database::Open("sqlite:herald.db");
//   absl::Status s = herald::gateway::MigrateGatewayDatabase(**db);
//   // Or, for tests and benchmarks that drive a gateway over HTTP:
//   absl::StatusOr<std::string> secret = herald::gateway::CreateApiKeyIn(
//       "sqlite:herald.db", "test", herald::gateway::auth::ScopeSet::All());
#ifndef HERALD_GATEWAY_SCHEMA_H_
#define HERALD_GATEWAY_SCHEMA_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "database/database.h"
#include "gateway/auth/scopes.h"

namespace herald {
namespace gateway {

absl::Status MigrateGatewayDatabase(db::Database& db);

// Opens the gateway database `db_url`, migrates it, creates an API key
// (gateway/auth/api_keys.h CreateApiKey) and returns its secret.
absl::StatusOr<std::string> CreateApiKeyIn(absl::string_view db_url,
                                           absl::string_view name,
                                           auth::ScopeSet scopes);

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_SCHEMA_H_
