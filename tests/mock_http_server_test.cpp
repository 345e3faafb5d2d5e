// The scripted mock HTTP server (tests/support/mock_http_server.h), exercised
// with the real HttpClient over loopback.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "adapters/http/http_client.h"
#include "adapters/http/http_message.h"
#include "tests/support/mock_http_server.h"

namespace orch::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

http::CallOptions no_retries(std::chrono::milliseconds timeout = 5000ms) {
  http::CallOptions o;
  o.max_retries = 0;
  o.timeout = timeout;
  return o;
}

// An HttpClient on its own io thread with a blocking call().
class Client {
 public:
  Client() : client_(std::make_unique<http::HttpClient>(io_)), thread_([this] { io_.run(); }) {}
  ~Client() {
    std::promise<void> done;
    asio::post(io_, [&] {
      client_.reset();
      done.set_value();
    });
    done.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  http::CallResult call(const std::string& base, std::string method, std::string target,
                        std::string body = {}, http::Headers headers = {},
                        http::CallOptions options = no_retries()) {
    http::Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.body = std::move(body);
    req.headers = std::move(headers);
    auto promise = std::make_shared<std::promise<http::CallResult>>();
    auto future = promise->get_future();
    client_->send(base, req, options,
                  [promise](http::CallResult r) { promise->set_value(std::move(r)); });
    if (future.wait_for(30s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer within 30 s";
      return {};
    }
    return future.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<http::HttpClient> client_;
  std::thread thread_;
};

TEST(MockHttpServer, ResponsesAreConsumedInOrderAndTheLastRepeats) {
  MockHttpServer mock;
  Client client;
  mock.script("GET", "/items", {reply(200, "first", {{"X-Seq", "1"}}),
                                reply(201, "second"),
                                reply(500, "last")});
  auto r1 = client.call(mock.base_url(), "GET", "/items/1");
  ASSERT_TRUE(r1.ok()) << r1.error_message;
  EXPECT_EQ(r1.response.status, 200);
  EXPECT_EQ(r1.response.body, "first");
  EXPECT_EQ(r1.response.header("x-seq"), "1");
  auto r2 = client.call(mock.base_url(), "GET", "/items?page=2");
  EXPECT_EQ(r2.response.status, 201);
  EXPECT_EQ(r2.response.body, "second");
  for (int i = 0; i < 3; ++i) {
    auto r = client.call(mock.base_url(), "GET", "/items");
    EXPECT_EQ(r.response.status, 500);
    EXPECT_EQ(r.response.body, "last");
  }
  EXPECT_EQ(mock.count("/items"), 5);
}

TEST(MockHttpServer, UnmatchedIs404AndMethodsAndPrefixesSelect) {
  MockHttpServer mock;
  Client client;
  mock.script("POST", "/v1", {reply(202, "post")});
  mock.script("*", "/v1/special", {reply(200, "special")});
  mock.script("", "/any", {reply(204)});
  EXPECT_EQ(client.call(mock.base_url(), "GET", "/v1/x").response.status, 404);  // wrong method
  EXPECT_EQ(client.call(mock.base_url(), "POST", "/elsewhere").response.status, 404);
  EXPECT_EQ(client.call(mock.base_url(), "POST", "/v1/x").response.body, "post");
  // The longest matching prefix wins, for any method.
  EXPECT_EQ(client.call(mock.base_url(), "POST", "/v1/special/1").response.body, "special");
  EXPECT_EQ(client.call(mock.base_url(), "DELETE", "/v1/special").response.body, "special");
  EXPECT_EQ(client.call(mock.base_url(), "PUT", "/any/thing").response.status, 204);
  // Re-scripting replaces the list.
  mock.script("POST", "/v1", {reply(409)});
  EXPECT_EQ(client.call(mock.base_url(), "POST", "/v1/x").response.status, 409);
  // An empty list removes the script.
  mock.script("POST", "/v1", {});
  EXPECT_EQ(client.call(mock.base_url(), "POST", "/v1/x").response.status, 404);
}

TEST(MockHttpServer, RecordsWhatItReceived) {
  MockHttpServer mock;
  Client client;
  mock.script("POST", "/send", {reply(200)});
  client.call(mock.base_url(), "POST", "/send?dry=1", R"({"to":"a"})",
              {{"Authorization", "Bearer t"}, {"Idempotency-Key", "k-1"}});
  client.call(mock.base_url(), "POST", "/send", R"({"to":"b"})");
  client.call(mock.base_url(), "GET", "/other");
  auto all = mock.received();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].method, "POST");
  EXPECT_EQ(all[0].target, "/send?dry=1");
  EXPECT_EQ(all[0].query_param("dry"), "1");
  EXPECT_EQ(all[0].body, R"({"to":"a"})");
  EXPECT_EQ(all[0].header("authorization"), "Bearer t");
  EXPECT_EQ(all[0].header("Idempotency-Key"), "k-1");
  EXPECT_EQ(all[2].path(), "/other");
  EXPECT_EQ(mock.count("/send"), 2);
  EXPECT_EQ(mock.count("/other"), 1);
  EXPECT_EQ(mock.count("/"), 3);
  EXPECT_EQ(mock.count("/none"), 0);
  ASSERT_TRUE(mock.last("/send"));
  EXPECT_EQ(mock.last("/send")->body, R"({"to":"b"})");
  EXPECT_FALSE(mock.last("/none"));
}

TEST(MockHttpServer, DelayedResponses) {
  MockHttpServer mock;
  Client client;
  mock.script("GET", "/slow", {reply(200, "late", {}, 300ms)});
  auto start = std::chrono::steady_clock::now();
  auto r = client.call(mock.base_url(), "GET", "/slow");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.body, "late");
  EXPECT_GE(took, 300ms);
  // A delay beyond the client's deadline is a timeout.
  mock.script("GET", "/slower", {reply(200, "", {}, 5000ms)});
  auto t = client.call(mock.base_url(), "GET", "/slower", {}, {}, no_retries(200ms));
  EXPECT_EQ(t.error, http::TransportError::timeout) << t.error_message;
  // Other requests are served meanwhile (the delay does not block the server).
  EXPECT_EQ(client.call(mock.base_url(), "GET", "/slow").response.body, "late");
}

