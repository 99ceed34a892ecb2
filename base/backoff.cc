#include "base/backoff.h"

#include <algorithm>
#include <cmath>

#include "absl/random/random.h"

namespace herald {

absl::Duration ExponentialBackoff(absl::Duration initial, absl::Duration max,
                                  double jitter, int n) {
  double base =
      absl::ToDoubleSeconds(initial) * std::pow(2.0, std::max(0, n - 1));
  base = std::min(base, absl::ToDoubleSeconds(max));
  if (jitter <= 0) return absl::Seconds(base);
  thread_local absl::BitGen gen;
  double factor = 1.0 + absl::Uniform(gen, -jitter, jitter);
  return absl::Seconds(std::max(0.0, base * factor));
}

}  // namespace herald
