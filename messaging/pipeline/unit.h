// File: messaging/pipeline/unit.h
//
// A unit is what a handler gets in one call: one record, or a batch. Running
// it decodes each record as its route's type, reports the ones that do not
// decode, hands the rest to the handler and keeps what the handler returned.
// It runs on whichever thread the executor gives it and touches nothing
// shared: what becomes of its records is decided back on the polling thread.
//
// Example:
//
//   Unit unit;
//   unit.route = &route;
//   unit.records = {held};
//   RunUnit(unit, scratch, report_undecodable);
//   retrier.Decide(unit.status, unit.called, now, &decisions);
#ifndef HERALD_MESSAGING_PIPELINE_UNIT_H_
#define HERALD_MESSAGING_PIPELINE_UNIT_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "messaging/handler.h"
#include "messaging/pipeline/dispatcher.h"
#include "messaging/pipeline/record.h"

namespace herald {
namespace pipeline {

// A topic's handler, as subscribed.
struct Route {
  int index = 0;
  std::string topic;
  std::unique_ptr<google::protobuf::Message> prototype;
  std::string type_name;                       // prototype's full name
  Handler<google::protobuf::Message> handler;  // single records
  BatchHandler<google::protobuf::Message> batch_handler;  // or batches
  BatchOptions batch;
};

// Per handler thread: a reused message per single-record route.
class Scratch {
 public:
  google::protobuf::Message* For(const Route& route);

 private:
  std::vector<std::unique_ptr<google::protobuf::Message>> messages_;
};

struct Unit {
  const Route* route = nullptr;
  std::vector<Held*> records;  // each holds an rd_kafka_message_t
  // Filled by RunUnit():
  std::vector<Held*> called;  // handed to the handler, in order
  std::vector<std::pair<Held*, absl::Status>> undecodable;
  std::vector<Held*> dead_letter;  // already marked for the dead-letter topic
  absl::Status status;  // the handler's answer; OK when it was not called

  // Empties what RunUnit() fills (a unit is reused).
  void ClearOutcome() {
    called.clear();
    undecodable.clear();
    dead_letter.clear();
    status = absl::OkStatus();
  }
};

// RunUnit()
//
// Runs `unit`. Records already marked for the dead-letter topic
// (Held::dead_letter) are neither decoded nor handed over.
void RunUnit(Unit& unit, Scratch& scratch, const UndecodableCallback& report);

// RunRecord()
//
// Runs single-record `route` on `record` (what RunUnit does for a unit of
// one): true when the handler was called, with its answer in `*status`;
// false when the record does not decode (reported, the reason in
// `*undecodable`).
bool RunRecord(const Route& route, const rd_kafka_message_t* record,
               Scratch& scratch, const UndecodableCallback& report,
               absl::Status* status, absl::Status* undecodable);

}  // namespace pipeline
}  // namespace herald

#endif  // HERALD_MESSAGING_PIPELINE_UNIT_H_
