// HttpClient over TLS against real servers on 127.0.0.1: keep-alive and
// session resumption, the handshake inside the call's deadline, TLS 1.2 as
// the floor, classified failures that are never retried, opting out of
// verification, and which proxy a call takes (a service's settings over the
// environment's).
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "adapters/http/http_client.h"
#include "adapters/http/http_server.h"
#include "adapters/http/tls_context.h"
#include "tests/support/connect_proxy.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/test_ca.h"

namespace orch::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using testing::ConnectProxy;
using testing::TempDir;
using testing::TestCertificates;

Request get(std::string target = "/") {
  Request r;
  r.method = "GET";
  r.target = std::move(target);
  return r;
}

std::shared_ptr<const ConnectionSettings> settings(ConnectionSettings s) {
  return std::make_shared<const ConnectionSettings>(std::move(s));
}

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    thread_ = std::thread([this] { io_.run(); });
    make_client();
  }

  void TearDown() override {
    on_io([this] {
      if (server_) server_->stop();
      server_.reset();
      client_.reset();
    });
    work_.reset();
    thread_.join();
  }

  void make_client(HttpClient::PoolLimits limits = {}, ProxyEnvironment env = {}) {
    on_io([&] { client_ = std::make_unique<HttpClient>(io_, limits, env); });
  }

  template <class F>
  void on_io(F&& f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().get();
  }

  // An HTTPS server answering 200 with the peer's address.
  void start_https(const ServerTls& tls) {
    on_io([&] {
      server_ = std::make_unique<HttpServer>(io_, [](Request req, Responder respond) {
        respond(Response::json(200, "\"" + req.remote + "\""));
      });
      ASSERT_EQ(server_->use_tls(tls), "");
      ASSERT_EQ(server_->listen("127.0.0.1", 0), "");
    });
    base_ = "https://127.0.0.1:" + std::to_string(server_->port());
  }

  CallResult call(const std::string& base, CallOptions options = fast(), Request request = get()) {
    std::promise<CallResult> done;
    asio::post(io_, [&] {
      client_->send(base, request, options, [&](CallResult r) { done.set_value(std::move(r)); });
    });
    auto f = done.get_future();
    if (f.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "call did not complete";
      return {};
    }
    return f.get();
  }

  static CallOptions fast() {
    CallOptions o;
    o.timeout = 3s;
    o.max_retries = 2;
    o.initial_backoff = 1ms;
    o.max_backoff = 2ms;
    return o;
  }

  CallOptions trusting_test_ca() {
    CallOptions o = fast();
    o.connection = settings({certs_.ca_file, false, std::nullopt, std::nullopt});
    return o;
  }

  TempDir dir_;
  TestCertificates certs_{dir_.path};
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::thread thread_;
  std::unique_ptr<HttpClient> client_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

TEST_F(TlsTransportTest, KeepAliveReusesOneVerifiedConnection) {
  start_https(certs_.server);
  const CallResult first = call(base_, trusting_test_ca());
  ASSERT_TRUE(first.ok()) << first.error_message;
  const CallResult second = call(base_, trusting_test_ca());
  ASSERT_TRUE(second.ok()) << second.error_message;
  EXPECT_EQ(first.response.body, second.response.body);  // the same client port
  EXPECT_EQ(second.attempts, 1);
  // localhost: a host name, checked against the certificate's DNS names.
  const CallResult by_name =
      call("https://localhost:" + std::to_string(server_->port()), trusting_test_ca());
  EXPECT_TRUE(by_name.ok()) << by_name.error_message;
}

TEST_F(TlsTransportTest, RefusedCertificatesAreClassifiedAndNeverRetried) {
  struct Case {
    const ServerTls* certificate;
    bool trust_test_ca;
    const char* classified;
  };
  const Case cases[] = {
      {&certs_.unknown_ca, false, "certificate_verify_failed: "},
      {&certs_.unknown_ca, true, "certificate_verify_failed: "},
      {&certs_.expired, true, "certificate_verify_failed: certificate has expired"},
      {&certs_.other_host, true, "hostname_mismatch: "}};
  for (const Case& c : cases) {
    start_https(*c.certificate);
    const CallResult r = call(base_, c.trust_test_ca ? trusting_test_ca() : fast());
    EXPECT_EQ(r.error, TransportError::tls) << r.error_message;
    EXPECT_EQ(r.error_message.rfind(c.classified, 0), 0u) << r.error_message;
    EXPECT_EQ(r.attempts, 1) << "a TLS failure is not retried";
    EXPECT_STREQ(to_string(r.error), "tls");
    on_io([this] { server_->stop(); });
  }
}

