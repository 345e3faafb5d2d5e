// End-to-end tests of HttpServer and HttpClient over real loopback sockets.
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include "adapters/http/http_client.h"
#include "adapters/http/http_message.h"
#include "adapters/http/http_server.h"

namespace orch::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// 500 concurrent calls need ~1000 descriptors (client + server side).
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 4096 : std::min<rlim_t>(4096, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

CallOptions fast_options() {
  CallOptions o;
  o.timeout = 2000ms;
  o.max_retries = 2;
  o.initial_backoff = 1ms;
  o.max_backoff = 5ms;
  return o;
}

Request make_request(std::string method, std::string target, std::string body = {}) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

class HttpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raise_fd_limit();
    work_.emplace(asio::make_work_guard(io_));
    thread_ = std::thread([this] { io_.run(); });
    client_ = std::make_unique<HttpClient>(io_);
  }

  void TearDown() override {
    on_io([this] {
      held_.clear();
      if (server_) server_->stop();
      server_.reset();
      client_.reset();
    });
    work_.reset();
    thread_.join();
  }

  template <class F>
  void on_io(F&& f) {
    std::promise<void> done;
    auto fut = done.get_future();
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    fut.get();
  }

  void start_server(Handler handler, ServerLimits limits = {}) {
    server_ = std::make_unique<HttpServer>(io_, std::move(handler), limits);
    ASSERT_EQ(server_->listen("127.0.0.1", 0), "");
    ASSERT_NE(server_->port(), 0);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  CallResult call(Request req, CallOptions options = fast_options(),
                  std::optional<std::string> base = std::nullopt) {
    auto promise = std::make_shared<std::promise<CallResult>>();
    auto fut = promise->get_future();
    std::string url = base ? *base : base_;
    asio::post(io_, [this, url, req = std::move(req), options, promise]() mutable {
      client_->send(url, req, options,
                    [promise](CallResult r) { promise->set_value(std::move(r)); });
    });
    if (fut.wait_for(8s) != std::future_status::ready) {
      ADD_FAILURE() << "call did not complete";
      return {};
    }
    return fut.get();
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::vector<Responder> held_;  // io thread only
  std::string base_;
};

// Echoes the request as a small text body and counts connections.
struct Echo {
  std::mutex mu;
  std::set<std::string> remotes;
  int requests = 0;
  Request last;

  Handler handler() {
    return [this](Request req, Responder respond) {
      {
        std::lock_guard<std::mutex> lock(mu);
        remotes.insert(req.remote);
        ++requests;
        last = req;
      }
      Response res;
      res.status = 200;
      res.headers.emplace_back("Content-Type", "text/plain");
      res.headers.emplace_back("X-Echo-Method", req.method);
      res.body = req.method + " " + req.target + " " + req.body;
      respond(std::move(res));
    };
  }
};

TEST_F(HttpTransportTest, GetAndPostRoundTrip) {
  Echo echo;
  start_server(echo.handler());

  auto get = make_request("GET", "/v1/items?x=1");
  get.headers.emplace_back("Authorization", "Bearer secret-token");
  get.headers.emplace_back("traceparent", "00-abc-def-01");
  auto r = call(std::move(get));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.body, "GET /v1/items?x=1 ");
  EXPECT_EQ(r.response.header("x-echo-method").value_or(""), "GET");
  EXPECT_EQ(r.response.header("Content-Type").value_or(""), "text/plain");
  {
    std::lock_guard<std::mutex> lock(echo.mu);
    EXPECT_EQ(echo.last.header("Authorization").value_or(""), "Bearer secret-token");
    EXPECT_EQ(echo.last.header("traceparent").value_or(""), "00-abc-def-01");
    EXPECT_EQ(echo.last.header("User-Agent").value_or(""), "campaign-orchestrator/0.1");
    EXPECT_EQ(echo.last.header("Host").value_or(""),
              "127.0.0.1:" + std::to_string(server_->port()));
    EXPECT_EQ(echo.last.path(), "/v1/items");
    EXPECT_EQ(echo.last.query_param("x").value_or(""), "1");
    EXPECT_NE(echo.last.remote.find("127.0.0.1:"), std::string::npos);
  }

  auto post = make_request("POST", "/v1/things", R"({"a":1})");
  post.headers.emplace_back("Idempotency-Key", "k-1");
  r = call(std::move(post), fast_options(), base_ + "/api/");
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.body, R"(POST /api/v1/things {"a":1})");
  std::lock_guard<std::mutex> lock(echo.mu);
  EXPECT_EQ(echo.last.header("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(echo.last.header("Content-Length").value_or(""), "7");
  EXPECT_EQ(echo.last.header("Idempotency-Key").value_or(""), "k-1");
}

TEST_F(HttpTransportTest, KeepAliveReusesOneConnection) {
  Echo echo;
  start_server(echo.handler());
  for (int i = 0; i < 100; ++i) {
    auto r = call(make_request("GET", "/n/" + std::to_string(i)));
    ASSERT_TRUE(r.ok()) << r.error_message;
    ASSERT_EQ(r.response.status, 200);
    ASSERT_EQ(r.attempts, 1);
  }
  std::lock_guard<std::mutex> lock(echo.mu);
  EXPECT_EQ(echo.requests, 100);
  EXPECT_EQ(echo.remotes.size(), 1u);
}

TEST_F(HttpTransportTest, ManyConcurrentCalls) {
  Echo echo;
  start_server(echo.handler());
  constexpr int kCalls = 500;
  std::atomic<int> ok{0}, finished{0};
  std::promise<void> all_done;
  auto fut = all_done.get_future();
  asio::post(io_, [&] {
    for (int i = 0; i < kCalls; ++i) {
      client_->send(base_, make_request("POST", "/c", std::to_string(i)), fast_options(),
                    [&, i](CallResult r) {
                      if (r.ok() && r.response.status == 200 &&
                          r.response.body == "POST /c " + std::to_string(i)) {
                        ++ok;
                      }
                      if (++finished == kCalls) all_done.set_value();
                    });
    }
  });
  ASSERT_EQ(fut.wait_for(8s), std::future_status::ready);
  EXPECT_EQ(ok.load(), kCalls);
  std::lock_guard<std::mutex> lock(echo.mu);
  EXPECT_EQ(echo.requests, kCalls);
}

TEST_F(HttpTransportTest, OversizedBodyGets413) {
  Echo echo;
  ServerLimits limits;
  limits.max_body_bytes = 64 * 1024;
  start_server(echo.handler(), limits);
  auto r = call(make_request("POST", "/big", std::string(1 << 20, 'x')));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.response.status, 413);
  EXPECT_EQ(r.response.header("Content-Type").value_or(""), "application/problem+json");
  EXPECT_NE(r.response.body.find(R"("title":"Payload Too Large")"), std::string::npos);
  EXPECT_NE(r.response.body.find(R"("status":413)"), std::string::npos);
  EXPECT_NE(r.response.body.find(R"("type":"about:blank")"), std::string::npos);
  // The server is still fine and the client recovers on a new connection.
  r = call(make_request("POST", "/small", "ok"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200);
  std::lock_guard<std::mutex> lock(echo.mu);
  EXPECT_EQ(echo.requests, 1);
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(socket, asio::buffer(bytes));
  std::string out;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(out), ec);  // until the server closes
  return out;
}

