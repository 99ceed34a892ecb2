#include "base/dependency_outage.h"

#include <gtest/gtest.h>

#include "absl/status/statusor.h"

namespace herald {
namespace {

TEST(DependencyOutageTest, MarksWithoutChangingCodeOrMessage) {
  absl::Status down =
      DependencyOutage(absl::UnavailableError("PostgreSQL unreachable"));
  EXPECT_TRUE(IsDependencyOutage(down));
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(down.message(), "PostgreSQL unreachable");
}

TEST(DependencyOutageTest, TravelsThroughCopiesAndStatusOr) {
  absl::StatusOr<int> result = DependencyOutage(absl::InternalError("disk"));
  absl::Status copy = result.status();
  EXPECT_TRUE(IsDependencyOutage(copy));
}

TEST(DependencyOutageTest, PlainErrorsAndOkAreNotOutages) {
  EXPECT_FALSE(IsDependencyOutage(absl::UnavailableError("no contact yet")));
  EXPECT_FALSE(IsDependencyOutage(DependencyOutage(absl::OkStatus())));
  EXPECT_TRUE(DependencyOutage(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace herald
