// What the HttpClient sends: the base URL worked out once per URL, and the
// request serialised for the wire. Internal to the client
// (adapters/http/http_client*.cpp).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "adapters/http/http_message.h"
#include "adapters/http/http_url.h"

namespace orch::http::detail {

// A base URL with what every call to it needs, worked out once.
struct ParsedUrl {
  explicit ParsedUrl(BaseUrl u)
      : url(std::move(u)),
        host_field(url.authority(/*always_port=*/false)),
        origin((url.tls ? "https://" : "") + url.authority(/*always_port=*/true)) {}

  const BaseUrl url;
  const std::string host_field;  // the Host header's value
  const std::string origin;      // scheme (https only), host and port: a pool's key
};

// `base_url` parsed (see parse_base_url), from this thread's cache when it
// was parsed before; null with `*error` set when it does not parse.
std::shared_ptr<const ParsedUrl> parse_cached(const std::string& base_url, std::string* error);

// Serialises the request exactly as Beast's serializer wrote the message the
// previous implementation built: the caller's headers in order (values
// trimmed), then Host, User-Agent, Connection, Content-Type and
// Content-Length as needed, a blank line and the body. Returns an error
// message when the request cannot be sent as given (never echoing header
// values).
std::string build_request(std::string& out, bool& head, const ParsedUrl& url, const Request& in);

}  // namespace orch::http::detail
