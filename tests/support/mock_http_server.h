// A scripted HTTP server for tests of code that calls external services: an
// orch::http::HttpServer on 127.0.0.1 (ephemeral port) run by its own
// io_context thread, answering from scripts:
//
//   MockHttpServer mock;
//   mock.script("POST", "/v1/messages", {reply(503, "", {{"Retry-After", "1"}}),
//                                        reply(200, R"({"ok":true})"),
//                                        drop(100ms)});
//   ... point the adapter at mock.base_url() ...
//   EXPECT_EQ(mock.count("/v1/messages"), 2);
//
// Successive matching requests consume a script's responses in order; the
// last one then repeats. When several scripts match, the longest path prefix
// wins (ties: the most recently scripted). Unmatched requests get a 404.
// Delays use an asio steady_timer (no thread sleeps); drop_connection closes
// the connection without any response. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/http/http_message.h"

namespace orch::testing {

struct ScriptedResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // wait this long before answering (or dropping)
  bool drop_connection = false;        // never answer: the server closes the socket
};

// Builders (GCC 12 warns about designated initializers that omit fields under
// -Wextra, so these are the convenient spelling).
ScriptedResponse reply(int status, std::string body = {},
                       std::vector<std::pair<std::string, std::string>> headers = {},
                       std::chrono::milliseconds delay = std::chrono::milliseconds(0));
// Closes the connection without answering, after `delay`.
ScriptedResponse drop(std::chrono::milliseconds delay = std::chrono::milliseconds(0));

class MockHttpServer {
 public:
  MockHttpServer();  // listens at once; throws std::runtime_error if it cannot
  ~MockHttpServer();
  MockHttpServer(const MockHttpServer&) = delete;
  MockHttpServer& operator=(const MockHttpServer&) = delete;

  // Scripts requests whose method equals `method` ("" or "*": any method) and
  // whose path (query excluded) starts with `path_prefix`. Re-scripting the
  // same method and prefix replaces the list and restarts it. An empty list
  // removes the script.
  void script(std::string method, std::string path_prefix,
              std::vector<ScriptedResponse> responses);

  std::string base_url() const;  // "http://127.0.0.1:<port>"

  // Every request received (copies), oldest first.
  std::vector<http::Request> received() const;
  // Requests received whose path starts with `path_prefix` (any method).
  int count(const std::string& path_prefix) const;
  // The last request whose path starts with `path_prefix`.
  std::optional<http::Request> last(const std::string& path_prefix) const;

  // Forgets scripts and received requests. Delayed answers still pending are
  // dropped (their connections closed).
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orch::testing