TEST_F(HttpTransportTest, MalformedRequestsGet400AndServerSurvives) {
  Echo echo;
  ServerLimits limits;
  limits.max_header_bytes = 1024;
  start_server(echo.handler(), limits);
  const std::uint16_t port = server_->port();

  for (const std::string& garbage :
       {std::string("THIS IS NOT HTTP\r\n\r\n"), std::string("GET / HTTP/9\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
        std::string("\x01\x02\x03\xff\xfe\r\n\r\n", 9)}) {
    std::string reply = raw_exchange(port, garbage);
    EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
    EXPECT_NE(reply.find("application/problem+json"), std::string::npos) << reply;
    EXPECT_NE(reply.find(R"("status":400)"), std::string::npos) << reply;
  }
  std::string big_header =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n";
  std::string reply = raw_exchange(port, big_header);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply;

  // A raw, well-formed request with Connection: close still works.
  reply = raw_exchange(port, "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("GET /raw"), std::string::npos);

  auto r = call(make_request("GET", "/after"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200);
}

TEST_F(HttpTransportTest, HandlerMayAnswerLater) {
  start_server([this](Request req, Responder respond) {
    auto timer = std::make_shared<asio::steady_timer>(io_, 50ms);
    timer->async_wait([timer, respond = std::move(respond),
                       body = req.body](boost::system::error_code) {
      respond(Response::json(201, R"({"late":)" + body + "}"));
    });
  });
  auto start = std::chrono::steady_clock::now();
  auto r = call(make_request("POST", "/late", "true"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 201);
  EXPECT_EQ(r.response.body, R"({"late":true})");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST_F(HttpTransportTest, HandlerThrowingGets500) {
  start_server([](Request, Responder) { throw std::runtime_error("boom"); });
  auto opts = fast_options();
  opts.max_retries = 0;
  auto r = call(make_request("GET", "/throw"), opts);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 500);
  EXPECT_EQ(r.response.header("Content-Type").value_or(""), "application/problem+json");
  EXPECT_EQ(r.response.body.find("boom"), std::string::npos);  // no internals leaked
}

TEST_F(HttpTransportTest, DroppedResponderClosesConnection) {
  start_server([](Request, Responder) {});
  auto opts = fast_options();
  opts.max_retries = 0;
  auto r = call(make_request("GET", "/drop"), opts);
  EXPECT_EQ(r.error, TransportError::io);
  EXPECT_EQ(r.attempts, 1);
}

TEST_F(HttpTransportTest, TimeoutIsRetriedThenReported) {
  std::atomic<int> seen{0};
  start_server([this, &seen](Request, Responder respond) {
    ++seen;
    held_.push_back(std::move(respond));  // never answered during the test
  });
  auto opts = fast_options();
  opts.timeout = 100ms;
  opts.max_retries = 2;
  auto r = call(make_request("GET", "/slow", ""), opts);
  EXPECT_EQ(r.error, TransportError::timeout);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(seen.load(), 3);
  EXPECT_FALSE(r.error_message.empty());
}

TEST_F(HttpTransportTest, RetriesOn503ThenSucceeds) {
  std::atomic<int> seen{0};
  start_server([&seen](Request, Responder respond) {
    int n = ++seen;
    respond(Response::json(n < 3 ? 503 : 200, R"({"n":)" + std::to_string(n) + "}"));
  });
  auto r = call(make_request("POST", "/flaky", "{}"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.response.body, R"({"n":3})");
  EXPECT_EQ(seen.load(), 3);
}

TEST_F(HttpTransportTest, ExhaustedRetriesReturnLast5xx) {
  std::atomic<int> seen{0};
  start_server([&seen](Request, Responder respond) {
    ++seen;
    respond(Response::json(500, "{}"));
  });
  auto r = call(make_request("GET", "/down"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 500);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(seen.load(), 3);
}

TEST_F(HttpTransportTest, NoRetryOn4xx) {
  std::atomic<int> seen{0};
  std::atomic<int> status{404};
  start_server([&](Request, Responder respond) {
    ++seen;
    respond(Response::json(status.load(), "{}"));
  });
  auto r = call(make_request("GET", "/missing"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 404);
  EXPECT_EQ(r.attempts, 1);
  status = 400;
  r = call(make_request("POST", "/invalid", "{}"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 400);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(seen.load(), 2);
}

TEST_F(HttpTransportTest, RetryAfterIsHonoured) {
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  start_server([&](Request, Responder respond) {
    std::size_t n;
    {
      std::lock_guard<std::mutex> lock(mu);
      arrivals.push_back(std::chrono::steady_clock::now());
      n = arrivals.size();
    }
    if (n == 1) {
      auto res = Response::json(503, "{}");
      res.headers.emplace_back("Retry-After", "1");
      respond(std::move(res));
    } else {
      respond(Response::json(200, "{}"));
    }
  });
  auto r = call(make_request("GET", "/busy"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.attempts, 2);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(arrivals.size(), 2u);
  EXPECT_GE(arrivals[1] - arrivals[0], 1s);
}

TEST_F(HttpTransportTest, ConnectionRefusedIsConnectError) {
  std::uint16_t port;
  {
    asio::io_context tmp;
    tcp::acceptor a(tmp, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  auto opts = fast_options();
  opts.max_retries = 1;
  auto r = call(make_request("GET", "/"), opts, "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(r.error, TransportError::connect);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_NE(r.error_message.find("connect"), std::string::npos);
  EXPECT_STREQ(to_string(r.error), "connect");
}

TEST_F(HttpTransportTest, BadUrlIsReportedWithoutAttempts) {
  auto r = call(make_request("GET", "/"), fast_options(), "ftp://example.com");
  EXPECT_EQ(r.error, TransportError::bad_url);
  EXPECT_EQ(r.attempts, 0);
  r = call(make_request("GET", "/"), fast_options(), "not a url");
  EXPECT_EQ(r.error, TransportError::bad_url);
  auto bad_header = make_request("GET", "/");
  bad_header.headers.emplace_back("Authorization", "Bearer x\r\nInjected: yes");
  r = call(std::move(bad_header), fast_options(), "http://127.0.0.1:1");
  EXPECT_EQ(r.error, TransportError::bad_url);
  EXPECT_EQ(r.error_message.find("Bearer"), std::string::npos);  // no secrets
}

TEST_F(HttpTransportTest, StalePooledConnectionIsRetriedTransparently) {
  Echo first;
  start_server(first.handler());
  auto r = call(make_request("GET", "/one"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  const std::uint16_t port = server_->port();
  // Replace the server: the pooled connection is now dead.
  on_io([this] {
    server_->stop();
    server_.reset();
  });
  Echo second;
  server_ = std::make_unique<HttpServer>(io_, second.handler());
  ASSERT_EQ(server_->listen("127.0.0.1", port), "");
  r = call(make_request("POST", "/two", "{}"));
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.attempts, 1);
  std::lock_guard<std::mutex> lock(second.mu);
  EXPECT_EQ(second.requests, 1);
}

// A scripted peer: answers the first request on a connection, then closes that
// connection when the second request arrives without answering it; a new
// connection is answered normally.
TEST_F(HttpTransportTest, ReusedConnectionClosedBeforeResponseIsRetriedOnFreshOne) {
  asio::io_context fake_io;
  tcp::acceptor acceptor(fake_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t port = acceptor.local_endpoint().port();
  std::atomic<int> connections{0};
  std::thread fake([&] {
    auto guard = [](tcp::socket& s) {
      timeval tv{5, 0};
      setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    };
    auto read_request = [](tcp::socket& s, std::string& buf) {
      auto n = asio::read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n");
      buf.erase(0, n);
    };
    try {
      tcp::socket a = acceptor.accept();
      ++connections;
      guard(a);
      std::string buf;
      read_request(a, buf);
      asio::write(a, asio::buffer(std::string_view(
                         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
      read_request(a, buf);
      a.close();  // the reused connection dies before any response byte
      tcp::socket b = acceptor.accept();
      ++connections;
      guard(b);
      read_request(b, buf);
      asio::write(b, asio::buffer(std::string_view(
                         "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh")));
      std::string rest;
      boost::system::error_code ec;
      asio::read(b, asio::dynamic_buffer(rest), ec);  // until the client closes
    } catch (const std::exception& e) {
      ADD_FAILURE() << "fake server: " << e.what();
    }
  });
  struct Joiner {
    std::function<void()> fn;
    ~Joiner() { fn(); }
  } joiner{[&] {
    on_io([this] { client_.reset(); });  // closes the pooled connection
    fake.join();
  }};
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto r = call(make_request("GET", "/first"), fast_options(), base);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.body, "ok");
  r = call(make_request("POST", "/second"), fast_options(), base);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.body, "fresh");
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(connections.load(), 2);
}

TEST_F(HttpTransportTest, HostNamesAreResolvedAndCached) {
  Echo echo;
  start_server(echo.handler());
  const std::string base = "http://localhost:" + std::to_string(server_->port());
  for (int i = 0; i < 3; ++i) {
    auto r = call(make_request("GET", "/named"), fast_options(), base);
    ASSERT_TRUE(r.ok()) << r.error_message;
    EXPECT_EQ(r.response.status, 200);
  }
  std::lock_guard<std::mutex> lock(echo.mu);
  EXPECT_EQ(echo.last.header("Host").value_or(""),
            "localhost:" + std::to_string(server_->port()));
}

TEST_F(HttpTransportTest, DestroyingClientWithCallsInFlightIsSafe) {
  start_server([this](Request, Responder respond) {
    auto timer = std::make_shared<asio::steady_timer>(io_, 30ms);
    timer->async_wait([timer, respond = std::move(respond)](boost::system::error_code) {
      respond(Response::json(200, "{}"));
    });
  });
  constexpr int kCalls = 20;
  std::atomic<int> ok{0}, finished{0};
  std::promise<void> all_done;
  auto fut = all_done.get_future();
  asio::post(io_, [&] {
    for (int i = 0; i < kCalls; ++i) {
      client_->send(base_, make_request("GET", "/inflight"), fast_options(),
                    [&](CallResult r) {
                      if (r.ok() && r.response.status == 200) ++ok;
                      if (++finished == kCalls) all_done.set_value();
                    });
    }
    client_.reset();
  });
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(ok.load(), kCalls);
}

TEST(FullJitterBackoff, StaysWithinCapAndGrows) {
  CallOptions o;
  o.initial_backoff = 100ms;
  o.backoff_coefficient = 2.0;
  o.max_backoff = 1000ms;
  EXPECT_EQ(full_jitter_backoff(o, 1, 0.0), 0ms);
  EXPECT_EQ(full_jitter_backoff(o, 1, 1.0), 100ms);
  EXPECT_EQ(full_jitter_backoff(o, 2, 1.0), 200ms);
  EXPECT_EQ(full_jitter_backoff(o, 3, 1.0), 400ms);
  EXPECT_EQ(full_jitter_backoff(o, 3, 0.5), 200ms);
  EXPECT_EQ(full_jitter_backoff(o, 4, 1.0), 800ms);
  EXPECT_EQ(full_jitter_backoff(o, 5, 1.0), 1000ms);   // capped
  EXPECT_EQ(full_jitter_backoff(o, 10000, 1.0), 1000ms);  // no overflow
  EXPECT_EQ(full_jitter_backoff(o, 10000, 0.25), 250ms);
  for (int retry = 1; retry <= 12; ++retry) {
    auto cap = std::min<std::chrono::milliseconds>(
        o.max_backoff, std::chrono::milliseconds(100LL << (retry - 1)));
    for (double u = 0.0; u < 1.0; u += 0.0625) {
      auto d = full_jitter_backoff(o, retry, u);
      EXPECT_GE(d, 0ms);
      EXPECT_LE(d, cap);
    }
  }
}

}  // namespace
}  // namespace orch::http
