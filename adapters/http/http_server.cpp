// HttpServer: listening, HTTPS, the connection cap's default, and stop().
// The accept loop is in http_listener.cpp, a connection's life in
// http_session.h.
#include "adapters/http/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "adapters/http/http_server_core.h"
#include "adapters/http/tls_context.h"

namespace orch::http {

namespace {

namespace asio = boost::asio;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using detail::format_endpoint;
using detail::ServerCore;

}  // namespace

namespace detail {

std::string format_endpoint(const tcp::endpoint& ep) {
  std::string addr;
  try {
    addr = ep.address().to_string();
  } catch (const std::exception&) {
    return {};
  }
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  addr += ':';
  addr += std::to_string(ep.port());
  return addr;
}

}  // namespace detail

struct HttpServer::Impl {
  std::shared_ptr<ServerCore> core;
};

HttpServer::HttpServer(boost::asio::io_context& io, Handler handler, ServerLimits limits)
    : impl_(std::make_shared<Impl>()) {
  impl_->core = std::make_shared<ServerCore>(io, std::move(handler), limits);
}

HttpServer::~HttpServer() { stop(); }

std::string HttpServer::listen(const std::string& host, std::uint16_t port) {
  auto& core = *impl_->core;
  error_code ec;
  asio::ip::address address;
  if (host.empty()) {
    address = asio::ip::address_v4::any();
  } else {
    address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(core.io);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty()) {
        return "cannot resolve listen address '" + host + "': " +
               (ec ? ec.message() : std::string("no addresses"));
      }
      address = results.begin()->endpoint().address();
    }
  }
  tcp::endpoint endpoint(address, port);
  {
    std::lock_guard<std::mutex> lock(core.mu);
    if (core.stopped.load()) return "server is stopped";
    if (core.listening) return "already listening";
    auto& acceptor = core.acceptor;
    auto fail = [&acceptor](std::string what) {
      error_code ignored;
      acceptor.close(ignored);
      return what;
    };
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return "open: " + ec.message();
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("set_option(reuse_address): " + ec.message());
    acceptor.bind(endpoint, ec);
    if (ec) return fail("bind " + format_endpoint(endpoint) + ": " + ec.message());
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen: " + ec.message());
    auto local = acceptor.local_endpoint(ec);
    if (ec) return fail("local_endpoint: " + ec.message());
    core.port = local.port();
    core.listening = true;
  }
  impl_->core->do_accept();
  return {};
}

std::string HttpServer::use_tls(const ServerTls& tls) {
  auto& core = *impl_->core;
  std::lock_guard<std::mutex> lock(core.mu);
  if (core.listening) return "use_tls() must come before listen()";
  std::string error;
  core.tls = detail::make_server_context(tls.cert_chain_file, tls.private_key_file, &error);
  return core.tls ? std::string() : error;
}

bool HttpServer::tls() const { return impl_->core->tls != nullptr; }

std::uint16_t HttpServer::port() const { return impl_->core->port; }

std::size_t HttpServer::max_connections() const { return impl_->core->slots.max(); }

void HttpServer::on_refused(std::function<void(ConnectionRefusal)> observer) {
  impl_->core->on_refused = std::move(observer);
}

std::size_t max_connections_for_file_limit(std::uint64_t file_limit) {
  constexpr std::uint64_t kMin = 32;
  constexpr std::uint64_t kMax = 1u << 20;
  const std::uint64_t spare = file_limit > kFdHeadroom ? file_limit - kFdHeadroom : 0;
  return static_cast<std::size_t>(std::clamp(spare / 2, kMin, kMax));
}

std::size_t default_max_connections() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return max_connections_for_file_limit(1024);
  return max_connections_for_file_limit(rl.rlim_cur == RLIM_INFINITY ? ~std::uint64_t{0}
                                                                     : rl.rlim_cur);
}

void HttpServer::stop() {
  if (!impl_ || !impl_->core) return;
  auto& core = *impl_->core;
  if (core.stopped.exchange(true)) return;
  // Thread-safe: acceptor operations are serialised by the core's mutex and
  // sessions are closed on the io_context's thread.
  core.do_stop();
}

}  // namespace orch::http
