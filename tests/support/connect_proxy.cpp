#include "tests/support/connect_proxy.h"

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <openssl/evp.h>

namespace orch::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct ConnectProxy::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::string expected_authorization;  // "" = none required
  std::atomic<int> tunnels{0};
  std::atomic<int> refused{0};
  mutable std::mutex mu;
  std::vector<std::string> targets;  // guarded by mu
  std::thread thread;

  void accept();
};

namespace {

// One client connection: the CONNECT exchange, then two pumps.
struct Tunnel : std::enable_shared_from_this<Tunnel> {
  Tunnel(ConnectProxy::Impl* proxy, tcp::socket client)
      : proxy(proxy),
        client(std::move(client)),
        upstream(this->client.get_executor()),
        resolver(this->client.get_executor()) {}

  void start() {
    asio::async_read_until(client, asio::dynamic_buffer(head, 16 * 1024), "\r\n\r\n",
                           [self = shared_from_this()](error_code ec, std::size_t n) {
                             if (!ec) self->on_head(n);
                           });
  }

  void on_head(std::size_t n) {
    const std::string request = head.substr(0, n);
    head.erase(0, n);  // bytes after the header go upstream first
    const std::size_t sp1 = request.find(' ');
    const std::size_t sp2 = request.find(' ', sp1 + 1);
    if (request.compare(0, sp1, "CONNECT") != 0 || sp2 == std::string::npos) return answer(400);
    const std::string target = request.substr(sp1 + 1, sp2 - sp1 - 1);
    {
      std::lock_guard lock(proxy->mu);
      proxy->targets.push_back(target);
    }
    if (!proxy->expected_authorization.empty() &&
        request.find("\r\nProxy-Authorization: " + proxy->expected_authorization + "\r\n") ==
            std::string::npos) {
      ++proxy->refused;
      return answer(407);
    }
    const std::size_t colon = target.rfind(':');
    std::string host = target.substr(0, colon);
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    resolver.async_resolve(
        host, target.substr(colon + 1),
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          if (ec) return self->answer(502);
          asio::async_connect(self->upstream, results, [self](error_code ec, const tcp::endpoint&) {
            if (ec) return self->answer(502);
            self->established();
          });
        });
  }

  void answer(int status) {
    reply = status == 407 ? "HTTP/1.1 407 Proxy Authentication Required\r\n"
                            "Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n"
                          : "HTTP/1.1 " + std::to_string(status) +
                                " Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    asio::async_write(client, asio::buffer(reply),
                      [self = shared_from_this()](error_code, std::size_t) { self->close(); });
  }

  void established() {
    ++proxy->tunnels;
    reply = "HTTP/1.1 200 Connection established\r\n\r\n";
    asio::async_write(client, asio::buffer(reply),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->close();
                        if (!self->head.empty()) {
                          asio::async_write(self->upstream, asio::buffer(self->head),
                                            [self](error_code ec, std::size_t) {
                                              if (ec) return self->close();
                                              self->pump(self->client, self->upstream, self->up);
                                              self->pump(self->upstream, self->client, self->down);
                                            });
                          return;
                        }
                        self->pump(self->client, self->upstream, self->up);
                        self->pump(self->upstream, self->client, self->down);
                      });
  }

  void pump(tcp::socket& from, tcp::socket& to, std::array<char, 16 * 1024>& buffer) {
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                   error_code ec, std::size_t n) {
      if (ec) return self->close();
      asio::async_write(to, asio::buffer(buffer.data(), n),
                        [self, &from, &to, &buffer](error_code ec, std::size_t) {
                          if (ec) return self->close();
                          self->pump(from, to, buffer);
                        });
    });
  }

  void close() {
    error_code ignored;
    client.close(ignored);
    upstream.close(ignored);
  }

  ConnectProxy::Impl* proxy;  // outlives the tunnel: its io_context holds the handlers
  tcp::socket client;
  tcp::socket upstream;
  tcp::resolver resolver;
  std::string head;
  std::string reply;
  std::array<char, 16 * 1024> up{};
  std::array<char, 16 * 1024> down{};
};

std::string basic(const std::string& credentials) {
  std::string out(4 * ((credentials.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(credentials.data()),
                                static_cast<int>(credentials.size()));
  out.resize(static_cast<std::size_t>(n));
  return "Basic " + out;
}

}  // namespace

void ConnectProxy::Impl::accept() {
  acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec) return;
    std::make_shared<Tunnel>(this, std::move(socket))->start();
    accept();
  });
}

ConnectProxy::ConnectProxy(std::string credentials) : impl_(std::make_unique<Impl>()) {
  if (!credentials.empty()) impl_->expected_authorization = basic(credentials);
  impl_->accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

ConnectProxy::~ConnectProxy() {
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t ConnectProxy::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string ConnectProxy::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

int ConnectProxy::tunnels() const { return impl_->tunnels.load(); }

int ConnectProxy::refused() const { return impl_->refused.load(); }

std::vector<std::string> ConnectProxy::targets() const {
  std::lock_guard lock(impl_->mu);
  return impl_->targets;
}

}  // namespace orch::testing
