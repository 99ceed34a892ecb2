#include "base/redact.h"

#include "gtest/gtest.h"

namespace herald {
namespace {

TEST(IsSecretNameTest, NamesThatHoldSecrets) {
  for (const char* name :
       {"sasl.password", "ssl.key.password", "ssl.key.pem",
        "sasl.oauthbearer.client.secret", "ssl.keystore.password",
        "kafka.properties.sasl.password", "PASSWORD", "sslpassword",
        "Api_Key"}) {
    EXPECT_TRUE(IsSecretName(name)) << name;
  }
  for (const char* name : {"sasl.username", "bootstrap.servers", "db",
                           "smtp_url", "client.id", "security.protocol"}) {
    EXPECT_FALSE(IsSecretName(name)) << name;
  }
}

TEST(RedactUrlTest, MasksThePasswordOfAUrlAndKeepsTheRest) {
  EXPECT_EQ(RedactUrl("postgresql://herald:s3cret@db.internal:5432/herald"),
            "postgresql://herald:***@db.internal:5432/herald");
  EXPECT_EQ(RedactUrl("smtp://mailer:hunter2@mail.example.com:587"),
            "smtp://mailer:***@mail.example.com:587");
  EXPECT_EQ(RedactUrl("smtps://u:p%40ss@mail:465/"), "smtps://u:***@mail:465/");
}

TEST(RedactUrlTest, KeepsUrlsWithoutPasswords) {
  for (const char* url :
       {"postgresql://herald@db/herald?pool_size=8", "sqlite:herald.db",
        "smtp://mail:25", "kafka-1:9092,kafka-2:9092", "",
        "postgresql://db/herald?user=a@b.c"}) {
    EXPECT_EQ(RedactUrl(url), url);
  }
}

TEST(RedactUrlTest, AnAtSignInThePasswordStaysHidden) {
  EXPECT_EQ(RedactUrl("postgresql://u:p@ss@db/h"), "postgresql://u:***@db/h");
}

TEST(RedactUrlTest, MasksSecretParameters) {
  EXPECT_EQ(RedactUrl("postgresql://db/h?password=s3cret&pool_size=4"),
            "postgresql://db/h?password=***&pool_size=4");
  EXPECT_EQ(RedactUrl("postgresql://db/h?sslmode=require&sslpassword=x"),
            "postgresql://db/h?sslmode=require&sslpassword=***");
  EXPECT_EQ(RedactUrl("host=db password=s3cret user=herald"),
            "host=db password=*** user=herald");
  EXPECT_EQ(RedactUrl("host=db password='s3 cr\\'et' user=herald"),
            "host=db password=*** user=herald");
}

TEST(RedactUrlTest, FindsUrlsInsideMessages) {
  EXPECT_EQ(RedactUrl("invalid URI: \"postgresql://u:s3cret@[::1/db\""),
            "invalid URI: \"postgresql://u:***@[::1/db\"");
  EXPECT_EQ(RedactUrl("a smtp://u:one@h and smtp://v:two@k"),
            "a smtp://u:***@h and smtp://v:***@k");
}

TEST(RedactValueTest, SecretNamesHideTheWholeValue) {
  EXPECT_EQ(RedactValue("kafka.properties.sasl.password", "s3cret"), "***");
  EXPECT_EQ(RedactValue("db", "postgresql://u:s3cret@h/d"),
            "postgresql://u:***@h/d");
  EXPECT_EQ(RedactValue("http_port", "80a"), "80a");
}

TEST(SecretsInTest, PasswordsAsWrittenAndDecoded) {
  EXPECT_EQ(SecretsIn("postgresql://u:p%40ss@h/d?password=two"),
            (std::vector<std::string>{"p%40ss", "p@ss", "two"}));
  EXPECT_TRUE(SecretsIn("postgresql://u@h/d").empty());
}

TEST(RedactTextTest, TakesOutSecretsInAnyForm) {
  const std::string url = "postgresql://u:p%40ss@h/d";
  EXPECT_EQ(
      RedactText("password for p@ss rejected; URI " + url, SecretsIn(url)),
      "password for *** rejected; URI postgresql://u:***@h/d");
  EXPECT_EQ(
      RedactText("Invalid value \"hunter2\" for sasl.password", {"hunter2"}),
      "Invalid value \"***\" for sasl.password");
}

}  // namespace
}  // namespace herald
