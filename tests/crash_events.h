// The crash harness's event load: customers and three reward triggers set
// up before the kills (a reward on every purchase over 50, one once per
// customer on signup, one at most once a day per customer on tutorial_done),
// then a stream of CloudEvents in batches while the orchestrator is
// SIGKILLed and restarted under them. Batches carry redeliveries (an event
// sent before, same id and payload, also twice in one batch) and events of
// customers created only later (parked, then woken when the customer is
// created; some creations are sent just before a kill, so kills land while
// parked events are woken). Every batch is retried until the server answers;
// an event counts as acknowledged once a 202 says accepted or duplicate.
//
// verify() then sends every event once more (an acknowledged one must be a
// duplicate: a 202 means never lost), waits until the event queue has
// nothing pending, parked or in flight, and checks that every event is
// known and processed with the matches its trigger implies, and that the
// sandbox's credits are exactly the expected ones computed here: one per
// purchase over 50, one per customer with a signup, one per customer with a
// tutorial_done (all events fall within 24 hours), each idempotency key
// (the match id) paid once, none for an event that matches nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::testing {

struct EventLoad {
  int events = 3'000;         // deliveries in the stream, redeliveries included
  int batch = 100;            // events per POST /v1/events
  int threads = 2;            // senders, each its share of the batches
  int pause_ms = 15;          // between one sender's batches
  int kills = 10;             // the harness's: the stream keeps pace with them
  int customers = 300;        // known before the stream
  int late_customers = 10;    // created during (or after) the stream
  int redeliver_percent = 8;  // of a batch: events sent in an earlier batch
  int late_permille = 15;     // of new events: for a customer created later
  unsigned seed = 7;
};

class EventDriver {
 public:
  EventDriver(std::string api_url, std::string sandbox_url, EventLoad load);
  ~EventDriver();
  EventDriver(const EventDriver&) = delete;
  EventDriver& operator=(const EventDriver&) = delete;

  // Creates the known customers and the triggers; false if a call failed.
  bool configure();
  // Sends the stream, creates the late customers, then waits until the
  // queue is drained (kills may land all along).
  void run();
  bool verify(nlohmann::json* summary);

  // Until run() returns.
  bool running() const { return running_.load(); }
  // The share of batches answered, 0 to 1 (for the kill times).
  double progress() const;
  // Called by the killer right before a kill, while the stream runs: waits
  // (briefly) until the event queue holds work, so the kill lands while
  // events are matched or actions run; every other kill instead sends the
  // next late customer's creation without waiting for it, so the kill lands
  // while it is written and its parked events are woken.
  void before_kill();

 private:
  enum class Type { purchase, signup, tutorial, page_view };
  struct Planned {
    std::string id, source, customer;
    Type type = Type::page_view;
    double amount = 0;             // purchase and page_view
    nlohmann::json body;           // the CloudEvent, the same on every delivery
    bool acknowledged = false;     // a 202 said accepted or duplicate. GUARDED_BY(mu_)
    bool before_customer = false;  // first sent before its customer was. GUARDED_BY(mu_)
    bool sent = false;             // GUARDED_BY(mu_)
  };
  struct Expected {  // one customer's credits
    int purchases = 0;
    bool signup = false;
    bool tutorial = false;
  };

  void plan();
  void sender(int thread);
  // Sends events `indices` until answered; records the answers. False when
  // the server never answered or refused the batch.
  bool send(const std::vector<std::size_t>& indices, std::vector<std::string>* answers);
  void create_next_late(bool wait);
  void create_late(int j);
  bool drained(nlohmann::json* queue);
  bool wait_drained(std::chrono::seconds limit, nlohmann::json* queue);
  void complain(const std::string& who, const std::string& what);
  bool matches_trigger(const Planned& e) const;
  std::pair<int, nlohmann::json> call(const std::string& method, const std::string& target,
                                      const nlohmann::json& body);
  std::string customer_id(int i) const { return "ecust-" + std::to_string(i); }
  std::string late_id(int j) const { return "elate-" + std::to_string(j); }

  const std::string api_url_;
  const std::string sandbox_url_;
  const EventLoad load_;
  // Constant after configure() and plan().
  std::string purchase_trigger_, signup_trigger_, tutorial_trigger_;
  std::vector<Planned> events_;
  std::vector<std::vector<std::size_t>> batches_;  // indices into events_

  std::mutex mu_;
  int next_late_ = 0;                   // GUARDED_BY(mu_)
  std::set<std::string> late_created_;  // creation sent. GUARDED_BY(mu_)
  std::vector<std::thread> creators_;   // GUARDED_BY(mu_)
  std::mt19937 kill_rng_;               // GUARDED_BY(mu_)
  int kill_calls_ = 0;                  // GUARDED_BY(mu_)
  std::atomic<bool> running_{false};
  std::atomic<int> kills_seen_{0};
  std::atomic<int> batches_answered_{0};
  std::atomic<int> kills_while_streaming_{0};
  std::atomic<int> kills_while_matching_{0};
  std::atomic<int> kills_while_acting_{0};
  std::atomic<int> kills_while_waking_{0};
  std::atomic<long long> accepted_{0}, duplicates_{0}, deliveries_{0};
  std::atomic<long long> retries_{0};
  std::mutex complaints_mu_;
  int bad_ = 0;  // violations. GUARDED_BY(complaints_mu_)
};

}  // namespace orch::testing
