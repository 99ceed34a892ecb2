#include "messaging/pipeline/unit.h"

#include <glog/logging.h>

#include "base/trace_context.h"

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

// Decodes `record` into `event`. One that does not decode is reported:
// false, with the reason in `*undecodable`.
bool DecodeInto(const Route& route, const rd_kafka_message_t* record,
                const Metadata& metadata, Message& event,
                const UndecodableCallback& report, absl::Status* undecodable) {
  absl::Status decoded = Decode(record, metadata, event, route.type_name);
  if (decoded.ok()) return true;
  Report(report, record, metadata, decoded);
  *undecodable = std::move(decoded);
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

bool RunRecord(const Route& route, const rd_kafka_message_t* record,
               Scratch& scratch, const UndecodableCallback& report,
               absl::Status* status, absl::Status* undecodable) {
  Metadata metadata = MetadataOf(record);
  Message* event = scratch.For(route);
  if (!DecodeInto(route, record, metadata, *event, report, undecodable)) {
    return false;
  }
  // What the handler sends and logs carries the record's trace.
  trace::Scope scope(MetadataAccess::Traceparent(metadata),
                     MetadataAccess::Tracestate(metadata));
  *status = route.handler(*event, metadata);
  return true;
}

void RunUnit(Unit& unit, Scratch& scratch, const UndecodableCallback& report) {
  unit.ClearOutcome();
  const Route& route = *unit.route;

  if (!route.batch_handler) {  // one record, no allocation
    Held* held = unit.records[0];
    if (held->dead_letter) {
      unit.dead_letter.push_back(held);
      return;
    }
    absl::Status undecodable;
    if (RunRecord(route, RecordOf(held), scratch, report, &unit.status,
                  &undecodable)) {
      unit.called.push_back(held);
    } else {
      unit.undecodable.emplace_back(held, std::move(undecodable));
    }
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
    const rd_kafka_message_t* record = RecordOf(held);
    Metadata meta = MetadataOf(record);
    std::unique_ptr<Message> event(route.prototype->New());
    absl::Status undecodable;
    if (!DecodeInto(route, record, meta, *event, report, &undecodable)) {
      unit.undecodable.emplace_back(held, std::move(undecodable));
      continue;
    }
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
