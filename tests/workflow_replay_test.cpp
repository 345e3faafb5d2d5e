// A workflow's state is a pure function of its journal: for the journal cut
// after every record, rebuilding gives exactly the state the live run had at
// that point. Checked for a completed, a rejected and a compensated campaign.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "adapters/sandbox/sandbox.h"
#include "engine/store/sqlite_journal_store.h"
#include "engine/workflow/workflow_state.h"
#include "engine/workflow/workflow_tracer.h"
#include "observability/trace.h"
#include "phases/campaign/campaign_definition.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;

TEST(WorkflowReplayTest, RebuildingEveryJournalPrefixGivesTheLiveState) {
  TempDir dir;
  api::AppConfig config = test_config(dir.path);
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> live;  // workflow -> state after each record
  {
    api::OrchestratorApp app(config);
    app.set_record_observer([&](const engine::WorkflowState& st, const engine::JournalRecord& r) {
      std::lock_guard lock(mu);
      auto& snaps = live[st.workflow_id()];
      EXPECT_EQ(snaps.size() + 1, r.seq);
      snaps.push_back(st.to_json().dump());
    });
    ASSERT_EQ(app.start(), "");
    ApiClient client(app.base_url());
    ApiClient sandbox(app.sandbox()->base_url());
    ASSERT_EQ(sandbox
                  .post("/sandbox/faults", {{"path_prefix", "/1/updates/create.json"},
                                            {"status", 422},
                                            {"workflow_ids", {"replay-failed"}}})
                  .status,
              201);
    for (const char* id : {"replay-completed", "replay-rejected", "replay-failed"}) {
      json input = sample_campaign(id);
      input["workflow_id"] = id;
      ASSERT_EQ(client.post("/v1/campaigns", input).status, 201);
    }
    for (const char* id : {"replay-completed", "replay-rejected", "replay-failed"})
      client.wait_for_status(id, "awaiting_approval");
    client.post("/v1/workflows/replay-completed/signals/approve", {{"reviewer", "alice"}});
    client.post("/v1/workflows/replay-failed/signals/approve", {{"reviewer", "bob"}});
    client.post("/v1/workflows/replay-rejected/signals/reject",
                {{"reviewer", "alice"}, {"reason", "no"}});
    client.wait_for_status("replay-completed", "completed");
    client.wait_for_status("replay-rejected", "failed");
    json failed = client.wait_for_status("replay-failed", "failed");
    EXPECT_EQ(failed["unwind_reason"], "step_failed");
  }

  std::string error;
  auto store = engine::SqliteJournalStore::open((dir.path / "journal.db").string(), &error);
  ASSERT_TRUE(store) << error;
  const engine::WorkflowDefinition def = phases::campaign_definition(config.tuning);
  for (const char* id : {"replay-completed", "replay-rejected", "replay-failed"}) {
    std::vector<engine::JournalRecord> records;
    ASSERT_TRUE(store->load_workflow(id, &records).is_ok());
    ASSERT_EQ(records.size(), live[id].size()) << id;
    ASSERT_GT(records.size(), 30u) << id;
    for (std::size_t cut = 1; cut <= records.size(); ++cut) {
      auto state = engine::WorkflowState::start(records[0], def, &error);
      ASSERT_TRUE(state) << error;
      for (std::size_t i = 1; i < cut; ++i) ASSERT_TRUE(state->apply(records[i]).is_ok());
      ASSERT_EQ(state->to_json().dump(), live[id][cut - 1]) << id << " cut after record " << cut;
    }
  }
}

// The workflow_started record of a sample campaign "wf-1", with `extra`
// members in its payload.
engine::JournalRecord started_record(const engine::WorkflowDefinition& def,
                                     json extra = json::object()) {
  json payload = {{"definition", def.name}, {"input", sample_campaign()}, {"run_id", "r1"}};
  payload.update(extra);
  return {"wf-1", 1, engine::RecordType::workflow_started, 1000, payload.dump()};
}

TEST(WorkflowReplayTest, OutOfOrderOrUnknownRecordsAreRejected) {
  const engine::WorkflowDefinition def = phases::campaign_definition();
  const engine::JournalRecord started = started_record(def);
  std::string error;
  auto state = engine::WorkflowState::start(started, def, &error);
  ASSERT_TRUE(state) << error;
  engine::JournalRecord gap{"wf-1", 3, engine::RecordType::step_scheduled, 1001,
                            json{{"step", "research.notion_search"}, {"attempt", 1}}.dump()};
  EXPECT_FALSE(state->apply(gap).is_ok());
  engine::JournalRecord unknown{"wf-1", 2, engine::RecordType::step_scheduled, 1001,
                                json{{"step", "research.nope"}, {"attempt", 1}}.dump()};
  EXPECT_FALSE(state->apply(unknown).is_ok());
  engine::JournalRecord ok{"wf-1", 2, engine::RecordType::step_scheduled, 1001,
                           json{{"step", "research.notion_search"}, {"attempt", 1}}.dump()};
  EXPECT_TRUE(state->apply(ok).is_ok());
  EXPECT_EQ(state->step(0).status, engine::StepStatus::scheduled);
}

// Span ids are derived from the workflow and the step, so a step scheduled
// before a restart (or an upgrade) keeps the span its traceparent named.
// They must stay what they were: the trace id and one key per span.
TEST(WorkflowReplayTest, SpanIdsAreDerivedFromTheirKeysAsBefore) {
  const engine::WorkflowDefinition def = phases::campaign_definition();
  const engine::JournalRecord started =
      started_record(def, {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}});
  std::string error;
  auto state = engine::WorkflowState::start(started, def, &error);
  ASSERT_TRUE(state) << error;
  engine::JournalRecord scheduled{"wf-1", 2, engine::RecordType::step_scheduled, 1234,
                                  json{{"step", "research.notion_search"}, {"attempt", 1}}.dump()};
  ASSERT_TRUE(state->apply(scheduled).is_ok());
  ASSERT_EQ(state->trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
  auto derived = [&](const std::string& key) {
    return observability::derive_span_id(state->trace_id(), key);
  };
  EXPECT_EQ(engine::WorkflowTracer::workflow_span_id(*state), derived("wf-1/workflow"));
  EXPECT_EQ(engine::WorkflowTracer::phase_span_id(*state, 0), derived("wf-1/phase:research"));
  EXPECT_EQ(engine::WorkflowTracer::step_span_id(*state, 0),
            derived("wf-1/step:research.notion_search:1:1234"));
  EXPECT_EQ(engine::WorkflowTracer::compensation_span_id(*state, "design.render", 2),
            derived("wf-1/compensation:design.render:2"));
}

}  // namespace
}  // namespace orch::testing
