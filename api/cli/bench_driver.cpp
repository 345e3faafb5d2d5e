// The benchmark's client: each lane's chain of calls (start the campaign,
// long-poll its progress to review, approve it, long-poll it to its end),
// the next lane started as one ends.
#include "api/cli/bench_driver.h"

#include <algorithm>
#include <utility>

#include <boost/asio/steady_timer.hpp>

#include "engine/json/json_read.h"
#include "phases/campaign/campaign_input.h"

namespace orch::api::bench {

namespace net = boost::asio;
using nlohmann::json;

namespace {

constexpr int kLongPollMs = 30'000;
constexpr const char* kReviewer = "bench-reviewer";

}  // namespace

Driver::Driver(std::string base, DriveMode mode, int total, int concurrency, std::string tag,
               std::vector<std::string> ids)
    : base_(std::move(base)),
      mode_(mode),
      total_(total),
      concurrency_(concurrency),
      tag_(std::move(tag)),
      ids_(std::move(ids)),
      // The API is on this machine: no proxy from the environment.
      client_(io_, http::HttpClient::PoolLimits{1 << 16}, http::ProxyEnvironment{}) {}

Driver::Result Driver::run() {
  const auto t0 = Clock::now();
  net::steady_timer deadline(io_);
  if (deadline_.count() > 0) {
    deadline.expires_after(deadline_);
    deadline.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      result_.unfinished = total_ - ended_;
      io_.stop();
    });
  }
  for (int c = 0; c < std::min(concurrency_, total_); ++c) next();
  io_.run();
  result_.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return std::move(result_);
}

void Driver::next() {
  if (next_ >= total_) {
    if (ended_ == total_ && deadline_.count() > 0) io_.stop();  // the deadline's timer
    return;
  }
  const int i = next_++;
  auto lane = std::make_shared<Lane>();
  lane->started = Clock::now();
  if (mode_ == DriveMode::resume) {
    lane->id = ids_[static_cast<std::size_t>(i)];
    return approve(lane);
  }
  json input = phases::sample_campaign_input("bench " + tag_ + " " + std::to_string(i),
                                             {kReviewer});
  if (poison_rate_ > 0) {
    input["workflow_id"] = campaign_id(tag_, i);
    lane->poisoned = poisoned(i, poison_rate_);
  }
  send("POST", "/v1/campaigns", input.dump(), "bench-" + tag_ + "-" + std::to_string(i),
       [this, lane](int status, json body) {
         if (status != 201 && status != 200) return error(lane);
         lane->id = body.value("workflow_id", "");
         wait_for_review(lane);
       });
}

void Driver::wait_for_review(const LanePtr& lane) {
  send("GET",
       "/v1/workflows/" + lane->id +
           "/progress?wait_for=awaiting_approval,completed,failed,cancelled,paused&wait_ms=" +
           std::to_string(kLongPollMs),
       "", "", [this, lane](int status, json body) {
         if (status != 200) return error(lane);
         const std::string s = body.value("status", "");
         if (s == "awaiting_approval") {
           if (mode_ == DriveMode::park) {
             ++result_.parked;
             result_.parked_ids.push_back(lane->id);
             return next();
           }
           return approve(lane);
         }
         if (ended(s)) return finish(lane, s);
         wait_for_review(lane);  // the long poll timed out
       });
}

void Driver::approve(const LanePtr& lane) {
  const json body = {{"reviewer", kReviewer}, {"comment", "approved by the benchmark"}};
  send("POST", "/v1/workflows/" + lane->id + "/signals/approve", body.dump(),
       "bench-approve-" + lane->id, [this, lane](int status, json) {
         if (status != 202) return error(lane);
         wait_for_end(lane);
       });
}

void Driver::wait_for_end(const LanePtr& lane) {
  send("GET",
       "/v1/workflows/" + lane->id +
           "/progress?wait_for=completed,failed,cancelled,paused&wait_ms=" +
           std::to_string(kLongPollMs),
       "", "", [this, lane](int status, json body) {
         if (status != 200) return error(lane);
         const std::string s = body.value("status", "");
         if (ended(s)) return finish(lane, s);
         wait_for_end(lane);
       });
}

void Driver::finish(const LanePtr& lane, const std::string& status) {
  result_.latencies_ms.push_back(
      std::chrono::duration<double, std::milli>(Clock::now() - lane->started).count());
  if (status == "completed") ++result_.completed;
  else if (status == "failed") ++result_.failed;
  else if (status == "cancelled") ++result_.cancelled;
  else ++result_.errors;  // paused: the benchmark configures no pausing
  if (poison_rate_ > 0 && (status == "failed") != lane->poisoned) ++result_.mismatched;
  ++ended_;
  next();
}

void Driver::error(const LanePtr&) {
  ++result_.errors;
  ++ended_;
  next();
}

void Driver::send(const char* method, std::string target, std::string body,
          const std::string& idempotency_key, Then then) {
  http::Request req;
  req.method = method;
  req.target = std::move(target);
  req.body = std::move(body);
  if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", idempotency_key);
  http::CallOptions options;
  options.timeout = std::chrono::milliseconds(kLongPollMs + 30'000);
  client_.send(base_, req, options, [then = std::move(then)](http::CallResult r) {
    if (!r.ok()) return then(0, nullptr);
    json body;
    parse_json(r.response.body, body);  // discarded when not JSON
    then(r.response.status, std::move(body));
  });
}

}  // namespace orch::api::bench
