// An HttpClient on its own thread. The engine runs on one io_context thread;
// under load about half of that thread went to outbound HTTP (socket
// syscalls, Beast's parser and serialiser, Asio's dispatch), so with
// thousands of calls in flight the engine thread saturated while the
// machine still had a core's worth of room. This transport runs the client
// on a second io_context thread and hands every result back to the caller's
// io_context, so callers see the HttpTransport contract unchanged: callbacks
// run on their own thread.
#pragma once

#include <memory>
#include <thread>

#include "adapters/http/http_client.h"

namespace boost::asio {
class io_context;
}

namespace orch::http {

class IoThreadTransport final : public HttpTransport {
 public:
  // `home` is the io_context whose thread calls send() and runs callbacks.
  // REQUIRES: `home` outlives this transport.
  explicit IoThreadTransport(boost::asio::io_context& home, HttpPoolLimits limits = {});
  ~IoThreadTransport() override;  // stop()
  IoThreadTransport(const IoThreadTransport&) = delete;
  IoThreadTransport& operator=(const IoThreadTransport&) = delete;

  void send(const std::string& base_url, const Request& request, const CallOptions& options,
            CallCallback done) override;

  // Stops the I/O thread. Calls still in flight are abandoned: their
  // callbacks never run. Idempotent.
  void stop();

 private:
  boost::asio::io_context& home_;
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<HttpClient> client_;
  std::thread thread_;
};

}  // namespace orch::http
