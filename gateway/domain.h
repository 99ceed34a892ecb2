// File: gateway/domain.h
//
// The gateway's domain, free of HTTP: what it keeps (payments, users) and
// what it is asked to do (the commands that gateway/store.h carries out).
// The HTTP layer parses requests into commands (gateway/requests.h) and
// turns the store's outcomes into answers (gateway/http_answers.h).
//
// Example:
//
//   herald::gateway::CreatePayment command;
//   command.user_id = "user_1";
//   command.amount = 1999;  // minor units: 19.99
//   command.currency = "EUR";
//   store.CreatePayment(std::move(command), std::nullopt, done);
#ifndef HERALD_GATEWAY_DOMAIN_H_
#define HERALD_GATEWAY_DOMAIN_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace herald {
namespace gateway {

// Payment
//
// A payment as the gateway keeps it. Times have millisecond precision.
struct Payment {
  std::string payment_id;  // "pay_" + 32 hex digits, later ids sort later
  std::string user_id;
  int64_t amount = 0;    // minor units, > 0
  std::string currency;  // ISO 4217, upper case
  std::string status;    // pending | succeeded | failed | canceled
  std::string reason;    // why the status last changed; may be empty
  absl::Time created_at;
  absl::Time updated_at;
};

// User
//
// A registered user. One user per email address.
struct User {
  std::string user_id;  // "user_" + 32 hex digits
  std::string email;    // lower-cased
  std::string name;
  absl::Time registered_at;
};

// CreatePayment
//
// Creates a pending payment (event PaymentCreated).
struct CreatePayment {
  std::string user_id;
  int64_t amount = 0;    // minor units, > 0
  std::string currency;  // ISO 4217, upper case
};

// UpdatePaymentStatus
//
// Moves a pending payment to succeeded, failed or canceled (event
// PaymentUpdated); any other transition is refused.
struct UpdatePaymentStatus {
  std::string status;  // succeeded | failed | canceled
  std::string reason;
};

// RegisterUser
//
// Registers a user under an email address not registered yet (event
// UserRegistered).
struct RegisterUser {
  std::string email;  // lower-cased
  std::string name;
};

// SendEmail
//
// Asks for an email (event EmailNotification): subject and body, or a
// template with its variables.
struct SendEmail {
  std::string to;
  std::string subject;
  std::string body;
  std::optional<std::string> template_name;
  std::map<std::string, std::string> variables;
};

// PublishRealtimeMessage
//
// Publishes a message to the browsers subscribed to a realtime channel
// (event RealtimeMessage, broadcast by the realtime worker).
struct PublishRealtimeMessage {
  std::string channel;    // messaging/realtime/channel.h
  std::string event;      // the event name clients see, e.g. "order.shipped"
  std::string data_json;  // one JSON value
};

// IssueRealtimeToken
//
// Asks for a short-lived token that opens the realtime channel
// `user.<user_id>` (messaging/realtime/token.h). Nothing is written.
struct IssueRealtimeToken {
  std::string user_id;
};

}  // namespace gateway
}  // namespace herald

#endif  // HERALD_GATEWAY_DOMAIN_H_
