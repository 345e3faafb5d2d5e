// adapters/http/http_proxy.h: NO_PROXY matching as curl does it, the proxy
// environment's precedence, and proxy URLs.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "adapters/http/http_proxy.h"

namespace orch::http {
namespace {

bool direct(const char* list, const char* host, std::uint16_t port = 443) {
  return no_proxy_matches(list, host, port);
}

TEST(NoProxyTest, AsteriskAloneMatchesEverything) {
  EXPECT_TRUE(direct("*", "api.slack.com"));
  EXPECT_TRUE(direct(" * ", "10.1.2.3"));
  EXPECT_TRUE(direct("*", "::1"));
  // Only as the whole list, as curl: inside a list it is a name like others.
  EXPECT_FALSE(direct("*,internal", "api.slack.com"));
  EXPECT_FALSE(direct("", "api.slack.com"));
}

TEST(NoProxyTest, DomainsMatchThemselvesAndWhatIsUnderThem) {
  EXPECT_TRUE(direct("example.com", "example.com"));
  EXPECT_TRUE(direct("example.com", "www.example.com"));
  EXPECT_TRUE(direct("example.com", "a.b.example.com"));
  EXPECT_TRUE(direct("Example.COM", "WWW.example.com"));
  EXPECT_FALSE(direct("example.com", "notexample.com"));
  EXPECT_FALSE(direct("example.com", "example.com.org"));
  EXPECT_FALSE(direct("www.example.com", "example.com"));
  // A leading dot, a trailing dot, "*." (an extension: curl reads it as a name).
  EXPECT_TRUE(direct(".example.com", "example.com"));
  EXPECT_TRUE(direct(".example.com", "api.example.com"));
  EXPECT_TRUE(direct("example.com.", "api.example.com"));
  EXPECT_TRUE(direct("example.com", "api.example.com."));
  EXPECT_TRUE(direct("*.example.com", "api.example.com"));
  EXPECT_FALSE(direct(".", "example.com"));
}

TEST(NoProxyTest, ListsAreCommaSeparatedWithBlanksAround) {
  const char* list = " localhost ,internal.corp,, .svc.cluster.local\t,10.0.0.0/8 ";
  EXPECT_TRUE(direct(list, "localhost"));
  EXPECT_TRUE(direct(list, "grafana.monitoring.svc.cluster.local"));
  EXPECT_TRUE(direct(list, "internal.corp"));
  EXPECT_TRUE(direct(list, "10.20.30.40"));
  EXPECT_FALSE(direct(list, "api.github.com"));
}

TEST(NoProxyTest, AddressesAndCidrRanges) {
  EXPECT_TRUE(direct("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(direct("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(direct("127.0.0.0/8", "127.9.8.7"));
  EXPECT_TRUE(direct("192.168.0.0/16", "192.168.44.1"));
  EXPECT_FALSE(direct("192.168.0.0/16", "192.169.0.1"));
  EXPECT_TRUE(direct("0.0.0.0/0", "8.8.8.8"));
  EXPECT_FALSE(direct("10.0.0.0/33", "10.0.0.1"));  // no such network
  EXPECT_TRUE(direct("::1", "::1"));
  EXPECT_TRUE(direct("fd00::/8", "fd12:3456::1"));
  EXPECT_FALSE(direct("fd00::/8", "fe80::1"));
  EXPECT_FALSE(direct("::1", "127.0.0.1"));  // families differ
  // Nothing is resolved: names never match addresses, nor addresses names.
  EXPECT_FALSE(direct("localhost", "127.0.0.1"));
  EXPECT_FALSE(direct("127.0.0.1", "localhost"));
}

TEST(NoProxyTest, PortsOfTheUrlDoNotMatterUnlessTheEntryNamesOne) {
  EXPECT_TRUE(direct("example.com", "example.com", 8443));
  EXPECT_TRUE(direct("10.0.0.1", "10.0.0.1", 8080));
  EXPECT_TRUE(direct("example.com:8443", "example.com", 8443));
  EXPECT_FALSE(direct("example.com:8443", "example.com", 443));
  EXPECT_TRUE(direct("10.0.0.1:8080", "10.0.0.1", 8080));
  EXPECT_FALSE(direct("10.0.0.1:8080", "10.0.0.1", 80));
  EXPECT_TRUE(direct("[::1]:8443", "::1", 8443));
  EXPECT_FALSE(direct("[::1]:8443", "::1", 443));
  EXPECT_TRUE(direct("[::1]", "::1", 443));
  EXPECT_FALSE(direct("example.com:http", "example.com", 80));  // not a port: ignored
}

ProxyEnvironment environment(const std::map<std::string, std::string>& vars) {
  return ProxyEnvironment::from([&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(ProxyEnvironmentTest, LowerCaseWinsOverUpperCase) {
  auto env = environment({{"https_proxy", "http://lower:1"},
                          {"HTTPS_PROXY", "http://upper:2"},
                          {"no_proxy", "lower.example"},
                          {"NO_PROXY", "upper.example"}});
  EXPECT_EQ(env.proxy_for(true), "http://lower:1");
  EXPECT_EQ(env.no_proxy, "lower.example");
  env = environment({{"HTTPS_PROXY", "http://upper:2"}, {"NO_PROXY", "upper.example"}});
  EXPECT_EQ(env.proxy_for(true), "http://upper:2");
  EXPECT_EQ(env.no_proxy, "upper.example");
}

TEST(ProxyEnvironmentTest, HttpProxyOnlyInLowerCaseAsCurl) {
  auto env = environment({{"HTTP_PROXY", "http://ignored:1"}});
  EXPECT_EQ(env.proxy_for(false), "");
  env = environment({{"http_proxy", "http://used:1"}, {"HTTP_PROXY", "http://ignored:2"}});
  EXPECT_EQ(env.proxy_for(false), "http://used:1");
  EXPECT_EQ(env.proxy_for(true), "");  // http_proxy is not for https://
}

TEST(ProxyEnvironmentTest, AllProxyWhenTheSchemesOwnIsUnset) {
  auto env = environment({{"ALL_PROXY", "http://all-upper:1"}, {"all_proxy", "http://all:2"}});
  EXPECT_EQ(env.proxy_for(true), "http://all:2");
  EXPECT_EQ(env.proxy_for(false), "http://all:2");
  env = environment({{"ALL_PROXY", "http://all-upper:1"}, {"HTTPS_PROXY", "http://https:3"}});
  EXPECT_EQ(env.proxy_for(true), "http://https:3");
  EXPECT_EQ(env.proxy_for(false), "http://all-upper:1");
}

TEST(ProxyEnvironmentTest, EmptyVariablesCountAsUnset) {
  auto env = environment({{"https_proxy", ""},
                          {"HTTPS_PROXY", "http://upper:2"},
                          {"no_proxy", ""},
                          {"NO_PROXY", "*"}});
  EXPECT_EQ(env.proxy_for(true), "http://upper:2");
  EXPECT_EQ(env.no_proxy, "*");
  EXPECT_EQ(environment({}).proxy_for(true), "");
}

TEST(ProxyUrlTest, SchemeDefaultPortAndCredentials) {
  std::string error;
  auto p = parse_proxy_url("proxy.corp:3128", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->host, "proxy.corp");
  EXPECT_EQ(p->port, 3128);
  EXPECT_EQ(p->authorization, "");
  p = parse_proxy_url("http://user:p%40ss@10.0.0.1", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->port, 1080);  // curl's default
  // "user:p@ss", the password percent-decoded
  EXPECT_EQ(p->authorization, "Basic dXNlcjpwQHNz");
  EXPECT_EQ(p->address(), "10.0.0.1:1080");
  p = parse_proxy_url("http://[::1]:8080/", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->host, "::1");
  EXPECT_EQ(p->address(), "[::1]:8080");
}

TEST(ProxyUrlTest, OtherSchemesAndBadUrlsAreRefusedWithoutEchoingThem) {
  std::string error;
  EXPECT_FALSE(parse_proxy_url("socks5://user:topsecret@proxy:1080", &error));
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
  EXPECT_FALSE(parse_proxy_url("https://proxy:443", &error));
  EXPECT_FALSE(parse_proxy_url("http://proxy:99999", &error));
  EXPECT_FALSE(parse_proxy_url("http://user:topsecret@", &error));
  EXPECT_EQ(error.find("topsecret"), std::string::npos) << error;
}

}  // namespace
}  // namespace orch::http
