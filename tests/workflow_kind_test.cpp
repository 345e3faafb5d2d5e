// The engine hosting a workflow kind of its own, defined here and not the
// campaign: an "order" of three steps (reserve stock, charge the card, ship
// the parcel), each with its compensation, and a human gate after the charge
// (a clerk confirms or declines). Driven through the engine's API over a
// SQLite journal, with fake activities and a ManualClock: no HTTP, no
// sandbox, no sleeps. Covers steps in order, retries on their journaled
// backoff, durable timers (a start time and the gate's deadline), signals,
// compensation newest first, and replay after a restart.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "engine/journal/journal.h"
#include "engine/store/sqlite_journal_store.h"
#include "engine/time/clock.h"
#include "engine/time/time_format.h"
#include "engine/workflow/activity.h"
#include "engine/workflow/workflow_engine.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using engine::ActivityOutcome;
using engine::ActivityOutcomeKind;
using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr const char* kOrder = "order";

// The order's gate rules, as a kind supplies them: a confirmation or a
// decline must come from one of the input's "clerks" (anyone when absent);
// "confirmations" distinct clerks (default 1) let the order ship.
class ClerkTally final : public engine::GateTally {
 public:
  explicit ClerkTally(const json& input)
      : clerks_(input.value("clerks", std::vector<std::string>{})),
        needed_(input.value("confirmations", std::size_t{1})) {}

  engine::SignalResult judge(const engine::WorkflowState&, bool approve,
                             json& payload) const override {
    const std::string clerk = payload.value("clerk", "");
    if (!clerks_.empty() && std::find(clerks_.begin(), clerks_.end(), clerk) == clerks_.end())
      return {engine::SignalCode::forbidden, "'" + clerk + "' is not a clerk of this order"};
    if (approve && std::find(confirmed_.begin(), confirmed_.end(), clerk) != confirmed_.end())
      return {engine::SignalCode::conflict, "'" + clerk + "' has already confirmed"};
    payload["needed"] = needed_;
    return {engine::SignalCode::accepted, ""};
  }
  std::string count(bool approve, const json& payload, engine::AuditEntry& entry) override {
    entry.actor = payload.value("clerk", "");
    entry.comment = payload.value("reason", "");
    if (!approve) return "declined by " + entry.actor + ": " + entry.comment;
    confirmed_.push_back(entry.actor);
    return "";
  }
  void withdraw() override { confirmed_.clear(); }
  bool passed() const override { return confirmed_.size() >= needed_; }
  void describe(const engine::WorkflowState&, json& view) const override {
    view["confirmed_by"] = confirmed_;
  }
  json view(const engine::WorkflowState& st) const override {
    json trail = json::array();
    for (const engine::AuditEntry& a : st.audit()) trail.push_back({a.action, a.actor});
    return {{"confirmed_by", confirmed_}, {"needed", needed_}, {"trail", std::move(trail)}};
  }

 private:
  const std::vector<std::string> clerks_;
  const std::size_t needed_;
  std::vector<std::string> confirmed_;
};

class ClerkRules final : public engine::GateRules {
 public:
  std::unique_ptr<engine::GateTally> open(const json& input) const override {
    return std::make_unique<ClerkTally>(input);
  }
};

// The order kind: reserve -> charge -> (a clerk confirms) -> ship.
engine::WorkflowDefinition order_definition() {
  auto step = [](std::string name, std::string activity, std::string compensation) {
    engine::StepDefinition s;
    s.name = std::move(name);
    s.activity = std::move(activity);
    s.compensation = std::move(compensation);
    s.retry = engine::RetryPolicy{3, seconds(1), 2.0, seconds(30)};
    s.timeout = seconds(10);
    return s;
  };
  engine::WorkflowDefinition def;
  def.name = kOrder;
  engine::PhaseDefinition reserve{"reserve", engine::PhaseMode::sequential, {}, std::nullopt};
  reserve.steps.push_back(step("stock", "stock.reserve", "stock.release"));
  engine::PhaseDefinition charge{"charge", engine::PhaseMode::sequential, {},
                                 engine::GateDefinition{}};
  charge.steps.push_back(step("card", "card.charge", "card.refund"));
  charge.gate->approve_signal = "confirm";
  charge.gate->reject_signal = "decline";
  charge.gate->default_timeout = hours(1);
  charge.gate->rules = std::make_shared<ClerkRules>();
  engine::PhaseDefinition ship{"ship", engine::PhaseMode::sequential, {}, std::nullopt};
  ship.steps.push_back(step("parcel", "parcel.ship", "parcel.recall"));
  def.phases = {reserve, charge, ship};
  def.start_at_input_field = "not_before";
  def.compensation_retry = engine::RetryPolicy{0, seconds(1), 2.0, seconds(10)};
  return def;
}

