#include "tests/crash_events.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "adapters/http/blocking_http.h"
#include "tests/crash_calls.h"

namespace orch::testing {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kThreshold = 50;  // the purchase trigger's condition: amount > 50
constexpr double kPurchaseReward = 10, kSignupReward = 5, kTutorialReward = 2.5;
constexpr std::size_t kResendBatch = 1'000;                 // the API's largest batch
constexpr auto kParkedPatience = std::chrono::seconds(5);   // parked, nothing else to do
constexpr auto kWorkWait = std::chrono::milliseconds(300);  // for work to kill under
constexpr int kKillSlack = 2;  // shares of the batches sent ahead of the kills
constexpr auto kKillPatience = std::chrono::seconds(20);  // for a kill the stream waits for

const char* type_name(int type) {
  static const char* kNames[] = {"purchase", "signup", "tutorial_done", "page_view"};
  return kNames[type];
}

// An RFC 3339 time within one day, from the event's number.
std::string event_time(int n) {
  char text[32];
  const int s = n % 86'400;
  std::snprintf(text, sizeof text, "2025-01-15T%02d:%02d:%02dZ", s / 3600, s / 60 % 60, s % 60);
  return text;
}

std::string phone(const char* prefix, int i) {
  const std::string digits = std::to_string(i);
  return prefix + std::string(8 - digits.size(), '0') + digits;
}

}  // namespace

EventDriver::EventDriver(std::string api_url, std::string sandbox_url, EventLoad load)
    : api_url_(std::move(api_url)),
      sandbox_url_(std::move(sandbox_url)),
      load_(load),
      kill_rng_(load.seed + 1) {
  plan();
}

EventDriver::~EventDriver() {
  std::vector<std::thread> creators;
  {
    std::lock_guard lock(mu_);
    creators.swap(creators_);
  }
  for (std::thread& t : creators) t.join();
}

std::pair<int, json> EventDriver::call(const std::string& method, const std::string& target,
                                       const json& body) {
  return call_until_answered(api_url_, method, target, body, {{"Content-Type", "application/json"}},
                             &retries_);
}

void EventDriver::complain(const std::string& who, const std::string& what) {
  std::lock_guard lock(complaints_mu_);
  if (bad_ < 20) std::fprintf(stderr, "%s: %s\n", who.c_str(), what.c_str());
  ++bad_;
}

// The stream, decided up front from the seed: new events of random types
// and customers, redeliveries of earlier ones (some from the same batch).
void EventDriver::plan() {
  std::mt19937 rng(load_.seed);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  int shop = 0, app = 0;
  auto fresh = [&]() -> std::size_t {
    Planned e;
    const bool late = load_.late_customers > 0 && pick(1000) < load_.late_permille;
    e.customer = late ? late_id(pick(load_.late_customers)) : customer_id(pick(load_.customers));
    const int t = pick(100);
    e.type = t < 45   ? Type::purchase
             : t < 55 ? Type::signup
             : t < 70 ? Type::tutorial
                      : Type::page_view;
    json data;
    if (e.type == Type::purchase || e.type == Type::page_view) {
      const int r = pick(20);  // the boundary and just over it, now and then
      e.amount = r == 0 ? kThreshold : r == 1 ? kThreshold + 0.01 : 1 + pick(100);
      data["amount"] = e.amount;
    }
    if (e.type == Type::purchase) data["sku"] = "sku-" + std::to_string(pick(17));
    if (e.type == Type::signup) data["plan"] = "free";
    if (e.type == Type::tutorial) data["lesson"] = pick(5);
    if (e.type == Type::page_view) data["page"] = "/home";
    // The same ids in both sources: an event is its (source, id).
    e.source = e.type == Type::purchase ? "crash-shop" : "crash-app";
    e.id = "ev-" + std::to_string(e.type == Type::purchase ? ++shop : ++app);
    e.body = {{"specversion", "1.0"},  {"id", e.id},
              {"source", e.source},    {"type", type_name(static_cast<int>(e.type))},
              {"subject", e.customer}, {"time", event_time(static_cast<int>(events_.size()))},
              {"data", data}};
    events_.push_back(std::move(e));
    return events_.size() - 1;
  };
  for (int sent = 0; sent < load_.events;) {
    const int n = std::min(load_.batch, load_.events - sent);
    std::vector<std::size_t> batch;
    const std::size_t first_new = events_.size();
    for (int i = 0; i < n; ++i) {
      if (events_.empty() || pick(100) >= load_.redeliver_percent) {
        batch.push_back(fresh());
      } else if (events_.size() > first_new && pick(4) == 0) {
        batch.push_back(first_new + pick(static_cast<int>(events_.size() - first_new)));
      } else {
        batch.push_back(pick(static_cast<int>(events_.size())));
      }
    }
    batches_.push_back(std::move(batch));
    sent += n;
  }
}

