#include "database/delete_in_slices.h"

namespace herald {
namespace db {

absl::StatusOr<int64_t> DeleteInSlices(Database& db,
                                       absl::string_view delete_sql,
                                       std::vector<Value> params,
                                       int64_t slice) {
  params.push_back(slice);
  int64_t deleted = 0;
  while (true) {
    absl::StatusOr<int64_t> n = db.TransactValue<int64_t>(
        [&](Transaction& tx) { return tx.Execute(delete_sql, params); });
    if (!n.ok()) return n.status();
    deleted += *n;
    if (*n < slice) return deleted;
  }
}

}  // namespace db
}  // namespace herald