// One call of a fake activity, as it saw it.
struct Call {
  std::string activity;
  std::string step;
  int attempt = 0;
  std::string key;
};

// Every activity of the kind: answers on the io_context (as adapters do),
// success with {"done": activity} unless the test scripted otherwise.
class FakeActivities {
 public:
  using Script = std::function<ActivityOutcome(const Call&)>;

  explicit FakeActivities(boost::asio::io_context& io) : io_(io) {
    for (const char* name : {"stock.reserve", "stock.release", "card.charge", "card.refund",
                             "parcel.ship", "parcel.recall"})
      activities_.emplace(name, std::make_unique<One>(*this, name));
    for (auto& [name, activity] : activities_) registry.add(name, activity.get());
  }

  void script(const std::string& activity, Script script) { scripts_[activity] = std::move(script); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Call& c : calls) out.push_back(c.activity);
    return out;
  }
  int count(const std::string& activity) const {
    int n = 0;
    for (const Call& c : calls) n += c.activity == activity;
    return n;
  }

  engine::ActivityRegistry registry;
  std::vector<Call> calls;
  std::set<std::string> silent;  // activities that never answer

 private:
  class One final : public engine::Activity {
   public:
    One(FakeActivities& all, std::string name) : all_(all), name_(std::move(name)) {}
    void run(const engine::ActivityRequest& request, engine::ActivityDone done) override {
      Call call{name_, request.step_id, request.attempt, request.idempotency_key};
      all_.calls.push_back(call);
      auto script = all_.scripts_.find(name_);
      if (all_.silent.count(name_)) return;  // its answer is lost (a crash)
      ActivityOutcome outcome = script == all_.scripts_.end()
                                    ? ActivityOutcome::success({{"done", name_}})
                                    : script->second(call);
      boost::asio::post(all_.io_, [done = std::move(done), outcome = std::move(outcome)]() mutable {
        done(std::move(outcome));
      });
    }

   private:
    FakeActivities& all_;
    std::string name_;
  };

  boost::asio::io_context& io_;
  std::map<std::string, std::unique_ptr<One>> activities_;
  std::map<std::string, Script> scripts_;
};

class WorkflowKindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    definitions_.add(order_definition());
    open();
  }
  void TearDown() override { close(); }

  // A start, or a restart on the same store: recover() resumes what is unfinished.
  void open() {
    std::string error;
    store_ = engine::SqliteJournalStore::open((dir_.path / "orders.db").string(), &error);
    ASSERT_TRUE(store_) << error;
    journal_ = std::make_unique<engine::Journal>(*store_, io_);
    engine_ = std::make_unique<engine::WorkflowEngine>(io_, *journal_, clock_, definitions_,
                                                       activities_.registry, nullptr);
    ASSERT_TRUE(engine_->recover().is_ok());
    settle();
  }
  void close() {
    engine_.reset();
    journal_.reset();  // drains what was appended
    store_.reset();
    settle_io();
  }
  void restart() {
    close();
    open();
  }

  // Runs the engine until nothing more happens by itself: twice in a row,
  // a flush of the journal was the only thing the io_context ran (every
  // append is durable, every callback ran, no activity answer is waiting).
  void settle() {
    int quiet = 0;
    for (int round = 0; round < 10'000 && quiet < 2; ++round) {
      bool flushed = false;
      journal_->flush([&](const Status&) { flushed = true; });
      std::size_t handlers = 0;
      while (!flushed) handlers += run_one();
      io_.restart();
      handlers += io_.poll();
      quiet = handlers == 1 ? quiet + 1 : 0;
    }
    ASSERT_EQ(quiet, 2) << "the engine did not settle";
  }
  void settle_io() {
    io_.restart();
    io_.poll();
  }
  std::size_t run_one() {
    io_.restart();
    return io_.run_one();
  }
  void advance(milliseconds by) {
    clock_.advance(by);
    settle();
  }

  std::string start(json input = json::object(), const std::string& id = "order-1") {
    std::optional<engine::StartResult> result;
    engine_->start({kOrder, std::move(input), id, "", "", json()},
                   [&](engine::StartResult r) { result = std::move(r); });
    while (!result) run_one();
    EXPECT_EQ(result->code, engine::StartCode::created) << result->detail;
    settle();
    return result->workflow_id;
  }
  engine::SignalResult signal(const std::string& id, const std::string& name, json payload) {
    std::optional<engine::SignalResult> result;
    engine_->signal(id, name, std::move(payload), "",
                    [&](engine::SignalResult r) { result = std::move(r); });
    while (!result) run_one();
    settle();
    return *result;
  }
  json describe(const std::string& id) {
    engine::QueryResult q = engine_->describe(id);
    EXPECT_TRUE(q.found()) << q.detail;
    return q.body;
  }
  std::string status(const std::string& id) { return describe(id).value("status", ""); }
  json step(const std::string& id, std::size_t phase) {
    return describe(id)["phases"][phase]["steps"][0];
  }
  std::vector<engine::JournalRecord> records(const std::string& id) {
    std::vector<engine::JournalRecord> out;
    EXPECT_TRUE(store_->load_workflow(id, &out).is_ok());
    return out;
  }

  TempDir dir_;
  boost::asio::io_context io_{1};
  engine::ManualClock clock_;
  engine::DefinitionRegistry definitions_;
  FakeActivities activities_{io_};
  std::unique_ptr<engine::SqliteJournalStore> store_;
  std::unique_ptr<engine::Journal> journal_;
  std::unique_ptr<engine::WorkflowEngine> engine_;
};

