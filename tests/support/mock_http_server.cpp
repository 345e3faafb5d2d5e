#include "tests/support/mock_http_server.h"

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "adapters/http/http_server.h"

namespace orch::testing {

namespace asio = boost::asio;

namespace {

struct Script {
  std::string method;
  std::string prefix;
  std::vector<ScriptedResponse> responses;
  std::size_t next = 0;
  std::uint64_t order = 0;  // later scripts win ties
};

// An answer waiting for its delay, owned by the io thread.
struct Pending {
  explicit Pending(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  http::Responder respond;
  ScriptedResponse response;
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

http::Response to_response(const ScriptedResponse& r) {
  http::Response out;
  out.status = r.status;
  out.body = r.body;
  out.headers = r.headers;
  return out;
}

}  // namespace

ScriptedResponse reply(int status, std::string body,
                       std::vector<std::pair<std::string, std::string>> headers,
                       std::chrono::milliseconds delay) {
  ScriptedResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.delay = delay;
  return r;
}

ScriptedResponse drop(std::chrono::milliseconds delay) {
  ScriptedResponse r;
  r.delay = delay;
  r.drop_connection = true;
  return r;
}

struct MockHttpServer::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<http::HttpServer> server;
  std::string url;
  std::thread thread;

  mutable std::mutex mu;
  std::vector<Script> scripts;             // GUARDED_BY(mu)
  std::uint64_t script_seq = 0;            // GUARDED_BY(mu)
  std::vector<http::Request> requests;     // GUARDED_BY(mu)

  // Io thread only.
  std::map<std::uint64_t, std::unique_ptr<Pending>> pending;
  std::uint64_t pending_seq = 0;

  // Runs `fn` on the io thread and waits for it.
  void run_on_io(std::function<void()> fn) {
    if (thread.get_id() == std::this_thread::get_id()) return fn();
    std::promise<void> done;
    auto f = done.get_future();
    asio::post(io, [&] {
      fn();
      done.set_value();
    });
    f.wait();
  }

  // Picks the response for `req`, or nullopt for a 404.
  std::optional<ScriptedResponse> next_response(const http::Request& req) {
    std::lock_guard lock(mu);
    requests.push_back(req);
    Script* best = nullptr;
    const std::string_view path = req.path();
    for (auto& s : scripts) {
      if (!s.method.empty() && s.method != "*" && s.method != req.method) continue;
      if (!starts_with(path, s.prefix)) continue;
      if (!best || s.prefix.size() > best->prefix.size() ||
          (s.prefix.size() == best->prefix.size() && s.order > best->order)) {
        best = &s;
      }
    }
    if (!best) return std::nullopt;
    const ScriptedResponse& r = best->responses[best->next];
    if (best->next + 1 < best->responses.size()) ++best->next;
    return r;
  }

  void handle(http::Request req, http::Responder respond) {
    auto scripted = next_response(req);
    if (!scripted) {
      std::string body = R"({"error":"mock: no script for )" + req.method + " " +
                         std::string(req.path()) + R"("})";
      return respond(http::Response::json(404, std::move(body)));
    }
    if (scripted->delay.count() <= 0) return finish(std::move(*scripted), std::move(respond));
    const std::uint64_t id = ++pending_seq;
    auto p = std::make_unique<Pending>(io);
    p->respond = std::move(respond);
    p->response = std::move(*scripted);
    p->timer.expires_after(p->response.delay);
    p->timer.async_wait([this, id](const boost::system::error_code&) {
      auto it = pending.find(id);
      if (it == pending.end()) return;  // reset() or shutdown dropped it
      auto owned = std::move(it->second);
      pending.erase(it);
      finish(std::move(owned->response), std::move(owned->respond));
    });
    pending.emplace(id, std::move(p));
  }

  static void finish(ScriptedResponse r, http::Responder respond) {
    if (r.drop_connection) return;  // `respond` dies unanswered: the socket closes
    respond(to_response(r));
  }
};

MockHttpServer::MockHttpServer() : impl_(std::make_unique<Impl>()) {
  Impl* impl = impl_.get();
  impl_->server = std::make_unique<http::HttpServer>(
      impl_->io, [impl](http::Request req, http::Responder respond) {
        impl->handle(std::move(req), std::move(respond));
      });
  std::string err = impl_->server->listen("127.0.0.1", 0);
  if (!err.empty()) throw std::runtime_error("MockHttpServer: listen failed: " + err);
  impl_->url = "http://127.0.0.1:" + std::to_string(impl_->server->port());
  impl_->thread = std::thread([impl] { impl->io.run(); });
}

MockHttpServer::~MockHttpServer() {
  impl_->run_on_io([impl = impl_.get()] {
    impl->server->stop();
    impl->pending.clear();  // cancels timers, drops their responders
  });
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
  impl_->server.reset();
}

void MockHttpServer::script(std::string method, std::string path_prefix,
                            std::vector<ScriptedResponse> responses) {
  std::lock_guard lock(impl_->mu);
  auto& scripts = impl_->scripts;
  std::erase_if(scripts, [&](const Script& s) {
    return s.method == method && s.prefix == path_prefix;
  });
  if (responses.empty()) return;
  scripts.push_back(Script{std::move(method), std::move(path_prefix), std::move(responses), 0,
                           ++impl_->script_seq});
}

std::string MockHttpServer::base_url() const { return impl_->url; }

std::vector<http::Request> MockHttpServer::received() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

int MockHttpServer::count(const std::string& path_prefix) const {
  std::lock_guard lock(impl_->mu);
  int n = 0;
  for (const auto& r : impl_->requests) n += starts_with(r.path(), path_prefix) ? 1 : 0;
  return n;
}

std::optional<http::Request> MockHttpServer::last(const std::string& path_prefix) const {
  std::lock_guard lock(impl_->mu);
  for (auto it = impl_->requests.rbegin(); it != impl_->requests.rend(); ++it) {
    if (starts_with(it->path(), path_prefix)) return *it;
  }
  return std::nullopt;
}

void MockHttpServer::reset() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->scripts.clear();
    impl_->requests.clear();
  }
  impl_->run_on_io([impl = impl_.get()] { impl->pending.clear(); });
}

}  // namespace orch::testing
