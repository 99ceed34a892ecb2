// The channel rule shared by the gateway, heraldctl and the realtime worker.
#include "messaging/realtime/channel.h"

#include <gtest/gtest.h>

#include <string>

namespace herald {
namespace realtime {
namespace {

TEST(ChannelTest, AcceptsPublicAndUserChannels) {
  EXPECT_TRUE(CheckChannel("public.news").ok());
  EXPECT_TRUE(CheckChannel("public.orders.eu-1:x_y").ok());
  EXPECT_TRUE(CheckChannel("user.user_5f2c").ok());
  EXPECT_TRUE(CheckChannel("user." + std::string(195, 'a')).ok());  // 200
}

TEST(ChannelTest, RefusesOtherNames) {
  for (const char* bad :
       {"", "news", "private.x", "public.", "user.", "public.a b", "public.a/b",
        "public.é", "public.a\nb", "PUBLIC.x"}) {
    EXPECT_EQ(CheckChannel(bad).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_FALSE(CheckChannel("user." + std::string(196, 'a')).ok());  // 201
}

TEST(ChannelTest, EventNamesCannotBreakTheirSseLine) {
  for (const char* good : {"note", "payment.created", "a:b_c-d.e", "X"}) {
    EXPECT_TRUE(CheckEventName(good).ok()) << good;
  }
  for (const std::string& bad :
       {std::string(""), std::string("a\nb"), std::string("a\rb"),
        std::string("note\ndata: {}\n\nevent: forged"), std::string("a b"),
        std::string(101, 'e'), std::string("caf\xc3\xa9")}) {
    EXPECT_EQ(CheckEventName(bad).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_TRUE(CheckEventName(std::string(100, 'e')).ok());
}

TEST(ChannelTest, UserOfChannel) {
  EXPECT_EQ(UserOfChannel("user.u42"), "u42");
  EXPECT_EQ(UserOfChannel("public.users"), "");
}

}  // namespace
}  // namespace realtime
}  // namespace herald
