#include "gateway/schema.h"

#include "database/migrations.h"
#include "gateway/auth/api_keys.h"
#include "gateway/store.h"
#include "messaging/outbox/outbox_store.h"

namespace herald {
namespace gateway {

absl::Status MigrateGatewayDatabase(db::Database& db) {
  absl::Status s = db::Migrate(db, "outbox", outbox::OutboxMigrations());
  if (!s.ok()) return s;
  return db::Migrate(db, "gateway", Store::Migrations());
}

absl::StatusOr<std::string> CreateApiKeyIn(absl::string_view db_url,
                                           absl::string_view name,
                                           auth::ScopeSet scopes) {
  absl::StatusOr<std::unique_ptr<db::Database>> db = db::Database::Open(db_url);
  if (!db.ok()) return db.status();
  absl::Status s = MigrateGatewayDatabase(**db);
  if (!s.ok()) return s;
  return auth::CreateApiKey(**db, name, scopes);
}

}  // namespace gateway
}  // namespace herald
