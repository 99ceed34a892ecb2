#include "database/testing/helpers.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace herald {
namespace db {
namespace testing {

absl::Status TransactAsyncAndWait(
    Database& db, std::function<absl::Status(Transaction&)> body) {
  // Shared with `done`, which may outlive a wait that timed out.
  struct Outcome {
    absl::Notification done;
    absl::Status status;
  };
  auto outcome = std::make_shared<Outcome>();
  db.TransactAsync(std::move(body), [outcome](absl::Status status) {
    outcome->status = std::move(status);
    outcome->done.Notify();
  });
  if (!outcome->done.WaitForNotificationWithTimeout(absl::Seconds(60))) {
    return absl::DeadlineExceededError("TransactAsync never reported");
  }
  return outcome->status;
}

int64_t CountRows(Database& db, absl::string_view table) {
  auto rows = db.ReadValue<std::vector<Row>>([&](Transaction& tx) {
    return tx.Query(absl::StrCat("SELECT COUNT(*) FROM ", table));
  });
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() && !rows->empty() ? (*rows)[0].Int(0) : -1;
}

}  // namespace testing
}  // namespace db
}  // namespace herald
