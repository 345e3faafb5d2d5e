// An HTTP CONNECT proxy for tests, on 127.0.0.1 (ephemeral port), run by its
// own io thread: it answers "CONNECT host:port", opens the connection and
// relays bytes both ways until either side closes. With credentials it
// requires them (Proxy-Authorization: Basic) and answers 407 otherwise.
// Counts the tunnels it opened and keeps what each CONNECT asked for.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace orch::testing {

class ConnectProxy {
 public:
  // `credentials`: "user:password" to require, or "" for none.
  explicit ConnectProxy(std::string credentials = "");
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // "http://127.0.0.1:<port>"

  // CONNECTs answered 200 so far.
  int tunnels() const;
  // The authority of every CONNECT received ("host:port"), oldest first.
  std::vector<std::string> targets() const;
  // CONNECTs refused with 407 (missing or wrong credentials).
  int refused() const;

  struct Impl;  // connect_proxy.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace orch::testing
