#include "tests/support/recording_server.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace orch::testing {

namespace asio = boost::asio;

struct RecordingServer::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<http::HttpServer> server;
  std::thread thread;
  mutable std::mutex mu;
  std::vector<http::Request> received;                           // GUARDED_BY(mu)
  std::vector<std::pair<http::Responder, http::Response>> held;  // GUARDED_BY(mu)
};

RecordingServer::RecordingServer(http::ServerLimits limits) : impl_(std::make_unique<Impl>()) {
  Impl* impl = impl_.get();
  impl->server = std::make_unique<http::HttpServer>(
      impl->io,
      [impl](http::Request req, http::Responder respond) {
        http::Response res;
        res.status = 200;
        res.headers.emplace_back("Content-Type", "text/plain");
        res.body = req.method + " " + req.target + " " + req.body;
        std::lock_guard<std::mutex> lock(impl->mu);
        const bool hold = req.target.find("hold") != std::string::npos;
        impl->received.push_back(std::move(req));
        if (hold) {
          impl->held.emplace_back(std::move(respond), std::move(res));
        } else {
          respond(std::move(res));
        }
      },
      limits);
  if (std::string e = impl->server->listen("127.0.0.1", 0); !e.empty())
    throw std::runtime_error("RecordingServer: listen failed: " + e);
  impl->thread = std::thread([impl] { impl->io.run(); });
}

RecordingServer::~RecordingServer() {
  std::promise<void> stopped;
  asio::post(impl_->io, [this, &stopped] {
    impl_->server->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
  impl_->held.clear();  // unanswered; their sessions were closed by stop()
}

std::uint16_t RecordingServer::port() const { return impl_->server->port(); }

std::string RecordingServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

std::vector<http::Request> RecordingServer::received() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->received;
}

std::size_t RecordingServer::count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->received.size();
}

void RecordingServer::release_held() {
  std::vector<std::pair<http::Responder, http::Response>> held;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    held.swap(impl_->held);
  }
  for (auto& [respond, response] : held) respond(std::move(response));
}

bool RecordingServer::saw(std::string_view target) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return std::any_of(impl_->received.begin(), impl_->received.end(),
                     [&](const http::Request& r) { return r.target == target; });
}

}  // namespace orch::testing
