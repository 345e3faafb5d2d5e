// An OTLP/HTTP collector for tests: a MockHttpServer answering POST
// /v1/traces that keeps the spans it receives (checking each request's
// shape), and a span attribute's value as JSON.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/mock_http_server.h"

namespace orch::testing {

// A span attribute's value as JSON (string, or intValue as a number).
inline nlohmann::json attr(const nlohmann::json& span, const std::string& key) {
  for (const nlohmann::json& a : span.value("attributes", nlohmann::json::array())) {
    if (a.value("key", "") != key) continue;
    const nlohmann::json& v = a["value"];
    if (v.contains("stringValue")) return v["stringValue"];
    if (v.contains("intValue")) return std::stoll(v["intValue"].get<std::string>());
    if (v.contains("boolValue")) return v["boolValue"];
    if (v.contains("doubleValue")) return v["doubleValue"];
  }
  return nullptr;
}

// An OTLP/HTTP collector: accepts POST /v1/traces and keeps the spans.
class OtlpReceiver {
 public:
  OtlpReceiver() { server_.script("POST", "/v1/traces", {reply(200, "{}")}); }
  std::string endpoint() const { return server_.base_url(); }

  // Every span received so far, in arrival order; checks each request's shape.
  std::vector<nlohmann::json> spans() const {
    std::vector<nlohmann::json> out;
    for (const http::Request& r : server_.received()) {
      EXPECT_EQ(r.method, "POST");
      EXPECT_EQ(r.path(), "/v1/traces");
      EXPECT_EQ(r.header("Content-Type").value_or(""), "application/json");
      const nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
      EXPECT_TRUE(body.is_object()) << r.body;
      if (!body.is_object()) continue;
      for (const nlohmann::json& rs : body["resourceSpans"]) {
        bool named = false;
        for (const nlohmann::json& a : rs["resource"]["attributes"])
          named |=
              a["key"] == "service.name" && a["value"]["stringValue"] == "campaign-orchestrator";
        EXPECT_TRUE(named) << rs["resource"].dump();
        for (const nlohmann::json& ss : rs["scopeSpans"])
          for (const nlohmann::json& s : ss["spans"]) out.push_back(s);
      }
    }
    return out;
  }

  // Waits (bounded) until a span satisfying `pred` arrived; returns all spans.
  template <typename Pred>
  std::vector<nlohmann::json> wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(8)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::vector<nlohmann::json> all;
    while (std::chrono::steady_clock::now() < deadline) {
      all = spans();
      for (const nlohmann::json& s : all)
        if (pred(s)) return all;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "the awaited span never arrived; " << all.size() << " spans received";
    return all;
  }

 private:
  MockHttpServer server_;
};

}  // namespace orch::testing
