#include "adapters/http/http_proxy.h"

#include <cstdlib>
#include <openssl/evp.h>

#include <array>

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "adapters/http/http_syntax.h"
#include "adapters/http/http_url.h"

namespace orch::http {

namespace {

namespace urls = boost::urls;
namespace ip = boost::asio::ip;

std::string first_set(const std::function<const char*(const char*)>& lookup,
                      std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (const char* v = lookup(name); v && *v) return v;
  return {};
}

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

// Whether the first `bits` bits of two addresses' bytes agree.
template <std::size_t N>
bool same_prefix(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                 unsigned bits) {
  for (std::size_t i = 0; i < N && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<unsigned char>(0xff << (8 - take));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

// `entry` is an address, or an address/bits network; does it hold `host`?
bool address_matches(std::string_view entry, const ip::address& host) {
  unsigned bits = host.is_v4() ? 32 : 128;
  if (const std::size_t slash = entry.find('/'); slash != std::string_view::npos) {
    const std::string_view digits = entry.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return false;
    unsigned n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n > bits) return false;
    bits = n;
    entry = entry.substr(0, slash);
  }
  boost::system::error_code ec;
  const ip::address network = ip::make_address(std::string(entry), ec);
  if (ec || network.is_v4() != host.is_v4()) return false;
  if (host.is_v4()) return same_prefix(network.to_v4().to_bytes(), host.to_v4().to_bytes(), bits);
  return same_prefix(network.to_v6().to_bytes(), host.to_v6().to_bytes(), bits);
}

// A name entry: the host itself or a name under it (at a dot).
bool name_matches(std::string_view entry, std::string_view host) {
  if (entry.substr(0, 2) == "*.") entry.remove_prefix(1);  // "*.example.com" as ".example.com"
  if (!entry.empty() && entry.back() == '.') entry.remove_suffix(1);
  if (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
  if (entry.empty()) return false;
  if (entry.size() == host.size()) return syntax::iequals(entry, host);
  if (entry.size() > host.size()) return false;
  const std::size_t at = host.size() - entry.size();
  return host[at - 1] == '.' && syntax::iequals(host.substr(at), entry);
}

}  // namespace

ProxyEnvironment ProxyEnvironment::from(const std::function<const char*(const char*)>& lookup) {
  ProxyEnvironment env;
  env.https_proxy = first_set(lookup, {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"});
  env.http_proxy = first_set(lookup, {"http_proxy", "all_proxy", "ALL_PROXY"});
  env.no_proxy = first_set(lookup, {"no_proxy", "NO_PROXY"});
  return env;
}

ProxyEnvironment ProxyEnvironment::from_process() {
  return from([](const char* name) { return std::getenv(name); });
}

std::string ProxyServer::address() const {
  std::string out = ipv6 ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port);
}

std::optional<ProxyServer> parse_proxy_url(std::string_view text, std::string* error) {
  std::string url(trim_blanks(text));
  if (url.find("://") == std::string::npos) url = "http://" + url;
  const auto parsed = urls::parse_uri(url);
  if (!parsed) {
    *error = "proxy URL is not a valid URL";
    return std::nullopt;
  }
  const urls::url_view& u = *parsed;
  if (u.scheme_id() != urls::scheme::http) {
    *error = "proxy URL must be http:// (other proxy schemes are not supported)";
    return std::nullopt;
  }
  ProxyServer out;
  switch (u.host_type()) {
    case urls::host_type::name: out.host = u.host_name(); break;
    case urls::host_type::ipv4: out.host = u.host_ipv4_address().to_string(); break;
    case urls::host_type::ipv6:
      out.host = u.host_ipv6_address().to_string();
      out.ipv6 = true;
      break;
    default: break;
  }
  if (out.host.empty()) {
    *error = "proxy URL has no host";
    return std::nullopt;
  }
  if (u.has_port() && !u.port().empty()) {
    const auto port = parse_port(u.port());
    if (!port) {
      *error = "proxy URL has an invalid port";
      return std::nullopt;
    }
    out.port = *port;
  }
  if (u.has_userinfo()) {
    std::string credentials = u.user();
    credentials += ':';
    credentials += u.password();
    out.authorization = "Basic " + base64(credentials);
  }
  return out;
}

bool no_proxy_matches(std::string_view list, std::string_view host, std::uint16_t port) {
  list = trim_blanks(list);
  if (list == "*") return true;
  if (host.empty()) return false;
  boost::system::error_code ec;
  const ip::address address = ip::make_address(std::string(host), ec);
  const bool literal = !ec;
  if (!literal && host.back() == '.') host.remove_suffix(1);
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view entry = trim_blanks(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    // An optional port: "[v6]:port", or "name:port" / "v4:port" (one colon;
    // more are an IPv6 address).
    std::optional<std::uint16_t> entry_port;
    if (entry.front() == '[') {
      const std::size_t close = entry.find(']');
      if (close == std::string_view::npos) continue;
      const std::string_view after = entry.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':' || !(entry_port = parse_port(after.substr(1)))) continue;
      }
      entry = entry.substr(1, close - 1);
    } else if (const std::size_t colon = entry.find(':');
               colon != std::string_view::npos &&
               entry.find(':', colon + 1) == std::string_view::npos) {
      if (!(entry_port = parse_port(entry.substr(colon + 1)))) continue;
      entry = entry.substr(0, colon);
    }
    if (entry_port && *entry_port != port) continue;
    if (literal ? address_matches(entry, address) : name_matches(entry, host)) return true;
  }
  return false;
}

}  // namespace orch::http
