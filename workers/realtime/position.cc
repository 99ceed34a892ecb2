#include "workers/realtime/position.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace herald {
namespace workers {

std::string EncodePosition(const PartitionOffsets& position) {
  std::string out;
  for (const auto& [topic, offsets] : position) {
    if (!out.empty()) out += ',';
    absl::StrAppend(&out, topic, ":", absl::StrJoin(offsets, "."));
  }
  return out;
}

absl::StatusOr<PartitionOffsets> DecodePosition(absl::string_view token) {
  PartitionOffsets out;
  if (token.size() > 4096) {
    return absl::InvalidArgumentError("resume id too long");
  }
  for (absl::string_view part : absl::StrSplit(token, ',', absl::SkipEmpty())) {
    const size_t colon = part.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError("malformed resume id");
    }
    std::vector<int64_t>& offsets = out[std::string(part.substr(0, colon))];
    for (absl::string_view number :
         absl::StrSplit(part.substr(colon + 1), '.')) {
      int64_t offset;
      if (!absl::SimpleAtoi(number, &offset) || offset < 0) {
        return absl::InvalidArgumentError("malformed resume id");
      }
      offsets.push_back(offset);
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("empty resume id");
  return out;
}

}  // namespace workers
}  // namespace herald
