// Contracts declare topic and key in the .proto; the CloudEvents helpers.
#include "messaging/contract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "contracts/v1/notifications.pb.h"
#include "contracts/v1/options.pb.h"
#include "contracts/v1/payments.pb.h"
#include "contracts/v1/users.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "messaging/cloudevents.h"
#include "messaging/envelope.h"

namespace herald {
namespace {

using contracts::v1::EmailNotification;
using contracts::v1::PaymentCreated;
using contracts::v1::PaymentUpdated;
using contracts::v1::UserRegistered;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(ContractTest, TopicsAndKeysComeFromTheProto) {
  struct Case {
    const google::protobuf::Descriptor* type;
    std::string topic, key;
  };
  for (const Case& c : std::vector<Case>{
           {PaymentCreated::descriptor(), "payment.created", "payment_id"},
           {PaymentUpdated::descriptor(), "payment.updated", "payment_id"},
           {UserRegistered::descriptor(), "user.registered", "user_id"},
           {EmailNotification::descriptor(), "notification.email", "to"},
       }) {
    absl::StatusOr<const Contract*> contract = ContractOf(*c.type);
    ASSERT_TRUE(contract.ok()) << contract.status();
    EXPECT_EQ((*contract)->topic, c.topic);
    ASSERT_NE((*contract)->key_field, nullptr);
    EXPECT_EQ((*contract)->key_field->name(), c.key);
    EXPECT_EQ((*contract)->type, c.type->full_name());
  }
}

TEST(ContractTest, PartitionKeyIsTheKeyFieldValue) {
  EmailNotification email;
  email.set_to("ada@example.com");
  EXPECT_EQ(*PartitionKeyOf(email), "ada@example.com");
  PaymentUpdated updated;
  updated.set_payment_id("pay_9");
  EXPECT_EQ(*PartitionKeyOf(updated), "pay_9");
}

TEST(ContractTest, MessageWithoutTopicIsNotAContract) {
  absl::StatusOr<const Contract*> contract =
      ContractOf(*google::protobuf::Timestamp::descriptor());
  ASSERT_FALSE(contract.ok());
  EXPECT_EQ(contract.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(contract.status().message(),
              HasSubstr("google.protobuf.Timestamp is not a Herald contract"));
}

TEST(EnvelopeTest, EncodesValueKeyAndHeaders) {
  UserRegistered user;
  user.set_user_id("u1");
  user.set_email("ada@example.com");
  absl::StatusOr<OutgoingMessage> out = EncodeEvent(user, "gateway");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->topic, "user.registered");
  EXPECT_EQ(out->key, "u1");
  EXPECT_EQ(out->value, user.SerializeAsString());
  EXPECT_EQ(*FindHeader(out->headers, ce::kId), out->event_id);
  EXPECT_EQ(*FindHeader(out->headers, ce::kType),
            "herald.contracts.v1.UserRegistered");
  EXPECT_EQ(*FindHeader(out->headers, ce::kSource), "gateway");
  EXPECT_EQ(*FindHeader(out->headers, ce::kSpecVersion), "1.0");
  EXPECT_EQ(*FindHeader(out->headers, ce::kContentType),
            "application/protobuf");
  // A plain message needs an explicit topic.
  google::protobuf::Timestamp ts;
  EXPECT_FALSE(EncodeEvent(ts, "x").ok());
  absl::StatusOr<OutgoingMessage> explicit_topic = EncodeEvent(ts, "x", "t");
  ASSERT_TRUE(explicit_topic.ok());
  EXPECT_EQ(explicit_topic->topic, "t");
  EXPECT_EQ(explicit_topic->key, "");
}

TEST(CloudEventsTest, EventIdsAreDistinctVersion4Uuids) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewEventId();
    EXPECT_THAT(id, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]"
                                 "[0-9a-f]{3}-[0-9a-f]{12}"));
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(ContractTest, KeyFieldViewReadsStringsInPlaceAndFormatsTheRest) {
  PaymentCreated p;
  p.set_payment_id("pay_42");
  p.set_amount(1999);
  std::string scratch;
  const auto* id = PaymentCreated::descriptor()->FindFieldByName("payment_id");
  absl::string_view key = KeyFieldView(p, *id, &scratch);
  EXPECT_EQ(key, "pay_42");
  EXPECT_EQ(key.data(), p.payment_id().data());  // no copy
  const auto* amount = PaymentCreated::descriptor()->FindFieldByName("amount");
  EXPECT_EQ(KeyFieldView(p, *amount, &scratch), "1999");
  EXPECT_EQ(KeyFieldView(p, *amount, &scratch), KeyFieldValue(p, *amount));
}

