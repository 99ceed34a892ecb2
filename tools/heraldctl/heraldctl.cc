#include "tools/heraldctl/heraldctl.h"

#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "contracts/v1/realtime.pb.h"
#include "google/protobuf/util/json_util.h"
#include "messaging/consumer.h"
#include "messaging/contract.h"
#include "messaging/contract_topics.h"
#include "messaging/dead_letter.h"
#include "messaging/realtime/channel.h"
#include "web/json.h"

namespace herald {
namespace ctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;

const std::vector<const Descriptor*>& Contracts() { return AllContracts(); }

absl::StatusOr<const Descriptor*> TypeNamed(absl::string_view name) {
  for (const Descriptor* d : Contracts()) {
    if (d->name() == name || d->full_name() == name) return d;
  }
  std::vector<std::string> known;
  for (const Descriptor* d : Contracts()) known.push_back(d->name());
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown event type '", name, "'; known: ", absl::StrJoin(known, ", ")));
}

absl::StatusOr<const Descriptor*> TypeOfTopic(absl::string_view topic) {
  absl::ConsumeSuffix(&topic, dlt::kTopicSuffix);
  for (const Descriptor* d : Contracts()) {
    absl::StatusOr<const Contract*> contract = ContractOf(*d);
    if (contract.ok() && (*contract)->topic == topic) return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no contract travels on topic '", topic, "'"));
}

std::string HeaderText(const Metadata& meta, const char* name) {
  std::optional<absl::string_view> v = meta.Header(name);
  return v.has_value() ? std::string(*v) : std::string();
}

// What the realtime worker would drop without a word: a RealtimeMessage
// with a bad channel or event name, or a payload that is not one JSON value.
absl::Status CheckRealtimeMessage(const contracts::v1::RealtimeMessage& m) {
  absl::Status channel = realtime::CheckChannel(m.channel());
  if (!channel.ok()) return channel;
  if (!m.event().empty()) {
    absl::Status event = realtime::CheckEventName(m.event());
    if (!event.ok()) return event;
  }
  json::error_code ec;
  json::parse(m.data_json(), ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataJson must hold one JSON value (e.g. \"{}\"): ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DeliveryReport> SendJson(const Config& config,
                                        absl::string_view type,
                                        absl::string_view json) {
  absl::StatusOr<const Descriptor*> descriptor = TypeNamed(type);
  if (!descriptor.ok()) return descriptor.status();
  std::unique_ptr<Message> event(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(*descriptor)
          ->New());
  auto parsed = google::protobuf::util::JsonStringToMessage(std::string(json),
                                                            event.get());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a valid ", (*descriptor)->name(),
                     " in JSON: ", std::string(parsed.message())));
  }
  if (const auto* message =
          dynamic_cast<const contracts::v1::RealtimeMessage*>(event.get())) {
    absl::Status valid = CheckRealtimeMessage(*message);
    if (!valid.ok()) return valid;
  }
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config);
  if (!producer.ok()) return producer.status();
  return (*producer)->SendMessage(*event, "").get();
}

absl::StatusOr<int> Tail(const Config& base, const TailOptions& options,
                         const std::function<void(const std::string&)>& print) {
  absl::StatusOr<const Descriptor*> descriptor = TypeOfTopic(options.topic);
  if (!descriptor.ok()) return descriptor.status();
  Config config = base;
  if (config.consumer.group_id.empty()) {
    config.consumer.group_id = absl::StrCat("heraldctl-", getpid());
  }
  config.consumer.auto_offset_reset =
      options.from_beginning ? OffsetReset::kEarliest : OffsetReset::kLatest;
  config.consumer.dead_letter = false;  // only reads
  absl::StatusOr<std::unique_ptr<Consumer>> consumer = Consumer::Create(config);
  if (!consumer.ok()) return consumer.status();
  Consumer* c = consumer->get();
  absl::Mutex mu;
  int printed = 0;
  auto emit = [&](const Metadata& meta, const std::string& body) {
    std::string line =
        absl::StrCat(meta.topic, "/", meta.partition, "@", meta.offset,
                     " key=", meta.key, " id=", meta.event_id, " ", body);
    if (absl::EndsWith(options.topic, dlt::kTopicSuffix)) {
      std::string partition = HeaderText(meta, dlt::kOriginalPartition);
      std::string offset = HeaderText(meta, dlt::kOriginalOffset);
      absl::StrAppend(&line, " | from ", HeaderText(meta, dlt::kOriginalTopic),
                      "/", DecodeBigEndian32(partition), "@",
                      DecodeBigEndian64(offset),
                      " group=", HeaderText(meta, dlt::kOriginalConsumerGroup),
                      " attempts=", HeaderText(meta, dlt::kAttempts),
                      " error=", HeaderText(meta, dlt::kExceptionMessage));
    }
    absl::MutexLock lock(&mu);
    print(line);
    if (++printed == options.count) c->Stop();
  };
  c->OnUndecodable([&](const UndecodableRecord& record) {
    emit(*record.metadata,
         absl::StrCat("<undecodable, ", record.value.size(),
                      " bytes: ", record.reason.message(), ">"));
  });
  absl::Status s = c->SubscribeMessage(
      options.topic,
      std::unique_ptr<Message>(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(*descriptor)
              ->New()),
      [&](const Message& event, const Metadata& meta) {
        std::string json;
        (void)google::protobuf::util::MessageToJsonString(event, &json);
        emit(meta, json);
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  std::thread timer;
  std::atomic<bool> done{false};
  if (options.timeout != absl::InfiniteDuration()) {
    timer = std::thread([&] {
      absl::Time end = absl::Now() + options.timeout;
      while (!done && absl::Now() < end) absl::SleepFor(absl::Milliseconds(20));
      c->Stop();
    });
  }
  s = c->Run();
  done = true;
  if (timer.joinable()) timer.join();
  if (!s.ok()) return s;
  absl::MutexLock lock(&mu);
  return printed;
}

}  // namespace ctl
}  // namespace herald
