#include "adapters/http/io_thread_transport.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace orch::http {

namespace net = boost::asio;

IoThreadTransport::IoThreadTransport(net::io_context& home, HttpPoolLimits limits)
    : home_(home), io_(std::make_unique<net::io_context>(1)) {
  client_ = std::make_unique<HttpClient>(*io_, limits);
  thread_ = std::thread([io = io_.get()] {
    auto work = net::make_work_guard(*io);
    io->run();
  });
}

IoThreadTransport::~IoThreadTransport() { stop(); }

void IoThreadTransport::stop() {
  if (!thread_.joinable()) return;
  net::post(*io_, [client = client_.get(), io = io_.get()] {
    client->close_idle();
    io->stop();
  });
  thread_.join();
}

void IoThreadTransport::send(const std::string& base_url, const Request& request,
                             const CallOptions& options, CallCallback done) {
  net::post(*io_, [client = client_.get(), home = &home_, base_url, request,  // a copy
                   options, done = std::move(done)]() mutable {
    client->send(base_url, request, options,
                 [home, done = std::move(done)](CallResult result) mutable {
                   net::post(*home, [done = std::move(done), result = std::move(result)]() mutable {
                     done(std::move(result));
                   });
                 });
  });
}

}  // namespace orch::http
