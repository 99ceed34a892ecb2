#include "database/internal/ignored_failure.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace herald {
namespace db {
namespace db_internal {

absl::Status IgnoredFailure(const absl::Status& first) {
  absl::Status status(first.code(),
                      absl::StrCat("a statement failed and the transaction "
                                   "was rolled back: ",
                                   first.message()));
  first.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    status.SetPayload(url, payload);
  });
  return status;
}

}  // namespace db_internal
}  // namespace db
}  // namespace herald
