#include "tests/support/sandbox_fixture.h"

#include <atomic>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "adapters/http/http_server.h"

namespace orch::testing {

namespace asio = boost::asio;

namespace {

// Runs `fn` on `io`'s thread and waits for it.
void run_on(asio::io_context& io, std::function<void()> fn) {
  std::promise<void> done;
  auto f = done.get_future();
  asio::post(io, [&] {
    fn();
    done.set_value();
  });
  f.wait();
}

}  // namespace

struct TestSandbox::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<sandbox::Sandbox> sandbox;
  std::unique_ptr<http::HttpServer> recorder;  // used when recording
  bool record = false;
  mutable std::mutex mu;
  std::vector<http::Request> requests;
  std::string url;
  std::thread thread;
};

TestSandbox::TestSandbox(sandbox::SandboxOptions options, bool record_requests)
    : impl_(std::make_unique<Impl>()) {
  impl_->sandbox = std::make_unique<sandbox::Sandbox>(impl_->io, options);
  impl_->record = record_requests;
  std::string err;
  if (record_requests) {
    Impl* impl = impl_.get();
    impl_->recorder = std::make_unique<http::HttpServer>(
        impl_->io, [impl](http::Request req, http::Responder respond) {
          {
            std::lock_guard lock(impl->mu);
            impl->requests.push_back(req);
          }
          impl->sandbox->handle(std::move(req), std::move(respond));
        });
    err = impl_->recorder->listen("127.0.0.1", 0);
    if (err.empty()) impl_->url = "http://127.0.0.1:" + std::to_string(impl_->recorder->port());
  } else {
    err = impl_->sandbox->listen("127.0.0.1", 0);
    if (err.empty()) impl_->url = impl_->sandbox->base_url();
  }
  if (!err.empty()) throw std::runtime_error("TestSandbox: listen failed: " + err);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

TestSandbox::~TestSandbox() {
  run_on(impl_->io, [impl = impl_.get()] {
    if (impl->recorder) impl->recorder->stop();
    impl->sandbox->stop();
  });
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
  impl_->recorder.reset();
  impl_->sandbox.reset();
}

sandbox::Sandbox& TestSandbox::sandbox() { return *impl_->sandbox; }
std::string TestSandbox::base_url() const { return impl_->url; }
asio::io_context& TestSandbox::io() { return impl_->io; }

std::vector<http::Request> TestSandbox::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

std::optional<http::Request> TestSandbox::last_request(const std::string& path_prefix) const {
  std::lock_guard lock(impl_->mu);
  for (auto it = impl_->requests.rbegin(); it != impl_->requests.rend(); ++it) {
    if (it->path().substr(0, path_prefix.size()) == path_prefix) return *it;
  }
  return std::nullopt;
}

void TestSandbox::clear_requests() {
  std::lock_guard lock(impl_->mu);
  impl_->requests.clear();
}

struct TestClient::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<http::HttpClient> client;
  std::thread thread;
};

TestClient::TestClient() : impl_(std::make_unique<Impl>()) {
  // The sandbox is on this machine: no proxy from the environment.
  impl_->client = std::make_unique<http::HttpClient>(impl_->io, http::HttpClient::PoolLimits{},
                                                     http::ProxyEnvironment{});
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

TestClient::~TestClient() {
  // Destroy the client on its own thread, then stop the loop.
  run_on(impl_->io, [impl = impl_.get()] { impl->client.reset(); });
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}

http::HttpClient& TestClient::client() { return *impl_->client; }
asio::io_context& TestClient::io() { return impl_->io; }

http::CallResult TestClient::send(const std::string& base_url, http::Request request,
                                  http::CallOptions options) {
  auto promise = std::make_shared<std::promise<http::CallResult>>();
  auto future = promise->get_future();
  impl_->client->send(base_url, request, options,
                      [promise](http::CallResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    http::CallResult timed_out;
    timed_out.error = http::TransportError::timeout;
    timed_out.error_message = "TestClient: no answer within 30 s";
    return timed_out;
  }
  return future.get();
}

http::CallResult TestClient::call(const std::string& base_url, const std::string& method,
                                  const std::string& target, const std::string& body,
                                  http::Headers headers, http::CallOptions options) {
  http::Request req;
  req.method = method;
  req.target = target;
  req.headers = std::move(headers);
  req.body = body;
  return send(base_url, std::move(req), options);
}

phases::ServiceResult TestClient::await(
    const std::function<void(phases::ServiceCallback)>& start, std::chrono::milliseconds limit) {
  auto promise = std::make_shared<std::promise<phases::ServiceResult>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto future = promise->get_future();
  start([promise, calls](phases::ServiceResult r) {
    if (calls->fetch_add(1) == 0) promise->set_value(std::move(r));
  });
  if (future.wait_for(limit) != std::future_status::ready) {
    phases::ServiceResult r;
    r.outcome = phases::ServiceOutcome::retryable;
    r.error = "TestClient::await: no callback in time";
    return r;
  }
  return future.get();
}

nlohmann::json body_json(const http::Response& response) {
  auto j = nlohmann::json::parse(response.body, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

}  // namespace orch::testing
