// Outbound HTTP proxies, as curl chooses them: the environment's
// https_proxy / HTTPS_PROXY for https:// URLs, http_proxy (lower case only:
// curl ignores HTTP_PROXY, which a CGI server sets from a request's Proxy
// header) for http:// URLs, all_proxy / ALL_PROXY for either when those are
// unset; no_proxy / NO_PROXY lists the hosts reached directly. Lower case
// wins over upper case; empty variables count as unset. A service's
// settings `proxy` and `no_proxy` replace the environment's for its calls
// (see ConnectionSettings). Calls go through the proxy in an HTTP CONNECT
// tunnel (curl's --proxytunnel), https:// and http:// alike.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace orch::http {

struct ProxyEnvironment {
  std::string https_proxy;  // https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY: the first set
  std::string http_proxy;   // http_proxy, all_proxy, ALL_PROXY: the first set
  std::string no_proxy;     // no_proxy, else NO_PROXY

  // Reads the variables through `lookup` (getenv's contract: null when unset).
  static ProxyEnvironment from(const std::function<const char*(const char*)>& lookup);
  // This process's environment (read once, when a client is made).
  static ProxyEnvironment from_process();

  // The proxy URL for a URL of that scheme ("" = none).
  const std::string& proxy_for(bool https) const { return https ? https_proxy : http_proxy; }
};

// A proxy to tunnel through.
struct ProxyServer {
  std::string host;           // without brackets
  std::uint16_t port = 1080;  // curl's default when the URL names none
  bool ipv6 = false;
  // "Basic <base64(user:password)>" from the URL's user info (percent-
  // decoded), or "". Never logged: messages name the proxy by address().
  std::string authorization;

  std::string address() const;  // "host:port" ("[v6]:port")
};

// "http://[user[:password]@]host[:port][/]" or the same without a scheme, as
// curl reads a proxy variable. Other schemes (https://, socks5://...) are
// refused with `*error` set (never echoing the URL, which may hold a
// password).
std::optional<ProxyServer> parse_proxy_url(std::string_view url, std::string* error);

// Whether `host` (a name, or an IP literal without brackets) is to be
// reached directly under the NO_PROXY list `list`, as curl decides it:
//  - "*" as the whole list: every host;
//  - entries separated by commas (blanks around them ignored); a leading
//    and a trailing dot of an entry are ignored;
//  - a name entry matches that host name and every name under it
//    ("example.com" and ".example.com" both match example.com and
//    www.example.com, not notexample.com), without regard to case;
//  - for an IP literal host, entries are IP addresses, optionally in CIDR
//    notation ("10.0.0.0/8", "::1", "fd00::/8"); names never match an IP
//    literal, nor IP entries a name (nothing is resolved);
//  - the port of the URL does not matter, except that an entry may name one
//    ("host:8443", "[::1]:8443", "10.0.0.1:8443"): it then matches on that
//    port only (an extension: curl never matches such an entry).
bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port);

}  // namespace orch::http