TEST_F(WorkflowKindTest, StepsRunInOrderAndWaitAtTheGateForItsSignal) {
  const std::string id = start();
  EXPECT_EQ(activities_.names(), (std::vector<std::string>{"stock.reserve", "card.charge"}));
  json state = describe(id);
  EXPECT_EQ(state["status"], "awaiting_approval");
  EXPECT_EQ(state["current_phase"], "charge");
  EXPECT_EQ(state["workflow"], kOrder);
  EXPECT_EQ(state["phases"][0]["steps"][0]["output"], json({{"done", "stock.reserve"}}));
  EXPECT_EQ(activities_.calls[0].key, "order-1:reserve.stock");

  EXPECT_EQ(signal(id, "refund_everything", json::object()).code,
            engine::SignalCode::unknown_signal);
  EXPECT_EQ(signal(id, "confirm", {{"clerk", "ann"}}).code, engine::SignalCode::accepted);
  EXPECT_EQ(status(id), "completed");
  EXPECT_EQ(activities_.names(),
            (std::vector<std::string>{"stock.reserve", "card.charge", "parcel.ship"}));
  EXPECT_EQ(describe(id)["progress_percentage"], 100);
}

TEST_F(WorkflowKindTest, TheKindsRulesDecideWhichSignalsTheGateAccepts) {
  const std::string id = start({{"clerks", {"ann", "bob"}}, {"confirmations", 2}});
  const std::size_t journaled = records(id).size();
  const engine::SignalResult stranger = signal(id, "confirm", {{"clerk", "eve"}});
  EXPECT_EQ(stranger.code, engine::SignalCode::forbidden);
  EXPECT_EQ(stranger.detail, "'eve' is not a clerk of this order");
  EXPECT_EQ(records(id).size(), journaled);  // refused: nothing journaled
  ASSERT_EQ(signal(id, "confirm", {{"clerk", "ann"}}).code, engine::SignalCode::accepted);
  EXPECT_EQ(status(id), "awaiting_approval");  // one of two
  EXPECT_EQ(signal(id, "confirm", {{"clerk", "ann"}}).code, engine::SignalCode::conflict);
  EXPECT_EQ(describe(id)["confirmed_by"], json({"ann"}));
  ASSERT_EQ(signal(id, "confirm", {{"clerk", "bob"}}).code, engine::SignalCode::accepted);
  EXPECT_EQ(status(id), "completed");
  // The gate's view is the kind's; the audit trail is the engine's.
  engine::QueryResult gate = engine_->approvals(id);
  ASSERT_TRUE(gate.found()) << gate.detail;
  EXPECT_EQ(gate.body["confirmed_by"], json({"ann", "bob"}));
  EXPECT_EQ(gate.body["trail"], json::array({json::array({"submitted", ""}),
                                             json::array({"approved", "ann"}),
                                             json::array({"approved", "bob"})}));
  // What the rules stamped on an accepted decision is journaled with it.
  int stamped = 0;
  for (const engine::JournalRecord& r : records(id))
    if (r.type == engine::RecordType::signal_received)
      stamped += json::parse(r.payload)["payload"].value("needed", 0) == 2;
  EXPECT_EQ(stamped, 2);
}