TEST(MockHttpServer, DroppedConnections) {
  MockHttpServer mock;
  Client client;
  mock.script("GET", "/flaky", {drop(), drop(100ms), reply(200, "ok")});
  auto r1 = client.call(mock.base_url(), "GET", "/flaky");
  EXPECT_EQ(r1.error, http::TransportError::io) << r1.error_message;
  auto r2 = client.call(mock.base_url(), "GET", "/flaky");
  EXPECT_EQ(r2.error, http::TransportError::io) << r2.error_message;
  auto r3 = client.call(mock.base_url(), "GET", "/flaky");
  ASSERT_TRUE(r3.ok()) << r3.error_message;
  EXPECT_EQ(r3.response.body, "ok");
  EXPECT_EQ(mock.count("/flaky"), 3);
}

TEST(MockHttpServer, ClientRetriesWalkTheScript) {
  MockHttpServer mock;
  Client client;
  mock.script("POST", "/jobs", {reply(503, "", {{"Retry-After", "0"}}), drop(), reply(201, "created")});
  http::CallOptions options;
  options.max_retries = 3;
  options.initial_backoff = 1ms;
  options.max_backoff = 5ms;
  auto r = client.call(mock.base_url(), "POST", "/jobs", "{}", {}, options);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 201);
  // 503, then the drop on the kept-alive connection (which HttpClient retries
  // once on a fresh connection without counting an attempt), then 201.
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(mock.count("/jobs"), 3);
}

TEST(MockHttpServer, ResetForgetsScriptsRequestsAndPendingAnswers) {
  MockHttpServer mock;
  Client client;
  mock.script("GET", "/a", {reply(200)});
  client.call(mock.base_url(), "GET", "/a");
  EXPECT_EQ(mock.count("/a"), 1);
  // A call parked on a long delay is dropped by reset(). (Its own client: on a
  // pooled connection HttpClient would resend once on a fresh one.)
  mock.script("GET", "/parked", {reply(200, "", {}, 60s)});
  Client other;
  auto parked = std::async(std::launch::async, [&] {
    return other.call(mock.base_url(), "GET", "/parked", {}, {}, no_retries(20s));
  });
  while (mock.count("/parked") == 0) std::this_thread::yield();
  mock.reset();
  auto p = parked.get();
  EXPECT_EQ(p.error, http::TransportError::io) << p.error_message;
  EXPECT_TRUE(mock.received().empty());
  EXPECT_EQ(mock.count("/a"), 0);
  EXPECT_EQ(client.call(mock.base_url(), "GET", "/a").response.status, 404);
}

TEST(MockHttpServer, ShutsDownWithAnswersPending) {
  Client client;
  std::future<http::CallResult> parked;
  {
    MockHttpServer mock;
    mock.script("GET", "/parked", {reply(200, "", {}, 60s)});
    parked = std::async(std::launch::async, [&client, url = mock.base_url()] {
      return client.call(url, "GET", "/parked", {}, {}, no_retries(20s));
    });
    while (mock.count("/parked") == 0) std::this_thread::yield();
  }
  EXPECT_FALSE(parked.get().ok());
}

}  // namespace
}  // namespace orch::testing