// The default trust is OpenSSL's default verify paths: SSL_CERT_FILE
// replaces the system's bundle, as it does for curl.
TEST_F(TlsTransportTest, SslCertFileReplacesTheSystemStore) {
  start_https(certs_.server);
  const char* old = std::getenv("SSL_CERT_FILE");
  const std::string saved = old ? old : "";
  ::setenv("SSL_CERT_FILE", certs_.ca_file.c_str(), 1);
  const CallResult r = call(base_, fast());  // no ca_file: the default paths
  if (old)
    ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
  else
    ::unsetenv("SSL_CERT_FILE");
  EXPECT_TRUE(r.ok()) << r.error_message;
}

TEST_F(TlsTransportTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  start_https(certs_.other_host);
  CallOptions o = fast();
  o.connection = settings({"", true, std::nullopt, std::nullopt});
  const CallResult r = call(base_, o);
  EXPECT_TRUE(r.ok()) << r.error_message;
}

TEST_F(TlsTransportTest, PlainHttpServerAtAnHttpsUrl) {
  on_io([&] {
    server_ = std::make_unique<HttpServer>(
        io_, [](Request, Responder respond) { respond(Response::json(200, "{}")); });
    ASSERT_EQ(server_->listen("127.0.0.1", 0), "");
  });
  const CallResult r = call("https://127.0.0.1:" + std::to_string(server_->port()), fast());
  EXPECT_EQ(r.error, TransportError::tls);
  EXPECT_EQ(r.error_message.rfind("tls_handshake: ", 0), 0u) << r.error_message;
}

TEST_F(TlsTransportTest, MissingCaFileIsAConfigurationError) {
  CallOptions o = fast();
  o.connection = settings({(dir_.path / "absent.pem").string(), false, std::nullopt, std::nullopt});
  const CallResult r = call("https://127.0.0.1:1", o);
  EXPECT_EQ(r.error, TransportError::tls);
  EXPECT_EQ(r.error_message.rfind("tls_config: ", 0), 0u) << r.error_message;
  EXPECT_NE(check_connection_settings(*o.connection), "");
}

