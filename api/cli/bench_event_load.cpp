// The events benchmark's workload and client (bench_event_load.h).
//
// Events: 60 % purchase (amount 1 to 200, one of four categories), 20 %
// signup (plan free, pro or team), 20 % tutorial_done (step 1 to 5), each
// for a customer drawn from all of them; every field is a hash of the
// event's index, so a run repeats. The ten triggers below match 0.675 a
// purchase, 0.267 a signup and 0.2 a tutorial_done: about 1.14 matches an
// event.
#include "api/cli/bench_event_load.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>

namespace orch::api::events_bench {

using nlohmann::json;

namespace {

constexpr const char* kCategories[] = {"books", "electronics", "food", "toys"};
constexpr const char* kPlans[] = {"free", "pro", "team"};
constexpr int kMaxAmount = 200;
constexpr int kSteps = 5;
constexpr std::chrono::seconds kRequestTimeout{120};

enum class Op { gt, ge, lt, le, eq };

// A condition on one field of the event's data: a number compared, or a
// string equal.
struct Leaf {
  const char* field;  // under data.
  Op op;
  int number;
  const char* text;  // non-null: == this string
};

struct TriggerSpec {
  const char* name;
  const char* event_type;
  std::vector<Leaf> all;  // empty: every event of the type
  const char* amount;     // the reward, USD
};

const std::vector<TriggerSpec>& specs() {
  static const std::vector<TriggerSpec> kSpecs = {
      {"purchase over 100", "purchase", {{"amount", Op::gt, 100, nullptr}}, "5"},
      {"big spender", "purchase", {{"amount", Op::gt, 150, nullptr}}, "10"},
      {"books lover", "purchase", {{"category", Op::eq, 0, "books"}}, "2"},
      {"mid basket",
       "purchase",
       {{"amount", Op::ge, 40, nullptr}, {"amount", Op::lt, 60, nullptr}},
       "1"},
      {"electronics splurge",
       "purchase",
       {{"category", Op::eq, 0, "electronics"}, {"amount", Op::gt, 180, nullptr}},
       "20"},
      {"welcome", "signup", {}, "3"},
      {"pro signup", "signup", {{"plan", Op::eq, 0, "pro"}}, "15"},
      {"tutorial finished", "tutorial_done", {{"step", Op::eq, kSteps, nullptr}}, "2"},
      {"tutorial halfway", "tutorial_done", {{"step", Op::ge, 3, nullptr}}, "1"},
      {"tutorial started", "tutorial_done", {{"step", Op::le, 1, nullptr}}, "0.5"},
  };
  return kSpecs;
}

const char* op_text(Op op) {
  switch (op) {
    case Op::gt:
      return ">";
    case Op::ge:
      return ">=";
    case Op::lt:
      return "<";
    case Op::le:
      return "<=";
    case Op::eq:
      return "==";
  }
  return "==";
}

bool holds(const Leaf& leaf, const EventFields& e) {
  const std::string_view field = leaf.field;
  if (leaf.text) {
    const char* value = field == "category" ? e.category : field == "plan" ? e.plan : nullptr;
    return value && std::strcmp(value, leaf.text) == 0;
  }
  int value = 0;
  if (field == "amount" && std::strcmp(e.type, "purchase") == 0)
    value = e.amount;
  else if (field == "step" && std::strcmp(e.type, "tutorial_done") == 0)
    value = e.step;
  else
    return false;  // absent: no op but exists false matches
  switch (leaf.op) {
    case Op::gt:
      return value > leaf.number;
    case Op::ge:
      return value >= leaf.number;
    case Op::lt:
      return value < leaf.number;
    case Op::le:
      return value <= leaf.number;
    case Op::eq:
      return value == leaf.number;
  }
  return false;
}

// splitmix64: the event's fields from its index.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<json> Workload::triggers() const {
  std::vector<json> out;
  for (const TriggerSpec& s : specs()) {
    json t = {
        {"name", s.name},
        {"event_type", s.event_type},
        {"re_eligibility", "every"},
        {"action", {{"type", "reward"}, {"amount", json::parse(s.amount)}, {"currency", "USD"}}}};
    if (!s.all.empty()) {
      json all = json::array();
      for (const Leaf& l : s.all)
        all.push_back({{"field", std::string("data.") + l.field},
                       {"op", op_text(l.op)},
                       {"value", l.text ? json(l.text) : json(l.number)}});
      t["conditions"] = {{"all", std::move(all)}};
    }
    out.push_back(std::move(t));
  }
  return out;
}

EventFields Workload::event(std::int64_t index) const {
  const std::uint64_t h = mix(static_cast<std::uint64_t>(index));
  EventFields e;
  e.subject =
      customer_id(static_cast<std::int64_t>((h >> 32) % static_cast<std::uint64_t>(customers_)));
  const std::uint64_t kind = h % 10;
  if (kind < 6) {
    e.type = "purchase";
    e.amount = 1 + static_cast<int>((h >> 8) % kMaxAmount);
    e.category = kCategories[(h >> 20) % std::size(kCategories)];
  } else if (kind < 8) {
    e.type = "signup";
    e.plan = kPlans[(h >> 8) % std::size(kPlans)];
  } else {
    e.type = "tutorial_done";
    e.step = 1 + static_cast<int>((h >> 8) % kSteps);
  }
  return e;
}

int Workload::matches(std::int64_t index) const {
  const EventFields e = event(index);
  int n = 0;
  for (const TriggerSpec& s : specs()) {
    if (std::strcmp(s.event_type, e.type) != 0) continue;
    if (std::all_of(s.all.begin(), s.all.end(), [&](const Leaf& l) { return holds(l, e); })) ++n;
  }
  return n;
}

std::string Workload::event_id(const std::string& run, std::int64_t index) {
  return run + "-" + std::to_string(index);
}

// Written by hand: the client must not take the CPU the server is measured on.
std::string Workload::event_json(const std::string& run, std::int64_t index) const {
  const EventFields e = event(index);
  std::string s;
  s.reserve(160);
  s += "{\"id\":\"";
  s += event_id(run, index);
  s += "\",\"source\":\"";
  s += kSource;
  s += "\",\"type\":\"";
  s += e.type;
  s += "\",\"subject\":\"";
  s += e.subject;
  s += "\",\"data\":{";
  if (e.amount) {
    s += "\"amount\":" + std::to_string(e.amount) + ",\"category\":\"";
    s += e.category;
    s += '"';
  } else if (*e.plan) {
    s += "\"plan\":\"";
    s += e.plan;
    s += '"';
  } else {
    s += "\"step\":" + std::to_string(e.step);
  }
  s += "}}";
  return s;
}

std::string Workload::batch_body(const std::string& run, std::int64_t first, int count) const {
  std::string s = "{\"events\":[";
  s.reserve(static_cast<std::size_t>(count) * 160 + 16);
  for (int i = 0; i < count; ++i) {
    if (i) s += ',';
    s += event_json(run, first + i);
  }
  s += "]}";
  return s;
}

EventSender::EventSender(std::string base, const Workload& workload, int batch)
    : base_(std::move(base)),
      workload_(workload),
      batch_(batch),
      // The API is on this machine: no proxy from the environment.
      client_(io_, http::HttpClient::PoolLimits{1 << 10}, http::ProxyEnvironment{}) {}

void EventSender::post(const std::string& run, std::int64_t first, int count,
                       std::function<void()> then) {
  http::Request req;
  req.method = "POST";
  req.target = "/v1/events";
  req.body = workload_.batch_body(run, first, count);
  req.headers.emplace_back("Content-Type", "application/json");
  http::CallOptions options;
  options.timeout = kRequestTimeout;
  options.max_retries = 0;  // a lost answer is an error, never resent
  options.connection = http::direct_connection();
  const auto t0 = Clock::now();
  client_.send(base_, req, options, [this, t0, then = std::move(then)](const http::CallResult& r) {
    tally(r, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    then();
  });
}

// The 202's counts, read without parsing its 100 results: the body is
// {"accepted":A,"conflicts":C,"duplicates":D,"results":[...]}.
void EventSender::tally(const http::CallResult& r, double ms) {
  if (!r.ok() || r.response.status != 202) {
    if (totals_.errors++ == 0)
      totals_.first_error =
          r.ok() ? std::to_string(r.response.status) + " " + r.response.body.substr(0, 300)
                 : r.error_message;
    return;
  }
  totals_.request_ms.push_back(ms);
  const std::string& b = r.response.body;
  auto count = [&](std::string_view key) -> std::int64_t {
    const std::size_t at = b.find(key);
    return at == std::string::npos ? 0 : std::strtoll(b.c_str() + at + key.size(), nullptr, 10);
  };
  totals_.accepted += count("\"accepted\":");
  totals_.duplicates += count("\"duplicates\":");
  totals_.conflicts += count("\"conflicts\":");
}

SendTotals EventSender::finish(Clock::time_point t0) {
  totals_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  SendTotals out = std::move(totals_);
  totals_ = {};
  return out;
}

SendTotals EventSender::burst(const std::string& run, std::int64_t first, std::int64_t count,
                              int connections) {
  std::int64_t next = 0;
  std::function<void()> lane = [&] {
    if (next >= count) return;
    const int n = static_cast<int>(std::min<std::int64_t>(batch_, count - next));
    const std::int64_t at = first + next;
    next += n;
    post(run, at, n, lane);
  };
  const auto t0 = Clock::now();
  for (int c = 0; c < connections; ++c) lane();
  io_.restart();
  io_.run();
  return finish(t0);
}

SendTotals EventSender::paced(const std::string& run, std::int64_t first, std::int64_t count,
                              double per_second) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(batch_) / per_second));
  boost::asio::steady_timer timer(io_);
  std::int64_t next = 0;
  std::int64_t batches = 0;
  int in_flight = 0;
  const auto t0 = Clock::now();
  bool armed = false;
  std::function<void()> tick;
  // Sends every batch whose time has come, as far as kMaxInFlight lets it,
  // then waits for the next one's time (or, at the limit, for an answer).
  tick = [&] {
    while (next < count && in_flight < kMaxInFlight && Clock::now() >= t0 + batches * interval) {
      if (Clock::now() > t0 + (batches + 1) * interval) ++totals_.late;
      const int n = static_cast<int>(std::min<std::int64_t>(batch_, count - next));
      ++in_flight;
      post(run, first + next, n, [&] {
        --in_flight;
        tick();
      });
      next += n;
      ++batches;
    }
    if (next >= count || armed || in_flight >= kMaxInFlight) return;
    armed = true;
    timer.expires_at(t0 + batches * interval);
    timer.async_wait([&](const boost::system::error_code& ec) {
      armed = false;
      if (!ec) tick();
    });
  };
  tick();
  io_.restart();
  io_.run();
  return finish(t0);
}

}  // namespace orch::api::events_bench
