// Durable keyed entities without HTTP: a counter kind defined here, a real
// SQLite journal, the ManualClock, and the test's own thread running the
// engine's io_context (no sleeps). Calls apply in order and are answered only
// when durable; a repeat with the same key gets the first answer, also after
// a restart; compaction keeps one key's journal bounded and loses nothing;
// idle entities leave memory and come back.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "engine/entity/entity_engine.h"
#include "tests/support/entity_harness.h"

namespace orch::engine {
namespace {

using nlohmann::json;

constexpr std::size_t kSnapshotEvery = 16;

// {"total": n, "adds": k}; add {by} answers the new total; reset needs a
// total of at least `min`; peek is a query.
EntityDefinition counter(std::size_t snapshot_every = kSnapshotEvery) {
  EntityDefinition def;
  def.kind = "counter";
  def.initial_state = [](std::string_view) { return json{{"total", 0}, {"adds", 0}}; };
  def.handlers["add"] = [](json& state, const json& request, const EntityCall&) {
    if (!request.contains("by") || !request["by"].is_number_integer())
      return EntityReply::refuse(EntityOutcome::invalid, "by must be an integer");
    state["total"] = state["total"].get<long long>() + request["by"].get<long long>();
    state["adds"] = state["adds"].get<long long>() + 1;
    return EntityReply{EntityOutcome::ok, {{"total", state["total"]}}, true};
  };
  def.handlers["reset"] = [](json& state, const json& request, const EntityCall& call) {
    if (request.is_object() && state["total"].get<long long>() < request.value("min", 0LL))
      return EntityReply::refuse(EntityOutcome::conflict, "too small to reset");
    state["total"] = 0;
    return EntityReply{EntityOutcome::ok, {{"reset_at", call.now_ms}}, true};
  };
  def.queries["peek"] = [](const json& state, const json&, const EntityCall& call) {
    if (!call.exists) return EntityReply::refuse(EntityOutcome::not_found, "no counter");
    return EntityReply{EntityOutcome::ok, state, false};
  };
  def.snapshot_every = snapshot_every;
  return def;
}

class EntityEngineTest : public ::testing::Test {
 protected:
  EntityEngineTest() : harness_(std::make_unique<testing::EntityHarness>(define(kSnapshotEvery), limits())) {}

  static EntityLimits limits() {
    EntityLimits l;
    l.idle_after_ms = 10'000;
    return l;
  }
  std::function<void(EntityEngine&)> define(std::size_t snapshot_every) {
    return [snapshot_every](EntityEngine& e) { e.add(counter(snapshot_every)); };
  }
  // A restart on the same store.
  void open(std::size_t snapshot_every = kSnapshotEvery) { harness_->reopen(define(snapshot_every)); }
  EntityResult call(const std::string& key, const std::string& handler, json request,
                    const std::string& idempotency_key = "") {
    return harness_->call("counter", key, handler, std::move(request), idempotency_key);
  }
  void run_one() { harness_->run_one(); }
  std::size_t records_of(const std::string& id) { return harness_->records_of(id); }
  EntityEngine& engine() { return harness_->engine(); }

