// A synchronous HTTP client for command-line tools and tests: runs its own
// io_context on a private thread and waits for each answer. Not for the
// engine's hot path, which stays asynchronous.
#pragma once

#include <memory>
#include <string>

#include "adapters/http/http_client.h"

namespace orch::http {

class BlockingHttp {
 public:
  // `connection`: how every call is made (e.g. the CA to trust for
  // https://); null for the defaults.
  explicit BlockingHttp(std::shared_ptr<const ConnectionSettings> connection = nullptr);
  ~BlockingHttp();
  BlockingHttp(const BlockingHttp&) = delete;
  BlockingHttp& operator=(const BlockingHttp&) = delete;

  // Sends once (no retries) and waits. `headers` are added as given.
  CallResult call(const std::string& base_url, const std::string& method,
                  const std::string& target, const std::string& body = "",
                  Headers headers = {}, std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<const ConnectionSettings> connection_;
};

}  // namespace orch::http
