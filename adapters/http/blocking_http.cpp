#include "adapters/http/blocking_http.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

namespace orch::http {

namespace net = boost::asio;

struct BlockingHttp::Impl {
  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(io);
  std::unique_ptr<HttpClient> client = std::make_unique<HttpClient>(io);
  std::thread thread{[this] { io.run(); }};
};

BlockingHttp::BlockingHttp(std::shared_ptr<const ConnectionSettings> connection)
    : impl_(std::make_unique<Impl>()), connection_(std::move(connection)) {}

BlockingHttp::~BlockingHttp() {
  net::post(impl_->io, [this] {
    impl_->client.reset();
    impl_->guard.reset();
    impl_->io.stop();
  });
  impl_->thread.join();
}

CallResult BlockingHttp::call(const std::string& base_url, const std::string& method,
                              const std::string& target, const std::string& body,
                              Headers headers, std::chrono::milliseconds timeout) {
  Request req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.headers = std::move(headers);
  if (!body.empty() && !req.header("Content-Type"))
    req.headers.emplace_back("Content-Type", "application/json");
  CallOptions options;
  options.timeout = timeout;
  options.max_retries = 0;
  options.connection = connection_;
  std::promise<CallResult> done;
  net::post(impl_->io, [&] {
    impl_->client->send(base_url, req, options,
                        [&](CallResult r) { done.set_value(std::move(r)); });
  });
  return done.get_future().get();
}

}  // namespace orch::http
