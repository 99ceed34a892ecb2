#include "messaging/pipeline/unit.h"

#include <glog/logging.h>

#include "base/trace_context.h"
#include "messaging/pipeline/record.h"

namespace herald {
namespace pipeline {
namespace {

using google::protobuf::Message;

rd_kafka_message_t* RecordOf(const Held* held) {
  return static_cast<rd_kafka_message_t*>(held->record);
}

void LogUndecodable(const UndecodableRecord& record) {
  LOG(ERROR) << "undecodable record " << record.topic << "/" << record.partition
             << "@" << record.offset << ": " << record.reason.message();
}

void Report(const UndecodableCallback& report, const rd_kafka_message_t* r,
            const Metadata& metadata, const absl::Status& reason) {
  UndecodableRecord bad;
  bad.topic = metadata.topic;
  bad.partition = r->partition;
  bad.offset = r->offset;
  bad.key = metadata.key;
  bad.value = absl::string_view(static_cast<const char*>(r->payload), r->len);
  bad.reason = reason;
  bad.metadata = &metadata;
  (report ? report : LogUndecodable)(bad);
}

// Decodes the record of `held` into `event`. One that does not decode is
// reported and noted in `unit`: false.
bool DecodeInto(Unit& unit, Held* held, const Metadata& metadata,
                Message& event, const UndecodableCallback& report) {
  const rd_kafka_message_t* record = RecordOf(held);
  absl::Status decoded = Decode(record, metadata, event);
  if (decoded.ok()) return true;
  Report(report, record, metadata, decoded);
  unit.undecodable.emplace_back(held, std::move(decoded));
  return false;
}

}  // namespace

Message* Scratch::For(const Route& route) {
  if (messages_.size() <= static_cast<size_t>(route.index)) {
    messages_.resize(route.index + 1);
  }
  std::unique_ptr<Message>& message = messages_[route.index];
  if (message == nullptr) message.reset(route.prototype->New());
  return message.get();
}

void RunUnit(Unit& unit, Scratch& scratch, const UndecodableCallback& report) {
  unit.called.clear();
  unit.undecodable.clear();
  unit.dead_letter.clear();
  unit.status = absl::OkStatus();
  const Route& route = *unit.route;

  if (!route.batch_handler) {  // the hot path: one record, no allocation
    Held* held = unit.records[0];
    if (held->dead_letter) {
      unit.dead_letter.push_back(held);
      return;
    }
    Metadata metadata = MetadataOf(RecordOf(held));
    Message* event = scratch.For(route);
    if (!DecodeInto(unit, held, metadata, *event, report)) return;
    unit.called.push_back(held);
    // What the handler sends and logs carries the record's trace.
    trace::Scope scope(metadata.Header(trace::kTraceparent),
                       metadata.Header(trace::kTracestate));
    unit.status = route.handler(*event, metadata);
    return;
  }

  std::vector<Metadata> metadata;
  std::vector<std::unique_ptr<Message>> events;
  metadata.reserve(unit.records.size());
  events.reserve(unit.records.size());
  for (Held* held : unit.records) {
    if (held->dead_letter) {
      unit.dead_letter.push_back(held);
      continue;
    }
    Metadata meta = MetadataOf(RecordOf(held));
    std::unique_ptr<Message> event(route.prototype->New());
    if (!DecodeInto(unit, held, meta, *event, report)) continue;
    unit.called.push_back(held);
    metadata.push_back(meta);
    events.push_back(std::move(event));
  }
  if (unit.called.empty()) return;
  std::vector<Received<Message>> received;
  received.reserve(unit.called.size());
  for (size_t i = 0; i < unit.called.size(); ++i) {
    received.push_back({events[i].get(), &metadata[i]});
  }
  unit.status = route.batch_handler(received);
}

}  // namespace pipeline
}  // namespace herald
