#include "tests/crash_actors.h"

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "tests/crash_calls.h"

namespace orch::testing {

using nlohmann::json;

ActorDriver::ActorDriver(std::string api_url, ActorLoad load)
    : api_url_(std::move(api_url)), load_(load) {}

std::pair<int, json> ActorDriver::call(const std::string& method, const std::string& target,
                                       const json& body) {
  return call_until_answered(api_url_, method, target, body,
                             {{"Content-Type", "application/json"}}, &retries_);
}

bool ActorDriver::configure() {
  for (int u = 0; u < load_.users; ++u) {
    auto [status, body] = call("PUT", "/v1/users/" + user_id(u),
                               {{"max_messages_per_day", load_.cap}, {"rolling", {"day"}}});
    if (status != 200 && status != 201) {
      std::fprintf(stderr, "configure %s: %d %s\n", user_id(u).c_str(), status, body.dump().c_str());
      return false;
    }
  }
  auto [status, body] = call("PUT", std::string("/v1/users/") + kHotUser,
                             {{"max_messages_per_day", 1'000'000}});
  return status == 200 || status == 201;
}

void ActorDriver::run() {
  std::vector<std::thread> threads;
  for (int t = 0; t < load_.threads; ++t) threads.emplace_back([this, t] { sender(t); });
  threads.emplace_back([this] { hot_sender(); });
  for (auto& t : threads) t.join();
}

void ActorDriver::hot_sender() {
  for (int i = 0; i < load_.hot_messages; ++i) {
    send_message(kHotUser, i);
    std::this_thread::sleep_for(std::chrono::milliseconds(load_.pause_ms / 4));
  }
}

// The hot user: its journal went through snapshots while the kills landed,
// and it took more calls than the engine keeps answers for (256), so most
// repeats reach the actor itself. Every acknowledged commit is counted once,
// and every message asked again gets its first answer and no second slot.
bool ActorDriver::verify_hot(int* bad) {
  int committed = 0;
  for (int i = 0; i < load_.hot_messages; ++i) {
    const std::string message_id = std::string(kHotUser) + "-m" + std::to_string(i);
    const Outcome& o = outcomes_[message_id];
    if (o.sent) ++committed;
    // A released message may be reserved anew (its send failed): not asked.
    if (o.released) continue;
    auto [status, again] = call("POST", std::string("/v1/users/") + kHotUser + "/reservations",
                                {{"campaign_id", "crash-actors-" + std::to_string(i % 4)},
                                 {"channel", i % 2 ? "sms" : "email"},
                                 {"message_id", message_id}});
    if (status != 200 || again != o.first_answer) {
      if (*bad < 20)
        std::fprintf(stderr, "%s: asked again: %s, first %s\n", message_id.c_str(),
                     again.dump().c_str(), o.first_answer.dump().c_str());
      ++*bad;
    }
  }
  auto [status, view] = call("GET", std::string("/v1/users/") + kHotUser, nullptr);
  const bool ok = status == 200 && view["total_messages_sent"] == committed &&
                  view["pending_reservations"].empty();
  if (!ok) {
    std::fprintf(stderr, "%s: %d commits acknowledged; the user has sent %s, totals %s, pending %s\n",
                 kHotUser, committed, view["total_messages_sent"].dump().c_str(),
                 view["totals"].dump().c_str(), view["pending_reservations"].dump().c_str());
    ++*bad;
  }
  return ok;
}

// Messages are dealt round robin over the threads, so several threads work
// on one user at once.
void ActorDriver::sender(int thread) {
  const int total = load_.users * load_.messages_per_user;
  for (int m = thread; m < total; m += load_.threads) {
    send_message(user_id(m % load_.users), m / load_.users);
    std::this_thread::sleep_for(std::chrono::milliseconds(load_.pause_ms));
  }
}

void ActorDriver::send_message(const std::string& user, int index) {
  const std::string message_id = user + "-m" + std::to_string(index);
  const json request = {{"campaign_id", "crash-actors-" + std::to_string(index % 4)},
                        {"channel", index % 2 ? "sms" : "email"},
                        {"message_id", message_id}};
  const std::string base = "/v1/users/" + user;
  auto [status, answer] = call("POST", base + "/reservations", request);
  Outcome outcome;
  outcome.first_answer = answer;
  if (status == 200 && answer.value("status", "") == "granted") {
    const std::string rid = answer["reservation_id"];
    outcome.released = load_.release_every > 0 && index % load_.release_every == 0;
    auto [settled, body] =
        call("POST", base + "/reservations/" + rid + (outcome.released ? "/release" : "/commit"),
             json::object());
    if (settled != 200)
      std::fprintf(stderr, "%s: settle answered %d %s\n", message_id.c_str(), settled,
                   body.dump().c_str());
    outcome.sent = !outcome.released && settled == 200;
  } else if (status != 200) {
    std::fprintf(stderr, "%s: reserve answered %d %s\n", message_id.c_str(), status,
                 answer.dump().c_str());
  }
  std::lock_guard<std::mutex> lock(mu_);
  outcomes_[message_id] = std::move(outcome);
}

bool ActorDriver::verify(json* summary) {
  int bad = 0;
  long long granted = 0, sent = 0, released = 0, denied = 0;
  auto complain = [&](const std::string& who, const std::string& what) {
    if (bad < 20) std::fprintf(stderr, "%s: %s\n", who.c_str(), what.c_str());
    ++bad;
  };
  for (int u = 0; u < load_.users; ++u) {
    const std::string user = user_id(u);
    std::set<std::string> committed;
    int grants_kept = 0;
    for (int i = 0; i < load_.messages_per_user; ++i) {
      const std::string message_id = user + "-m" + std::to_string(i);
      const Outcome& o = outcomes_[message_id];
      const std::string status = o.first_answer.value("status", "");
      if (status == "granted") ++granted;
      else ++denied;
      if (status == "granted" && !o.released) ++grants_kept;
      if (o.sent) committed.insert(message_id);
      if (o.released) ++released;
      // Asked again, after every kill: the first answer.
      auto [again_status, again] =
          call("POST", "/v1/users/" + user + "/reservations",
               {{"campaign_id", "crash-actors-" + std::to_string(i % 4)},
                {"channel", i % 2 ? "sms" : "email"},
                {"message_id", message_id}});
      if (again_status != 200 || again != o.first_answer)
        complain(message_id, "asked again: " + again.dump() + ", first " + o.first_answer.dump());
    }
    sent += static_cast<long long>(committed.size());
    if (grants_kept > load_.cap)
      complain(user, std::to_string(grants_kept) + " grants kept over a cap of " +
                         std::to_string(load_.cap));
    auto [status, view] = call("GET", "/v1/users/" + user, nullptr);
    if (status != 200) {
      complain(user, "GET answered " + std::to_string(status));
      continue;
    }
    std::multiset<std::string> recorded;
    for (const json& m : view["recent_messages"]) recorded.insert(m["message_id"].get<std::string>());
    if (std::set<std::string>(recorded.begin(), recorded.end()).size() != recorded.size())
      complain(user, "a message recorded twice: " + view["recent_messages"].dump());
    if (std::set<std::string>(recorded.begin(), recorded.end()) != committed)
      complain(user, "history differs from the acknowledged commits: " + view["recent_messages"].dump());
    if (view["total_messages_sent"].get<int>() != static_cast<int>(committed.size()))
      complain(user, "total_messages_sent " + view["total_messages_sent"].dump() + ", committed " +
                         std::to_string(committed.size()));
    if (view["total_messages_sent"].get<int>() > load_.cap) complain(user, "over its cap");
    if (!view["pending_reservations"].empty())
      complain(user, "reservations left pending: " + view["pending_reservations"].dump());
  }
  if (load_.hot_messages > 0) verify_hot(&bad);
  (*summary)["actors"] = {{"users", load_.users},     {"messages", load_.users * load_.messages_per_user},
                          {"granted", granted},       {"committed", sent},
                          {"released", released},     {"denied", denied},
                          {"hot_user_messages", load_.hot_messages},
                          {"client_retries", retries_.load()}, {"violations", bad}};
  return bad == 0;
}

}  // namespace orch::testing
