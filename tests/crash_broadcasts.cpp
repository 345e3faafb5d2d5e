#include "tests/crash_broadcasts.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "adapters/http/blocking_http.h"
#include "tests/crash_calls.h"

namespace orch::testing {

using nlohmann::json;

namespace {

// The broadcasts' customers: other loads (crash_events.h) add customers of
// their own, whom the broadcasts must not reach.
constexpr const char* kLocation = "crash-broadcast";

}  // namespace

BroadcastDriver::BroadcastDriver(std::string api_url, std::string sandbox_url, BroadcastLoad load)
    : api_url_(std::move(api_url)), sandbox_url_(std::move(sandbox_url)), load_(load) {}

std::pair<int, json> BroadcastDriver::call(const std::string& method, const std::string& target,
                                           const json& body, const std::string& key) {
  http::Headers headers = {{"Content-Type", "application/json"}};
  if (!key.empty()) headers.push_back({"Idempotency-Key", key});
  return call_until_answered(api_url_, method, target, body, headers, &retries_);
}

bool BroadcastDriver::configure() {
  json customers = json::array();
  for (int i = 0; i < load_.customers; ++i) {
    std::string digits = std::to_string(i);
    customers.push_back({{"id", customer_id(i)},
                         {"phone", "+2547" + std::string(8 - digits.size(), '0') + digits},
                         {"first_name", "C" + digits},
                         {"location", kLocation}});
  }
  auto [status, report] = call("POST", "/v1/customers", customers);
  if (status != 200 || report.value("refused", 1) != 0) {
    std::fprintf(stderr, "import: %d %s\n", status, report.dump().substr(0, 300).c_str());
    return false;
  }
  for (int i = 0; i < load_.customers; ++i) {
    if (!capped(i) && !opted_out(i)) continue;
    const std::string base = "/v1/users/" + customer_id(i);
    auto [s, body] = capped(i) ? call("PUT", base, {{"max_messages_per_day", load_.cap},
                                                    {"rolling", {"day"}}})
                               : call("POST", base + "/opt-out", {{"channel", "sms"}});
    if (s != 200 && s != 201) {
      std::fprintf(stderr, "%s: %d %s\n", base.c_str(), s, body.dump().c_str());
      return false;
    }
  }
  return true;
}

void BroadcastDriver::run() {
  for (int b = 0; b < load_.broadcasts; ++b) {
    auto [status, body] = call("POST", "/v1/broadcasts",
                               {{"name", "crash broadcast " + std::to_string(b)},
                                {"channel", b % 2 ? "whatsapp" : "sms"},
                                {"base_template", "Hi {first_name|there}, offer " + std::to_string(b)}});
    if (status != 201) {
      std::fprintf(stderr, "create broadcast: %d %s\n", status, body.dump().c_str());
      continue;
    }
    ids_.push_back(body["id"]);
  }
  sending_ = true;
  for (const std::string& id : ids_) {
    auto [status, body] = call("POST", "/v1/broadcasts/" + id + "/send",
                               {{"segment", {{"location", kLocation}}}}, "send-" + id);
    if (status != 202) std::fprintf(stderr, "send %s: %d %s\n", id.c_str(), status, body.dump().c_str());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  for (const std::string& id : ids_) {
    while (std::chrono::steady_clock::now() < deadline) {
      auto [status, b] = call("GET", "/v1/broadcasts/" + id, nullptr);
      if (status == 200 && (b["status"] == "sent" || b["status"] == "failed")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  sending_ = false;
}

bool BroadcastDriver::verify(json* summary) {
  int bad = 0;
  auto complain = [&](const std::string& who, const std::string& what) {
    if (bad < 20) std::fprintf(stderr, "%s: %s\n", who.c_str(), what.c_str());
    ++bad;
  };
  http::BlockingHttp sandbox{http::direct_connection()};
  std::map<std::string, int> sent_to;  // customer -> broadcasts that reached them
  long long messages = 0, sent = 0, skipped = 0, failed = 0, replays = 0;
  for (const std::string& id : ids_) {
    auto [status, b] = call("GET", "/v1/broadcasts/" + id, nullptr);
    if (status != 200 || (b["status"] != "sent" && b["status"] != "failed")) {
      complain(id, "not settled: " + b.dump().substr(0, 300));
      continue;
    }
    std::map<std::string, long long> counts;
    std::set<std::string> customers, recorded_sent;
    std::string cursor;
    for (;;) {
      auto [ps, page] = call("GET", "/v1/broadcasts/" + id + "/messages?page_size=1000" +
                                        (cursor.empty() ? "" : "&cursor=" + cursor), nullptr);
      if (ps != 200) {
        complain(id, "messages: " + std::to_string(ps));
        break;
      }
      for (const json& m : page["data"]) {
        const std::string c = m["customer_id"], s = m["status"];
        if (!customers.insert(c).second) complain(id, "two records for " + c);
        ++counts[s];
        if (s == "sent") recorded_sent.insert(c);
      }
      if (!page["pagination"].contains("next_cursor")) break;
      cursor = page["pagination"]["next_cursor"];
    }
    if (static_cast<int>(customers.size()) != load_.customers)
      complain(id, std::to_string(customers.size()) + " records for " +
                       std::to_string(load_.customers) + " customers");
    if (counts["pending"] != 0) complain(id, "messages left pending");
    for (const char* s : {"sent", "skipped", "failed"})
      if (b["stats"][s] != counts[s]) complain(id, std::string("stats differ on ") + s);
    messages += static_cast<long long>(customers.size());
    sent += counts["sent"];
    skipped += counts["skipped"];
    failed += counts["failed"];
    // The sandbox applied exactly the messages recorded as sent, each once.
    auto lr = sandbox.call(sandbox_url_, "GET", "/sandbox/ledger/" + id);
    json ledger = lr.ok() && lr.response.status == 200 ? json::parse(lr.response.body, nullptr, false)
                                                       : json{{"side_effects", json::array()}};
    std::set<std::string> applied;
    for (const json& e : ledger["side_effects"]) {
      if (!applied.insert(e["step"].get<std::string>()).second)
        complain(id, "applied twice: " + e["step"].get<std::string>());
      replays += e.value("replays", 0);
    }
    if (applied != recorded_sent)
      complain(id, std::to_string(applied.size()) + " messages applied, " +
                       std::to_string(recorded_sent.size()) + " recorded as sent");
    for (const std::string& c : recorded_sent) ++sent_to[c];
  }
  for (int i = 0; i < load_.customers; ++i) {
    const std::string c = customer_id(i);
    if (capped(i) && sent_to[c] > load_.cap)
      complain(c, "capped at " + std::to_string(load_.cap) + ", sent " + std::to_string(sent_to[c]));
    if (opted_out(i) && sent_to[c] > load_.broadcasts / 2)  // only the whatsapp ones
      complain(c, "opted out of sms, sent " + std::to_string(sent_to[c]));
  }
  (*summary)["broadcasts"] = {{"broadcasts", ids_.size()}, {"messages", messages},
                              {"sent", sent},         {"skipped", skipped},
                              {"failed", failed},     {"sandbox_replays", replays},
                              {"client_retries", retries_.load()}, {"violations", bad}};
  return bad == 0;
}

}  // namespace orch::testing
