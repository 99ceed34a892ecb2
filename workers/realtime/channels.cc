#include "workers/realtime/channels.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/realtime.pb.h"
#include "contracts/v1/users.pb.h"
#include "messaging/contract.h"
#include "messaging/realtime/channel.h"
#include "web/json.h"

namespace herald {
namespace workers {
namespace {

using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;
using contracts::v1::RealtimeMessage;
using contracts::v1::UserRegistered;
using realtime::CheckChannel;

template <typename T>
const std::string& TopicOf() {
  static const std::string* topic =
      new std::string((*ContractOf(*T::descriptor()))->topic);
  return *topic;
}

std::string Rfc3339(const google::protobuf::Timestamp& t) {
  return absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E3SZ",
      absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()),
      absl::UTCTimeZone());
}

std::string Json(const json::object& object) { return json::serialize(object); }

void Payments(const TailRecord& record, std::vector<Delivery>* out) {
  PaymentCreated p;
  if (!p.ParseFromString(record.value)) return;
  json::object common{{"payment_id", p.payment_id()},
                      {"amount", p.amount()},
                      {"currency", p.currency()},
                      {"created_at", Rfc3339(p.created_at())}};
  out->push_back({"public.payments", "payment.created", Json(common)});
  if (CheckChannel(absl::StrCat("user.", p.user_id())).ok()) {
    common["user_id"] = p.user_id();
    out->push_back(
        {absl::StrCat("user.", p.user_id()), "payment.created", Json(common)});
  }
}

void Updates(const TailRecord& record, std::vector<Delivery>* out) {
  PaymentUpdated u;
  if (!u.ParseFromString(record.value)) return;
  json::object common{{"payment_id", u.payment_id()},
                      {"old_status", u.old_status()},
                      {"new_status", u.new_status()},
                      {"updated_at", Rfc3339(u.updated_at())}};
  out->push_back({"public.payments", "payment.updated", Json(common)});
  if (CheckChannel(absl::StrCat("user.", u.user_id())).ok()) {
    common["user_id"] = u.user_id();
    common["reason"] = u.reason();
    out->push_back(
        {absl::StrCat("user.", u.user_id()), "payment.updated", Json(common)});
  }
}

void Users(const TailRecord& record, std::vector<Delivery>* out) {
  UserRegistered u;
  if (!u.ParseFromString(record.value)) return;
  out->push_back({"public.users", "user.registered",
                  Json({{"registered_at", Rfc3339(u.registered_at())}})});
}

void Messages(const TailRecord& record, std::vector<Delivery>* out) {
  RealtimeMessage m;
  // A producer other than the gateway or heraldctl may send anything: a
  // bad channel, or an event name with a line break (it would forge SSE
  // events), is dropped.
  if (!m.ParseFromString(record.value) || !CheckChannel(m.channel()).ok() ||
      (!m.event().empty() && !realtime::CheckEventName(m.event()).ok())) {
    return;
  }
  json::error_code ec;
  json::value data = json::parse(m.data_json(), ec);
  if (ec) return;  // not JSON: clients could not parse it
  out->push_back({m.channel(), m.event().empty() ? "message" : m.event(),
                  json::serialize(data)});
}

}  // namespace

std::vector<std::string> RealtimeTopics() {
  return {TopicOf<RealtimeMessage>(), TopicOf<PaymentCreated>(),
          TopicOf<PaymentUpdated>(), TopicOf<UserRegistered>()};
}

std::vector<Delivery> DeliveriesOf(const TailRecord& record) {
  std::vector<Delivery> out;
  if (record.topic == TopicOf<RealtimeMessage>()) {
    Messages(record, &out);
  } else if (record.topic == TopicOf<PaymentCreated>()) {
    Payments(record, &out);
  } else if (record.topic == TopicOf<PaymentUpdated>()) {
    Updates(record, &out);
  } else if (record.topic == TopicOf<UserRegistered>()) {
    Users(record, &out);
  }
  return out;
}

}  // namespace workers
}  // namespace herald
