// adapters/http/http_url.h: base URLs through Boost.URL.
#include <string>

#include <gtest/gtest.h>

#include "adapters/http/http_url.h"

namespace orch::http {
namespace {

TEST(BaseUrlTest, SchemesPortsAndPrefixes) {
  std::string error;
  auto u = parse_base_url("https://api.github.com", &error);
  ASSERT_TRUE(u) << error;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.github.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->prefix, "");
  EXPECT_EQ(u->authority(false), "api.github.com");
  EXPECT_EQ(u->authority(true), "api.github.com:443");

  u = parse_base_url("http://gateway:60000/openai/v1/", &error);
  ASSERT_TRUE(u) << error;
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, 60000);
  EXPECT_EQ(u->prefix, "/openai/v1");
  EXPECT_EQ(u->authority(false), "gateway:60000");

  u = parse_base_url("https://[::1]:8443", &error);
  ASSERT_TRUE(u) << error;
  EXPECT_TRUE(u->ipv6 && u->ip_literal);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->authority(false), "[::1]:8443");

  u = parse_base_url("http://127.0.0.1", &error);
  ASSERT_TRUE(u) << error;
  EXPECT_TRUE(u->ip_literal);
  EXPECT_FALSE(u->ipv6);
}

TEST(BaseUrlTest, RefusedWithoutEchoingTheUrl) {
  std::string error;
  for (const char* bad :
       {"ftp://example.com", "not a url", "http://", "http:///path", "http://h:0", "http://h:65536",
        "http://h:99999", "http://h:", "http://h/p?q=1", "http://h/p#f", "http://user:s3cret@h",
        "http://h%41st/", "https://example.com/a b"}) {
    error.clear();
    EXPECT_FALSE(parse_base_url(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(error.find("s3cret"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace orch::http
