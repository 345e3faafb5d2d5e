// The crash harness's user-actor load: sender threads that reserve, "send"
// and commit (or release, as a failed send would) messages for a few users
// with a daily cap, through the REST API, while the orchestrator is
// SIGKILLed and restarted under them. Each call is retried until the server
// answers, with the same message id (reservations) and reservation id
// (commit, release), as a real sender would after losing an answer.
//
// verify() then checks, per user: no cap exceeded (grants not released <=
// cap), every acknowledged commit in the user's history and nothing else
// (no committed send lost, none recorded twice), no reservation left
// pending, and every reservation asked again answered as the first time
// (idempotency across restarts).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace orch::testing {

struct ActorLoad {
  int users = 20;
  int messages_per_user = 8;
  int cap = 3;            // max_messages_per_day, rolling
  int threads = 4;
  int pause_ms = 20;      // between one thread's messages: the load spans the kills
  int release_every = 5;  // every Nth granted message is released (a failed send)
  // One user without a cap takes this many messages, so its journal is
  // compacted into snapshots (every 64 calls) while the kills land.
  int hot_messages = 150;
};

class ActorDriver {
 public:
  ActorDriver(std::string api_url, ActorLoad load);

  // Gives every user its cap (PUT /v1/users/{id}); false if one failed.
  bool configure();
  // Runs every message to its end; returns when all threads are done.
  void run();
  // The checks above; complaints go to stderr. Adds its figures to *summary.
  bool verify(nlohmann::json* summary);

  long long retries() const { return retries_; }

 private:
  struct Outcome {
    nlohmann::json first_answer;  // the reservation's answer
    bool sent = false;            // the driver "sent" it (granted, then committed)
    bool released = false;
  };

  void sender(int thread);
  void hot_sender();
  bool verify_hot(int* bad);
  void send_message(const std::string& user, int index);
  // Calls until the server answers below 500 (it may be down between a kill
  // and its restart).
  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& target,
                                      const nlohmann::json& body);
  std::string user_id(int u) const { return "crash-user-" + std::to_string(u); }
  static constexpr const char* kHotUser = "crash-hot-user";

  const std::string api_url_;
  const ActorLoad load_;
  std::mutex mu_;
  std::map<std::string, Outcome> outcomes_;  // by message id, GUARDED_BY(mu_)
  std::atomic<long long> retries_{0};
};

}  // namespace orch::testing