  std::unique_ptr<testing::EntityHarness> harness_;
};

TEST_F(EntityEngineTest, CallsApplyInOrderAndSurviveARestart) {
  EXPECT_EQ(engine().query("counter", "a", "peek", {}).code, EntityCode::not_found);
  std::vector<EntityResult> answers;
  for (int i = 1; i <= 5; ++i)  // all in flight at once: one group commit
    engine().call("counter", "a", "add", {{"by", i}}, "",
                  [&](EntityResult r) { answers.push_back(std::move(r)); });
  while (answers.size() < 5) run_one();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(answers[i].answer["total"], (i + 1) * (i + 2) / 2);
  EXPECT_EQ(call("a", "add", {{"by", "x"}}).code, EntityCode::invalid);  // journals nothing
  EXPECT_EQ(call("a", "reset", {{"min", 100}}).code, EntityCode::conflict);
  EXPECT_EQ(records_of("counter:a"), 6u);  // entity_started and five calls

  open();  // a restart on the same store
  EntityResult peek = engine().query("counter", "a", "peek", {});
  ASSERT_EQ(peek.code, EntityCode::ok) << peek.detail;
  EXPECT_EQ(peek.answer, json({{"total", 15}, {"adds", 5}}));
  EXPECT_EQ(engine().query("counter", "a", "nope", {}).code, EntityCode::unknown_handler);
  EXPECT_EQ(call("a", "nope", {}).code, EntityCode::unknown_handler);
}

TEST_F(EntityEngineTest, ARepeatGetsTheFirstAnswerAlsoAfterARestart) {
  EXPECT_EQ(call("a", "add", {{"by", 10}}, "k1").answer["total"], 10);
  EntityResult repeat = call("a", "add", {{"by", 10}}, "k1");
  EXPECT_TRUE(repeat.repeat);
  EXPECT_EQ(repeat.answer["total"], 10);
  EXPECT_EQ(call("a", "add", {{"by", 5}}, "k1").code, EntityCode::key_reused);
  EXPECT_EQ(call("a", "reset", {}, "k1").code, EntityCode::key_reused);
  harness_->clock.advance(std::chrono::milliseconds(1234));
  const EntityResult reset = call("a", "reset", {}, "k2");
  open();
  EXPECT_EQ(call("a", "add", {{"by", 10}}, "k1").answer["total"], 10);  // the first answer
  EXPECT_EQ(call("a", "reset", {}, "k2").answer, reset.answer);         // replayed, same time
  EXPECT_EQ(engine().query("counter", "a", "peek", {}).answer["total"], 0);
}

// 100,000 calls on one key: the journal stays within one snapshot's span,
// and the state equals the state of the same calls folded without compaction.
TEST_F(EntityEngineTest, CompactionKeepsOneKeysJournalBounded) {
  constexpr int kCalls = 100'000;
  constexpr int kBatch = 2'000;
  std::size_t most_records = 0;
  auto run = [&](const std::string& key) {
    for (int done = 0; done < kCalls; done += kBatch) {
      int answered = 0;
      for (int i = done; i < done + kBatch; ++i)
        engine().call("counter", key, "add", {{"by", i % 7}}, "key-" + std::to_string(i),
                      [&](EntityResult r) {
                        ASSERT_EQ(r.code, EntityCode::ok) << r.detail;
                        ++answered;
                      });
      while (answered < kBatch) run_one();
      most_records = std::max(most_records, records_of("counter:" + key));
    }
  };
  run("compacted");
  EXPECT_LE(most_records, kSnapshotEvery);  // the snapshot and the calls after it
  const json compacted = engine().query("counter", "compacted", "peek", {}).answer;
  // The same calls folded in full: a store that never compacts.
  open(/*snapshot_every=*/10 * kCalls);
  run("full");
  const json full = engine().query("counter", "full", "peek", {}).answer;
  EXPECT_EQ(records_of("counter:full"), static_cast<std::size_t>(kCalls) + 1);
  EXPECT_EQ(compacted, full);
  EXPECT_EQ(compacted["adds"], kCalls);
  // And read back after a restart, from its snapshot.
  open();
  EXPECT_EQ(engine().query("counter", "compacted", "peek", {}).answer, full);
  // Repeats within the answers kept still get their first answer.
  EXPECT_TRUE(call("compacted", "add", {{"by", (kCalls - 1) % 7}},
                   "key-" + std::to_string(kCalls - 1)).repeat);
}

TEST_F(EntityEngineTest, IdleEntitiesLeaveMemoryAndComeBack) {
  for (int i = 0; i < 50; ++i) call("k" + std::to_string(i), "add", {{"by", i}});
  EXPECT_EQ(engine().resident_count(), 50u);
  harness_->clock.advance(std::chrono::milliseconds(10'001));
  for (int i = 0; i < 5; ++i) run_one();  // the sweep runs on the jump
  EXPECT_EQ(engine().resident_count(), 0u);
  EXPECT_EQ(engine().query("counter", "k42", "peek", {}).answer["total"], 42);
  EXPECT_EQ(engine().resident_count(), 1u);
  std::vector<std::string> keys;
  std::size_t total = 0;
  ASSERT_TRUE(engine().list("counter", 10, 5, &keys, &total).is_ok());
  EXPECT_EQ(total, 50u);
  EXPECT_EQ(keys, (std::vector<std::string>{"k18", "k19", "k2", "k20", "k21"}));
}

}  // namespace
}  // namespace orch::engine
