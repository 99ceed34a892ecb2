#include "messaging/contract.h"

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "contracts/v1/options.pb.h"

namespace herald {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

absl::StatusOr<Contract> ReadContract(const Descriptor& type) {
  const auto& options = type.options();
  Contract contract;
  contract.type = type.full_name();
  contract.topic = options.GetExtension(contracts::v1::topic);
  if (contract.topic.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(type.full_name(),
                     " is not a Herald contract: it declares no "
                     "(herald.contracts.v1.topic) option"));
  }
  const std::string& key_name =
      options.GetExtension(contracts::v1::partition_key);
  if (key_name.empty()) return contract;
  const FieldDescriptor* field = type.FindFieldByName(key_name);
  if (field == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(type.full_name(), " names partition key '", key_name,
                     "', which is not one of its fields"));
  }
  if (field->is_repeated() ||
      field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return absl::FailedPreconditionError(
        absl::StrCat(type.full_name(), " partition key '", key_name,
                     "' must be a singular scalar field"));
  }
  contract.key_field = field;
  contract.key_in_encoding =
      field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
      field->default_value_string().empty();
  return contract;
}

}  // namespace

absl::StatusOr<const Contract*> ContractOf(const Descriptor& type) {
  thread_local const Descriptor* last_type = nullptr;
  thread_local absl::StatusOr<const Contract*> last_contract;
  if (&type == last_type) return last_contract;
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache ABSL_GUARDED_BY(mu) =
      new absl::flat_hash_map<const Descriptor*,
                              std::unique_ptr<absl::StatusOr<Contract>>>();
  {
    absl::ReaderMutexLock lock(&mu);
    auto it = cache->find(&type);
    if (it != cache->end()) {
      last_type = &type;
      last_contract = it->second->ok()
                          ? absl::StatusOr<const Contract*>(&**it->second)
                          : it->second->status();
      return last_contract;
    }
  }
  absl::MutexLock lock(&mu);
  auto& entry = (*cache)[&type];
  if (entry == nullptr) {
    entry = std::make_unique<absl::StatusOr<Contract>>(ReadContract(type));
  }
  last_type = &type;
  last_contract =
      entry->ok() ? absl::StatusOr<const Contract*>(&**entry) : entry->status();
  return last_contract;
}

absl::string_view KeyFieldView(const google::protobuf::Message& event,
                               const FieldDescriptor& field,
                               std::string* scratch,
                               const google::protobuf::Reflection* reflection) {
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    if (reflection == nullptr) reflection = event.GetReflection();
    return reflection->GetStringReference(event, &field, scratch);
  }
  *scratch = KeyFieldValue(event, field);
  return *scratch;
}

std::string KeyFieldValue(const google::protobuf::Message& event,
                          const FieldDescriptor& field) {
  const auto* reflection = event.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return reflection->GetString(event, &field);
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(reflection->GetInt32(event, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(reflection->GetInt64(event, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(reflection->GetUInt32(event, &field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(reflection->GetUInt64(event, &field));
    case FieldDescriptor::CPPTYPE_BOOL:
      return reflection->GetBool(event, &field) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return reflection->GetEnum(event, &field)->name();
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(reflection->GetDouble(event, &field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(reflection->GetFloat(event, &field));
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

namespace {

// Reads a base-128 varint at `*p` (before `end`), moving `*p` past it.
bool ReadVarint(const char** p, const char* end, uint64_t* out) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(*(*p)++);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *out = value;
      return true;
    }
  }
  return false;
}

}  // namespace

bool KeyFieldInEncoding(absl::string_view encoded, int field_number,
                        absl::string_view* key) {
  const uint64_t number = static_cast<uint64_t>(field_number);
  // The usual case, first: the key is the first field written, with a
  // one-byte tag and a one-byte length.
  if (encoded.size() >= 2 && number < 16 &&
      static_cast<uint8_t>(encoded[0]) == ((number << 3) | 2) &&
      static_cast<uint8_t>(encoded[1]) < 0x80 &&
      static_cast<uint8_t>(encoded[1]) <= encoded.size() - 2) {
    *key = encoded.substr(2, static_cast<uint8_t>(encoded[1]));
    return true;
  }
  const char* p = encoded.data();
  const char* end = p + encoded.size();
  // Fields in the order written (a generated message writes each field it
  // holds once, by number, then the unknown ones): the first one with the
  // key's number and the length-delimited wire type is the key.
  while (p < end) {
    uint64_t tag, skip;
    if (!ReadVarint(&p, end, &tag)) return false;
    switch (tag & 7) {
      case 0:  // varint
        if (!ReadVarint(&p, end, &skip)) return false;
        break;
      case 1:  // 64-bit
        if (end - p < 8) return false;
        p += 8;
        break;
      case 5:  // 32-bit
        if (end - p < 4) return false;
        p += 4;
        break;
      case 2:  // length-delimited
        if (!ReadVarint(&p, end, &skip) ||
            skip > static_cast<uint64_t>(end - p)) {
          return false;
        }
        if ((tag >> 3) == number) {
          *key = absl::string_view(p, skip);
          return true;
        }
        p += skip;
        break;
      default:  // groups
        return false;
    }
  }
  *key = absl::string_view();  // left out: empty
  return true;
}

absl::StatusOr<std::string> PartitionKeyOf(
    const google::protobuf::Message& event) {
  absl::StatusOr<const Contract*> contract = ContractOf(*event.GetDescriptor());
  if (!contract.ok()) return contract.status();
  if ((*contract)->key_field == nullptr) return std::string();
  return KeyFieldValue(event, *(*contract)->key_field);
}

}  // namespace herald
