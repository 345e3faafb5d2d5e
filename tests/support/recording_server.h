// An orch::http::HttpServer with the limits a test chooses, on 127.0.0.1
// (ephemeral port), run by its own io thread. It records every request its
// handler is given and answers 200 with "METHOD TARGET BODY" as a text body,
// for tests that speak raw bytes to it and check what got through. A request
// whose target contains "hold" is answered only by release_held() (a
// connection busy with a request, as with a long poll).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_message.h"
#include "adapters/http/http_server.h"

namespace orch::testing {

class RecordingServer {
 public:
  // Listens at once; throws std::runtime_error if it cannot.
  explicit RecordingServer(http::ServerLimits limits = {});
  ~RecordingServer();
  RecordingServer(const RecordingServer&) = delete;
  RecordingServer& operator=(const RecordingServer&) = delete;

  std::uint16_t port() const;
  std::string base_url() const;
  // Copies of the requests handled so far, oldest first.
  std::vector<http::Request> received() const;
  // Whether a request for `target` (path and query) reached the handler.
  bool saw(std::string_view target) const;
  // How many requests reached the handler.
  std::size_t count() const;
  // Answers the held requests.
  void release_held();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orch::testing