TEST_F(WorkflowKindTest, RetriesWaitForTheirJournaledBackoff) {
  int charges = 0;
  activities_.script("card.charge", [&](const Call&) {
    if (++charges <= 2)
      return ActivityOutcome::failure(ActivityOutcomeKind::retryable, "card network busy");
    return ActivityOutcome::success({{"charged", true}});
  });
  const engine::TimeMs t0 = clock_.now_ms();
  const std::string id = start();
  json card = step(id, 1);
  EXPECT_EQ(card["status"], "retry_wait");
  EXPECT_EQ(card["retry_at"], engine::format_time(t0 + 1000));  // initial interval
  advance(milliseconds(999));
  EXPECT_EQ(activities_.count("card.charge"), 1);
  advance(milliseconds(1));
  EXPECT_EQ(activities_.count("card.charge"), 2);
  EXPECT_EQ(step(id, 1)["retry_at"], engine::format_time(t0 + 1000 + 2000));  // doubled
  advance(milliseconds(1999));
  EXPECT_EQ(activities_.count("card.charge"), 2);
  advance(milliseconds(1));
  EXPECT_EQ(activities_.count("card.charge"), 3);
  card = step(id, 1);
  EXPECT_EQ(card["status"], "completed");
  EXPECT_EQ(card["attempts"], 3);
  EXPECT_EQ(status(id), "awaiting_approval");
  // Every attempt carried the step's one idempotency key.
  for (const Call& c : activities_.calls) {
    if (c.activity == "card.charge") {
      EXPECT_EQ(c.key, "order-1:charge.card");
    }
  }
}

TEST_F(WorkflowKindTest, ExhaustedRetriesCompensateTheCompletedStepsNewestFirst) {
  activities_.script("parcel.ship", [](const Call&) {
    return ActivityOutcome::failure(ActivityOutcomeKind::retryable, "no courier");
  });
  const std::string id = start();
  ASSERT_EQ(signal(id, "confirm", {{"clerk", "ann"}}).code, engine::SignalCode::accepted);
  advance(seconds(1));
  advance(seconds(2));  // the third and last attempt fails too
  json state = describe(id);
  EXPECT_EQ(state["status"], "failed");
  EXPECT_EQ(state["unwind_reason"], "step_failed");
  EXPECT_EQ(activities_.count("parcel.ship"), 3);
  EXPECT_EQ(activities_.names(),
            (std::vector<std::string>{"stock.reserve", "card.charge", "parcel.ship", "parcel.ship",
                                      "parcel.ship", "card.refund", "stock.release"}));
  EXPECT_EQ(activities_.count("parcel.recall"), 0);  // it never completed
  ASSERT_EQ(state["compensations"].size(), 2u);
  for (const json& c : state["compensations"]) EXPECT_EQ(c["status"], "completed");
  EXPECT_EQ(activities_.calls[5].key, "order-1:charge.card:compensate");
}

TEST_F(WorkflowKindTest, ADeclineUnwindsAndAFailedCompensationRetriesUntilItSucceeds) {
  int refunds = 0;
  activities_.script("card.refund", [&](const Call&) {
    if (++refunds == 1)
      return ActivityOutcome::failure(ActivityOutcomeKind::permanent, "bank offline");
    return ActivityOutcome::success(json::object());
  });
  const std::string id = start();
  ASSERT_EQ(signal(id, "decline", {{"clerk", "ann"}, {"reason", "fraud"}}).code,
            engine::SignalCode::accepted);
  EXPECT_EQ(status(id), "compensating");
  EXPECT_EQ(activities_.count("stock.release"), 0);  // newest first: the refund before it
  advance(seconds(1));
  json state = describe(id);
  EXPECT_EQ(state["status"], "failed");
  EXPECT_EQ(state["unwind_reason"], "rejected");
  EXPECT_EQ(state["reason"], "declined by ann: fraud");
  EXPECT_EQ(activities_.count("card.refund"), 2);
  EXPECT_EQ(activities_.count("stock.release"), 1);
  // Decided: a late signal is refused, nothing journaled.
  const std::size_t journaled = records(id).size();
  EXPECT_EQ(signal(id, "confirm", {{"clerk", "ann"}}).code, engine::SignalCode::conflict);
  EXPECT_EQ(records(id).size(), journaled);
}