bool EventDriver::configure() {
  json customers = json::array();
  for (int i = 0; i < load_.customers; ++i)
    customers.push_back({{"id", customer_id(i)},
                         {"phone", phone("+2548", i)},
                         {"first_name", "E" + std::to_string(i)}});
  auto [status, report] = call("POST", "/v1/customers", customers);
  if (status != 200 || report.value("refused", 1) != 0) {
    std::fprintf(stderr, "event customers: %d %s\n", status, report.dump().substr(0, 300).c_str());
    return false;
  }
  const json reward = {{"type", "reward"}, {"currency", "USD"}};
  const std::pair<json, std::string*> triggers[] = {
      {{{"name", "crash big spender"},
        {"event_type", "purchase"},
        {"conditions", {{"all", {{{"field", "data.amount"}, {"op", ">"}, {"value", kThreshold}}}}}},
        {"re_eligibility", "every"},
        {"action", reward}},
       &purchase_trigger_},
      {{{"name", "crash signup bonus"},
        {"event_type", "signup"},
        {"re_eligibility", "once"},
        {"action", reward}},
       &signup_trigger_},
      {{{"name", "crash tutorial bonus"},
        {"event_type", "tutorial_done"},
        {"re_eligibility", {{"once_per_hours", 24}}},
        {"action", reward}},
       &tutorial_trigger_}};
  const double amounts[] = {kPurchaseReward, kSignupReward, kTutorialReward};
  for (std::size_t i = 0; i < std::size(triggers); ++i) {
    json body = triggers[i].first;
    body["action"]["amount"] = amounts[i];
    auto [s, stored] = call("POST", "/v1/triggers", body);
    if (s != 201 || !stored.contains("id")) {
      std::fprintf(stderr, "trigger: %d %s\n", s, stored.dump().c_str());
      return false;
    }
    *triggers[i].second = stored["id"];
  }
  return true;
}

void EventDriver::run() {
  running_ = true;
  std::vector<std::thread> threads;
  for (int t = 0; t < load_.threads; ++t) threads.emplace_back([this, t] { sender(t); });
  for (std::thread& t : threads) t.join();
  // The late customers no checkpoint or kill created yet.
  for (int j = 0; j < load_.late_customers; ++j) create_next_late(/*wait=*/true);
  std::vector<std::thread> creators;
  {
    std::lock_guard lock(mu_);
    creators.swap(creators_);
  }
  for (std::thread& t : creators) t.join();
  // Kills may still land while the queue drains.
  json queue;
  wait_drained(std::chrono::seconds(30), &queue);
  running_ = false;
}

