// The HttpClient's origins and their idle pools: how an origin is reached
// (TLS context, proxy, endpoints), connections taken from and given back to
// its pool, and the resolution of its host.
#include "adapters/http/http_client_pool.h"

#include <sys/socket.h>

#include <cerrno>
#include <string>
#include <utility>

#include <boost/asio/ip/address.hpp>

#include "adapters/http/http_client_call.h"

namespace orch::http::detail {

namespace {

namespace asio = boost::asio;

// True when an idle pooled socket has neither been closed by the peer nor
// received unsolicited bytes (a cheap non-blocking peek; for TLS, the bytes
// of a record, such as the peer's close_notify).
bool idle_socket_usable(Socket& s) {
  if (!s.is_open()) return false;
  char c;
  ssize_t n = ::recv(s.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0) return false;  // EOF (0) or stray data (>0)
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

}  // namespace

void ClientCore::set_up(Origin& o, const BaseUrl& url, const ConnectionSettings* settings) {
  o.connect_host = url.host;
  o.connect_port = url.port;
  if (url.tls) {
    const bool verify = !(settings && settings->insecure_skip_verify);
    const std::string ca_file = settings ? settings->ca_file : std::string();
    const std::string trust = verify ? ca_file : std::string("!");
    auto& ctx = tls_contexts[trust];
    if (!ctx) {
      std::string error;
      ctx = detail::make_client_context(ca_file, verify, &error);
      if (!ctx) {
        o.setup_failure = TransportError::tls;
        o.setup_error = "tls_config: " + error;
        tls_contexts.erase(trust);
        return;
      }
    }
    o.tls = ctx;
    o.session = std::make_shared<detail::TlsSessionSlot>();
  }
  const std::string& proxy_url =
      settings && settings->proxy ? *settings->proxy : proxies.proxy_for(url.tls);
  const std::string& no_proxy =
      settings && settings->no_proxy ? *settings->no_proxy : proxies.no_proxy;
  if (!proxy_url.empty() && !no_proxy_matches(no_proxy, url.host, url.port)) {
    std::string error;
    o.proxy = parse_proxy_url(proxy_url, &error);
    if (!o.proxy) {
      o.setup_failure = TransportError::bad_url;
      o.setup_error = error;
      return;
    }
    o.connect_host = o.proxy->host;
    o.connect_port = o.proxy->port;
    const std::string target = url.authority(/*always_port=*/true);
    o.connect_request = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
    if (!o.proxy->authorization.empty())
      o.connect_request += "Proxy-Authorization: " + o.proxy->authorization + "\r\n";
    o.connect_request += "User-Agent: campaign-orchestrator/0.1\r\n\r\n";
  }
  error_code ec;
  auto addr = asio::ip::make_address(o.connect_host, ec);
  if (!ec) {
    o.literal = true;
    o.endpoints.emplace_back(addr, o.connect_port);
  }
}

std::shared_ptr<Conn> ClientCore::take_idle(Origin& o) {
  while (!o.idle.empty()) {
    auto c = std::move(o.idle.back());
    o.idle.pop_back();
    const bool fresh = Clock::now() - c->idle_since < kFreshIdle;
    if (fresh ? c->socket().is_open() : idle_socket_usable(c->socket())) return c;
    c->close();
  }
  return nullptr;
}

void ClientCore::give_back(Origin& o, std::shared_ptr<Conn> c) {
  c->unwatch();
  if (shutting_down || static_cast<int>(o.idle.size()) >= limits.max_idle_per_origin) {
    c->close();
    return;
  }
  c->idle_since = Clock::now();
  o.idle.push_back(std::move(c));
}

void ClientCore::close_idle() {
  for (auto& [key, o] : origins) {
    for (auto& c : o.idle) c->close();
    o.idle.clear();
  }
}

void ClientCore::on_resolved(const std::string& key, error_code ec,
                             tcp::resolver::results_type results) {
  auto it = origins.find(key);
  if (it == origins.end()) return;
  Origin& o = it->second;
  o.resolving = false;
  if (!ec) {
    o.endpoints.clear();
    for (const auto& entry : results) o.endpoints.push_back(entry.endpoint());
    if (o.endpoints.empty()) ec = asio::error::host_not_found;
  }
  auto waiters = std::move(o.waiters);
  o.waiters.clear();
  for (auto& w : waiters) {
    if (auto call = w.lock()) call->on_resolved(ec);
  }
}

}  // namespace orch::http::detail