// A TCP server that accepts and never says a word: the handshake must end
// with the call's deadline.
TEST_F(TlsTransportTest, HandshakeIsInsideTheCallsDeadline) {
  asio::io_context silent_io;
  tcp::acceptor acceptor(silent_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::vector<tcp::socket> held;
  std::thread silent([&] {
    boost::system::error_code ec;
    held.push_back(acceptor.accept(ec));
  });
  CallOptions o = trusting_test_ca();
  o.timeout = 300ms;
  o.max_retries = 0;
  const auto started = std::chrono::steady_clock::now();
  const CallResult r =
      call("https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()), o);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.error, TransportError::timeout) << r.error_message;
  EXPECT_NE(r.error_message.find("TLS handshake"), std::string::npos) << r.error_message;
  EXPECT_LT(took, 2s);
  silent.join();
}

// A TLS server on Asio's own stream, one exchange per connection, that
// records whether each handshake resumed a session.
class ResumptionServer {
 public:
  ResumptionServer(const ServerTls& tls, int max_version)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    std::string error;
    ctx_ = detail::make_server_context(tls.cert_chain_file, tls.private_key_file, &error);
    EXPECT_TRUE(ctx_) << error;
    if (max_version) SSL_CTX_set_max_proto_version(ctx_->native_handle(), max_version);
  }

  // Serves `connections` connections, then returns.
  void serve(int connections) {
    thread_ = std::thread([this, connections] {
      for (int i = 0; i < connections; ++i) {
        asio::ssl::stream<tcp::socket> stream(acceptor_.accept(), *ctx_);
        boost::system::error_code ec;
        stream.handshake(asio::ssl::stream_base::server, ec);
        if (ec) {
          handshake_errors_.push_back(ec.message());
          continue;
        }
        {
          std::lock_guard lock(mu_);
          resumed_.push_back(SSL_session_reused(stream.native_handle()) == 1);
        }
        std::string request;
        asio::read_until(stream, asio::dynamic_buffer(request), "\r\n\r\n", ec);
        asio::write(stream,
                    asio::buffer(std::string_view(
                        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")),
                    ec);
        stream.shutdown(ec);
      }
    });
  }
  void join() { thread_.join(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<bool> resumed() {
    std::lock_guard lock(mu_);
    return resumed_;
  }
  std::vector<std::string> handshake_errors_;

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<asio::ssl::context> ctx_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<bool> resumed_;
};

TEST_F(TlsTransportTest, NewConnectionsResumeTheSession) {
  // TLS 1.3 tickets, then TLS 1.2; each with a new client (no session yet).
  for (int version : {0, TLS1_2_VERSION}) {
    make_client();
    ResumptionServer server(certs_.server, version);
    server.serve(3);
    const std::string base = "https://127.0.0.1:" + std::to_string(server.port());
    for (int i = 0; i < 3; ++i) {  // "Connection: close": a new connection each time
      const CallResult r = call(base, trusting_test_ca());
      ASSERT_TRUE(r.ok()) << r.error_message;
      EXPECT_EQ(r.response.body, "ok");
    }
    server.join();
    EXPECT_TRUE(server.handshake_errors_.empty());
    EXPECT_EQ(server.resumed(), (std::vector<bool>{false, true, true})) << "version " << version;
  }
}

TEST_F(TlsTransportTest, TlsBelowOnePointTwoIsRefused) {
  ResumptionServer server(certs_.server, TLS1_1_VERSION);
  server.serve(1);
  CallOptions o = trusting_test_ca();
  const CallResult r = call("https://127.0.0.1:" + std::to_string(server.port()), o);
  server.join();
  EXPECT_EQ(r.error, TransportError::tls);
  EXPECT_EQ(r.error_message.rfind("tls_handshake: ", 0), 0u) << r.error_message;
}

TEST_F(TlsTransportTest, ServiceSettingsWinOverTheEnvironmentsProxy) {
  start_https(certs_.server);
  ConnectProxy from_env;
  ConnectProxy from_settings("svc:pa55word");
  ProxyEnvironment env;
  env.https_proxy = from_env.url();
  make_client({}, env);

  ConnectionSettings s{certs_.ca_file, false, std::nullopt, std::nullopt};
  ASSERT_TRUE(call(base_, CallOptions{trusting_test_ca()}).ok());
  EXPECT_EQ(from_env.tunnels(), 1);  // the environment's proxy

  s.proxy = "http://svc:pa55word@127.0.0.1:" + std::to_string(from_settings.port());
  CallOptions o = fast();
  o.connection = settings(s);
  CallResult r = call(base_, o);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(from_settings.tunnels(), 1);  // the service's, with its credentials

  s.proxy = "";  // none at all
  o.connection = settings(s);
  ASSERT_TRUE(call(base_, o).ok());
  s.proxy.reset();
  s.no_proxy = "*";  // the environment's proxy, but not for this service
  o.connection = settings(s);
  ASSERT_TRUE(call(base_, o).ok());
  EXPECT_EQ(from_env.tunnels(), 1);
  EXPECT_EQ(from_settings.tunnels(), 1);
}

TEST_F(TlsTransportTest, ProxyRefusalNamesTheProxyButNeverItsPassword) {
  start_https(certs_.server);
  ConnectProxy proxy("svc:right");
  ConnectionSettings s{certs_.ca_file, false,
                       "http://svc:wrong-pa55@127.0.0.1:" + std::to_string(proxy.port()),
                       std::nullopt};
  CallOptions o = fast();
  o.connection = settings(s);
  const CallResult r = call(base_, o);
  EXPECT_EQ(r.error, TransportError::connect);
  EXPECT_NE(r.error_message.find("407"), std::string::npos) << r.error_message;
  EXPECT_NE(r.error_message.find(std::to_string(proxy.port())), std::string::npos);
  EXPECT_EQ(r.error_message.find("wrong-pa55"), std::string::npos) << r.error_message;
  EXPECT_GE(proxy.refused(), 1);
}

}  // namespace
}  // namespace orch::http