// Sends batches thread, thread + threads, ...; a third of the late
// customers are created at fixed points of the stream. The stream keeps
// pace with the kills: kill k waits for a (k+1)/(K+1) share of the batches
// (crash_harness.cpp), and batch b for the kill two shares before it, so
// batches flow around every kill until the last.
void EventDriver::sender(int thread) {
  const int n = static_cast<int>(batches_.size());
  const int checkpoints = load_.late_customers / 3;
  for (int b = thread; b < n; b += load_.threads) {
    const int kills = b * (load_.kills + 1) / n - kKillSlack;
    const auto give_up = Clock::now() + kKillPatience;
    while (kills_seen_.load() < kills && Clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    send(batches_[b], nullptr);  // a failure is a complaint
    ++batches_answered_;
    for (int c = 1; c <= checkpoints; ++c)
      if (b == c * n / (checkpoints + 1)) create_next_late(/*wait=*/true);
    std::this_thread::sleep_for(std::chrono::milliseconds(load_.pause_ms));
  }
}

bool EventDriver::send(const std::vector<std::size_t>& indices, std::vector<std::string>* answers) {
  json batch = json::array();
  {
    std::lock_guard lock(mu_);
    for (std::size_t i : indices) {
      Planned& e = events_[i];
      if (!e.sent) {
        e.sent = true;
        auto late = late_created_.find(e.customer);
        e.before_customer = e.customer.rfind("elate-", 0) == 0 && late == late_created_.end();
      }
      batch.push_back(e.body);
    }
  }
  deliveries_ += static_cast<long long>(indices.size());
  auto [status, body] = call("POST", "/v1/events", {{"events", std::move(batch)}});
  const json* results = body.is_object() ? &body["results"] : nullptr;
  if (status != 202 || !results || !results->is_array() || results->size() != indices.size()) {
    complain("POST /v1/events", std::to_string(status) + " " + body.dump().substr(0, 300));
    return false;
  }
  std::lock_guard lock(mu_);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    Planned& e = events_[indices[k]];
    const std::string answer = (*results)[k].value("status", "");
    if (answers) answers->push_back(answer);
    if (answer == "accepted") {
      ++accepted_;
      e.acknowledged = true;
    } else if (answer == "duplicate") {
      ++duplicates_;
      e.acknowledged = true;
    } else {
      complain(e.source + "/" + e.id, "answered " + (*results)[k].dump());
    }
  }
  return true;
}

void EventDriver::create_next_late(bool wait) {
  int j;
  {
    std::lock_guard lock(mu_);
    if (next_late_ >= load_.late_customers) return;
    j = next_late_++;
    late_created_.insert(late_id(j));
    if (!wait) {
      creators_.emplace_back([this, j] { create_late(j); });
      return;
    }
  }
  create_late(j);
}

void EventDriver::create_late(int j) {
  // A resend after a lost answer finds the customer: 200, not 201.
  auto [status, body] = call(
      "POST", "/v1/customers",
      {{"id", late_id(j)}, {"phone", phone("+2549", j)}, {"first_name", "L" + std::to_string(j)}});
  if (status != 201 && status != 200) complain(late_id(j), "create: " + std::to_string(status));
}

double EventDriver::progress() const {
  return batches_.empty()
             ? 1.0
             : static_cast<double>(batches_answered_.load()) / static_cast<double>(batches_.size());
}