TEST_F(WorkflowKindTest, AStartTimeIsADurableTimerThatSurvivesARestart) {
  const std::string id = start({{"not_before", engine::format_time(clock_.now_ms() + 3'600'000)}});
  EXPECT_TRUE(activities_.calls.empty());
  EXPECT_EQ(describe(id)["scheduled_for"], engine::format_time(clock_.now_ms() + 3'600'000));
  advance(minutes(59));
  EXPECT_TRUE(activities_.calls.empty());
  restart();
  EXPECT_TRUE(activities_.calls.empty());
  advance(minutes(1));
  EXPECT_EQ(activities_.names(), (std::vector<std::string>{"stock.reserve", "card.charge"}));
  EXPECT_EQ(status(id), "awaiting_approval");
}

TEST_F(WorkflowKindTest, TheGateDeadlinePassingWhileDownTimesOutOnRestartAndCompensates) {
  const std::string id = start();
  ASSERT_EQ(status(id), "awaiting_approval");
  advance(minutes(59));
  EXPECT_EQ(status(id), "awaiting_approval");  // read back from the journal if passivated
  close();
  clock_.advance(minutes(2));
  open();
  json state = describe(id);
  EXPECT_EQ(state["status"], "failed");
  EXPECT_EQ(state["unwind_reason"], "approval_timeout");
  EXPECT_EQ(activities_.names(), (std::vector<std::string>{"stock.reserve", "card.charge",
                                                           "card.refund", "stock.release"}));
  int timeouts = 0;
  for (const engine::JournalRecord& r : records(id))
    timeouts += r.type == engine::RecordType::approval_timed_out;
  EXPECT_EQ(timeouts, 1);
}

TEST_F(WorkflowKindTest, ARestartReplaysTheJournalToTheSameStateWithoutRunningAnythingTwice) {
  const std::string id = start();
  const json before = describe(id);
  const std::size_t journaled = records(id).size();
  restart();
  EXPECT_EQ(describe(id), before);
  EXPECT_EQ(records(id).size(), journaled);
  EXPECT_EQ(activities_.names(), (std::vector<std::string>{"stock.reserve", "card.charge"}));
  ASSERT_EQ(signal(id, "confirm", {{"clerk", "ann"}}).code, engine::SignalCode::accepted);
  const json done = describe(id);
  EXPECT_EQ(done["status"], "completed");
  restart();
  EXPECT_EQ(describe(id), done);
  EXPECT_EQ(activities_.names(),
            (std::vector<std::string>{"stock.reserve", "card.charge", "parcel.ship"}));
}

TEST_F(WorkflowKindTest, AStepInFlightAtARestartRunsAgainWithTheSameKeyAndTheRestOnce) {
  activities_.silent.insert("card.charge");  // the charge's answer never arrives
  const std::string id = start();
  EXPECT_EQ(step(id, 1)["status"], "running");
  restart();
  EXPECT_EQ(activities_.count("card.charge"), 2);  // resumed at once, not waiting for its timeout
  activities_.silent.clear();
  restart();
  EXPECT_EQ(status(id), "awaiting_approval");
  EXPECT_EQ(activities_.count("stock.reserve"), 1);
  EXPECT_EQ(activities_.count("card.charge"), 3);
  for (const Call& c : activities_.calls)
    if (c.activity == "card.charge") {
      EXPECT_EQ(c.key, "order-1:charge.card");
      EXPECT_EQ(c.attempt, 1);  // the same attempt, not a retry
    }
  EXPECT_EQ(step(id, 1)["attempts"], 1);
}

TEST_F(WorkflowKindTest, TheStateIsAFoldOfTheJournal) {
  std::vector<std::string> live;
  engine_->set_record_observer([&](const engine::WorkflowState& st, const engine::JournalRecord&) {
    live.push_back(st.to_json().dump());
  });
  const std::string id = start();
  signal(id, "decline", {{"clerk", "ann"}, {"reason", "out of stock"}});
  ASSERT_EQ(status(id), "failed");
  const std::vector<engine::JournalRecord> journal = records(id);
  ASSERT_EQ(journal.size(), live.size());
  const engine::WorkflowDefinition* def = definitions_.find(kOrder);
  for (std::size_t cut = 1; cut <= journal.size(); ++cut) {
    std::string error;
    auto state = engine::WorkflowState::start(journal[0], *def, &error);
    ASSERT_TRUE(state) << error;
    for (std::size_t i = 1; i < cut; ++i) ASSERT_TRUE(state->apply(journal[i]).is_ok());
    EXPECT_EQ(state->to_json().dump(), live[cut - 1]) << "cut after record " << cut;
  }
}

}  // namespace
}  // namespace orch::testing
