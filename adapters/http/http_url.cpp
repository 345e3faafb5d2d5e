#include "adapters/http/http_url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "adapters/http/http_parser.h"

namespace orch::http {

namespace urls = boost::urls;

std::string BaseUrl::authority(bool always_port) const {
  std::string out;
  out.reserve(host.size() + 8);
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  if (always_port || port != default_port()) {
    out += ':';
    detail::append_decimal(out, port);
  }
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<BaseUrl> parse_base_url(std::string_view text, std::string* error) {
  auto fail = [error](const char* why) -> std::optional<BaseUrl> {
    *error = why;
    return std::nullopt;
  };
  const auto parsed = urls::parse_uri(text);
  if (!parsed) return fail("base URL is not a valid absolute URL");
  const urls::url_view& url = *parsed;
  BaseUrl out;
  switch (url.scheme_id()) {
    case urls::scheme::http: out.tls = false; break;
    case urls::scheme::https: out.tls = true; break;
    default: return fail("base URL must start with http:// or https://");
  }
  if (!url.has_authority()) return fail("missing host in base URL");
  if (url.has_userinfo()) return fail("base URL must not contain user info");
  if (url.has_query() || url.has_fragment())
    return fail("base URL must not contain a query or fragment");
  switch (url.host_type()) {
    case urls::host_type::name:
      // A registered name, as written: percent-encoded bytes in a host
      // name are refused rather than decoded into something else.
      if (url.encoded_host().find('%') != std::string_view::npos)
        return fail("invalid host in base URL");
      out.host = url.encoded_host();
      break;
    case urls::host_type::ipv4:
      out.host = url.host_ipv4_address().to_string();
      out.ip_literal = true;
      break;
    case urls::host_type::ipv6:
      out.host = url.host_ipv6_address().to_string();
      out.ip_literal = out.ipv6 = true;
      break;
    default: return fail("invalid host in base URL");
  }
  if (out.host.empty()) return fail("missing host in base URL");
  out.port = out.default_port();
  if (url.has_port()) {
    if (url.port().empty()) return fail("empty port in base URL");
    const auto port = parse_port(url.port());
    if (!port) return fail("invalid port in base URL");
    out.port = *port;
  }
  std::string_view path = url.encoded_path();
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

}  // namespace orch::http