// Every other kill (while the stream runs) follows a late customer's
// creation by 0 to 6 ms; the others wait (up to kWorkWait) until the queue
// holds events to match, or (every fourth kill) actions to run.
void EventDriver::before_kill() {
  ++kills_seen_;
  if (!running_) return;
  ++kills_while_streaming_;
  std::chrono::microseconds head_start{-1};
  bool for_actions = false;  // else for events to match
  {
    std::lock_guard lock(mu_);
    ++kill_calls_;
    if (kill_calls_ % 2 == 0 && next_late_ < load_.late_customers)
      head_start = std::chrono::microseconds(kill_rng_() % 6'000);
    for_actions = kill_calls_ % 4 == 3;
  }
  http::BlockingHttp probe{http::direct_connection()};
  const auto deadline = Clock::now() + kWorkWait;
  do {
    auto r = probe.call(api_url_, "GET", "/v1/event-queue", "", {}, std::chrono::milliseconds(200));
    const json q =
        r.ok() && r.response.status == 200 ? json::parse(r.response.body, nullptr, false) : json();
    const bool matching = q.is_object() && q.value("events_pending", 0) > 0;
    const bool acting =
        q.is_object() && q.value("actions_pending", 0) + q.value("actions_in_flight", 0) > 0;
    if ((for_actions ? acting : matching) || head_start.count() >= 0 || Clock::now() >= deadline) {
      kills_while_matching_ += matching;
      kills_while_acting_ += acting;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } while (running_);
  if (head_start.count() < 0) return;
  create_next_late(/*wait=*/false);
  ++kills_while_waking_;
  std::this_thread::sleep_for(head_start);
}

bool EventDriver::drained(json* queue) {
  auto [status, q] = call("GET", "/v1/event-queue", nullptr);
  *queue = q;
  if (status != 200 || !q.is_object()) return false;
  return q.value("events_pending", 1) == 0 && q.value("actions_pending", 1) == 0 &&
         q.value("actions_in_flight", 1) == 0;
}

// Waits until nothing is pending or in flight and nothing parked, or until
// `limit`; parked events with nothing else to do get kParkedPatience (the
// sweep would have woken them by then). True when all is done.
bool EventDriver::wait_drained(std::chrono::seconds limit, json* queue) {
  const auto deadline = Clock::now() + limit;
  auto idle_since = Clock::now();
  bool idle = false;
  while (Clock::now() < deadline) {
    if (drained(queue)) {
      if (queue->value("events_parked", 1) == 0) return true;
      if (!idle) idle_since = Clock::now();
      idle = true;
      if (Clock::now() - idle_since > kParkedPatience) return false;
    } else {
      idle = false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool EventDriver::matches_trigger(const Planned& e) const {
  return e.type == Type::signup || e.type == Type::tutorial ||
         (e.type == Type::purchase && e.amount > kThreshold);
}

bool EventDriver::verify(json* summary) {
  // Every event once more, as a client unsure of its earlier sends would:
  // one acknowledged before must be a duplicate now.
  std::vector<bool> acknowledged(events_.size());
  long long resent_unacknowledged = 0, resent_duplicates = 0;
  const long long stream_accepted = accepted_.load(), stream_duplicates = duplicates_.load(),
                  stream_deliveries = deliveries_.load();
  {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < events_.size(); ++i) {
      acknowledged[i] = events_[i].acknowledged;
      if (!acknowledged[i]) ++resent_unacknowledged;
    }
  }
  for (std::size_t from = 0; from < events_.size(); from += kResendBatch) {
    std::vector<std::size_t> indices;
    for (std::size_t i = from; i < std::min(events_.size(), from + kResendBatch); ++i)
      indices.push_back(i);
    std::vector<std::string> answers;
    if (!send(indices, &answers)) continue;
    for (std::size_t k = 0; k < indices.size(); ++k) {
      resent_duplicates += answers[k] == "duplicate";
      if (acknowledged[indices[k]] && answers[k] == "accepted")
        complain(events_[indices[k]].source + "/" + events_[indices[k]].id,
                 "acknowledged with a 202 before, accepted as new when sent again: it was lost");
    }
  }
  json queue;
  if (!wait_drained(std::chrono::seconds(60), &queue))
    complain("event queue", "not drained: " + queue.dump());
  if (queue.is_object() && queue.value("dead_letters", 0) != 0)
    complain("event queue", "dead letters: " + queue.dump());

  // What the engine says of each event, against what it should have done.
  struct Paid {
    std::string customer;
    double amount = 0;
  };
  std::map<std::string, Paid> keys;  // eligible matches done: match id -> credit
  std::map<std::string, Expected> expected;
  std::map<std::string, int> signups_done, tutorials_done;
  long long sent_before_customer = 0;
  for (const Planned& e : events_) {
    const std::string who = e.source + "/" + e.id;
    if (e.before_customer) ++sent_before_customer;
    Expected& x = expected[e.customer];
    if (e.type == Type::purchase && e.amount > kThreshold) ++x.purchases;
    x.signup |= e.type == Type::signup;
    x.tutorial |= e.type == Type::tutorial;
    auto [status, view] = call("GET", "/v1/events/" + e.id + "?source=" + e.source, nullptr);
    if (status == 404) {
      complain(who, "lost: GET answered 404");
      continue;
    }
    if (status != 200) {
      complain(who, "GET answered " + std::to_string(status));
      continue;
    }
    if (view.value("status", "") != "processed") complain(who, "status " + view.dump());
    const json matches = view.value("matches", json::array());
    const std::string& trigger = e.type == Type::purchase ? purchase_trigger_
                                 : e.type == Type::signup ? signup_trigger_
                                                          : tutorial_trigger_;
    if (!matches_trigger(e)) {
      if (!matches.empty()) complain(who, "matches nothing, yet " + matches.dump());
      continue;
    }
    if (matches.size() != 1 || matches[0].value("trigger", "") != trigger) {
      complain(who, "one match of " + trigger + " expected, not " + matches.dump());
      continue;
    }
    const json& m = matches[0];
    const std::string status_of_match = m.value("status", "");
    const double amount = e.type == Type::purchase ? kPurchaseReward
                          : e.type == Type::signup ? kSignupReward
                                                   : kTutorialReward;
    if (status_of_match == "done") {
      keys[m.value("id", "")] = {e.customer, amount};
      if (e.type == Type::signup) ++signups_done[e.customer];
      if (e.type == Type::tutorial) ++tutorials_done[e.customer];
    } else if (status_of_match != "not_eligible" || e.type == Type::purchase) {
      complain(who, "match " + m.dump());
    }
  }
  for (const auto& [customer, x] : expected) {
    if (signups_done[customer] != (x.signup ? 1 : 0))
      complain(customer, std::to_string(signups_done[customer]) + " signup rewards done");
    if (tutorials_done[customer] != (x.tutorial ? 1 : 0))
      complain(customer, std::to_string(tutorials_done[customer]) + " tutorial rewards done");
  }

  // The sandbox: exactly the expected credits, each key paid once.
  http::BlockingHttp sandbox{http::direct_connection()};
  auto lr = sandbox.call(sandbox_url_, "GET", "/sandbox/credits", "", {}, std::chrono::seconds(30));
  const json ledger = lr.ok() && lr.response.status == 200
                          ? json::parse(lr.response.body, nullptr, false)
                          : json{{"credits", json::array()}};
  if (!lr.ok() || lr.response.status != 200) complain("sandbox", "GET /sandbox/credits failed");
  std::set<std::string> paid;
  std::map<std::string, std::map<double, int>> credited;  // customer -> amount -> credits
  long long credits = 0, replays = 0, expected_credits = 0;
  for (const json& c : ledger.value("credits", json::array())) {
    const std::string key = c.value("idempotency_key", ""), customer = c.value("customer_id", "");
    if (customer.rfind("ecust-", 0) != 0 && customer.rfind("elate-", 0) != 0) continue;
    ++credits;
    replays += c.value("replays", 0);
    ++credited[customer][c.value("amount", 0.0)];
    if (!paid.insert(key).second) complain(key, "paid twice");
    auto k = keys.find(key);
    if (k == keys.end()) {
      complain(key, "credited, but no event's match done has this id: " + c.dump());
    } else if (k->second.customer != customer || k->second.amount != c.value("amount", 0.0)) {
      complain(key, "credited " + c.dump() + ", not " + k->second.customer + " " +
                        std::to_string(k->second.amount));
    }
  }
  for (const auto& [key, p] : keys)
    if (!paid.count(key)) complain(key, "match done, no credit in the sandbox for " + p.customer);
  for (const auto& [customer, x] : expected) {
    const int want[] = {x.purchases, x.signup ? 1 : 0, x.tutorial ? 1 : 0};
    const double amounts[] = {kPurchaseReward, kSignupReward, kTutorialReward};
    for (int i = 0; i < 3; ++i) {
      expected_credits += want[i];
      const int got = credited[customer][amounts[i]];
      if (got != want[i])
        complain(customer, std::to_string(got) + " credits of " + std::to_string(amounts[i]) +
                               ", expected " + std::to_string(want[i]));
    }
  }
  (*summary)["events"] = {{"events", events_.size()},
                          {"deliveries", stream_deliveries},
                          {"accepted", stream_accepted},
                          {"duplicates", stream_duplicates},
                          {"resent_unacknowledged", resent_unacknowledged},
                          {"resent_duplicates", resent_duplicates},
                          {"sent_before_customer", sent_before_customer},
                          {"credits", credits},
                          {"expected_credits", expected_credits},
                          {"sandbox_replays", replays},
                          {"kills_while_streaming", kills_while_streaming_.load()},
                          {"kills_while_matching", kills_while_matching_.load()},
                          {"kills_while_acting", kills_while_acting_.load()},
                          {"kills_while_waking", kills_while_waking_.load()},
                          {"client_retries", retries_.load()},
                          {"violations", bad_}};
  return bad_ == 0;
}

}  // namespace orch::testing
