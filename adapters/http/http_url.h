// A service's base URL, "http[s]://host[:port][/prefix]", parsed with
// Boost.URL: what the outbound client connects to and what a call's span
// reports. Query, fragment and user info are refused (credentials go in a
// service's token, never in its URL).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace orch::http {

struct BaseUrl {
  bool tls = false;         // https
  std::string host;         // without brackets
  std::uint16_t port = 80;  // explicit, else 80 (http) or 443 (https)
  bool ipv6 = false;        // an IPv6 literal
  bool ip_literal = false;  // an IPv4 or IPv6 literal (no SNI, IP SAN checks)
  std::string prefix;       // "" or "/something" without a trailing slash

  // The authority a request's Host field and a CONNECT line name:
  // "host:port", brackets around IPv6; the port is left out when it is the
  // scheme's default, unless `always_port`.
  std::string authority(bool always_port) const;
  std::uint16_t default_port() const { return tls ? 443 : 80; }
};

// The base URL, or nullopt with `*error` saying what is wrong (never echoing
// the URL itself, which may hold a credential).
std::optional<BaseUrl> parse_base_url(std::string_view url, std::string* error);

// Digits only, 1 to 65535; nullopt otherwise. (Boost.URL 1.81's
// port_number() wraps values above 65535.)
std::optional<std::uint16_t> parse_port(std::string_view digits);

}  // namespace orch::http
