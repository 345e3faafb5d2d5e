// Plain HTTP request/response values shared by the server, the client and the
// sandbox. Deliberately free of Beast types so that only the few translation
// units that do I/O pay Beast's compile cost.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace orch::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; returns nullopt when absent.
std::optional<std::string_view> find_header(const Headers& headers,
                                            std::string_view name);

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path plus optional "?query"
  Headers headers;
  std::string body;
  std::string remote;  // peer address, filled by the server

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  // Path without the query string.
  std::string_view path() const;
  // Raw value of query parameter `name` (percent-decoded), nullopt if absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
  static Response json(int status, std::string body);
};

// Decodes %XX and '+' in a query component.
std::string percent_decode(std::string_view in);

}  // namespace orch::http