// The producer reads string keys from the encoding it just made: the same
// text as reflection, for a key at any position, empty or not, between
// unknown fields of every wire type.
TEST(ContractTest, KeyFieldInEncodingAgreesWithReflection) {
  PaymentCreated p;
  p.set_amount(-5);  // a ten-byte varint before `currency`
  p.mutable_created_at()->set_seconds(1764000000);
  google::protobuf::UnknownFieldSet* unknown =
      p.GetReflection()->MutableUnknownFields(&p);
  unknown->AddVarint(90, 7);
  unknown->AddFixed32(91, 7);
  unknown->AddFixed64(92, 7);
  unknown->AddLengthDelimited(93, "not a key");
  for (const char* name : {"payment_id", "user_id", "currency"}) {
    const auto* field = PaymentCreated::descriptor()->FindFieldByName(name);
    for (const std::string& value :
         std::vector<std::string>{"", "pay_42", std::string(300, 'k')}) {
      p.GetReflection()->SetString(&p, field, value);
      const std::string encoded = p.SerializeAsString();
      absl::string_view key = "unset";
      ASSERT_TRUE(KeyFieldInEncoding(encoded, field->number(), &key)) << name;
      EXPECT_EQ(key, KeyFieldValue(p, *field)) << name << " = " << value;
      EXPECT_EQ(key, value);
    }
  }
  // An encoding it does not follow (a group; a cut one) says so.
  absl::string_view key = "unset";
  p.clear_payment_id();
  unknown->AddGroup(94);
  EXPECT_FALSE(KeyFieldInEncoding(p.SerializeAsString(), 1, &key));
  PaymentCreated only_id;
  only_id.set_payment_id("pay_42");
  std::string cut = only_id.SerializeAsString();
  cut.pop_back();
  EXPECT_FALSE(KeyFieldInEncoding(cut, 1, &key));
  EXPECT_EQ(key, "unset");
  // String keys without a default are read so; the others by reflection.
  EXPECT_TRUE((*ContractOf(*PaymentCreated::descriptor()))->key_in_encoding);
}

TEST(ContractTest, ThisThreadsLastLookupIsRememberedPerType) {
  // Alternating types must not return one type's contract for the other.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*ContractOf(*PaymentCreated::descriptor()))->topic,
              "payment.created");
    EXPECT_EQ((*ContractOf(*UserRegistered::descriptor()))->topic,
              "user.registered");
    EXPECT_FALSE(ContractOf(*google::protobuf::Timestamp::descriptor()).ok());
  }
}

TEST(CloudEventsTest, TimeRoundTripsThroughRfc3339) {
  absl::Time t = absl::FromUnixMillis(1764000000123);
  EXPECT_EQ(FormatEventTime(t), "2025-11-24T16:00:00.123Z");
  EXPECT_EQ(*ParseEventTime(FormatEventTime(t)), t);
  EXPECT_EQ(FormatEventTime(absl::FromUnixMillis(1764000001000)),
            "2025-11-24T16:00:01.000Z");
  EXPECT_EQ(*ParseEventTime("2025-11-24T17:00:00.123+01:00"), t);
  EXPECT_FALSE(ParseEventTime("yesterday").ok());
  // absl::ParseTime takes these whatever the format; a ce_time may not.
  EXPECT_FALSE(ParseEventTime("infinite-future").ok());
  EXPECT_FALSE(ParseEventTime("infinite-past").ok());
  EXPECT_FALSE(ParseEventTime("10000-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseEventTime("-2025-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseEventTime(" 2025-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseEventTime("2025-01-01T00:00:00Z ").ok());
  EXPECT_TRUE(ParseEventTime("0001-01-01T00:00:00Z").ok());
}

}  // namespace
}  // namespace herald
