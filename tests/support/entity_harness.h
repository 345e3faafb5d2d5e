// Entities driven without HTTP: a SQLite journal in a temporary directory, a
// ManualClock, and the test's own thread running the engine's io_context
// until each call is answered (no sleeps). reopen() is a restart on the same
// store.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "engine/entity/entity_engine.h"
#include "engine/store/sqlite_journal_store.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::testing {

class EntityHarness {
 public:
  // `define` registers the kinds on every (re)opened engine.
  explicit EntityHarness(std::function<void(engine::EntityEngine&)> define,
                         engine::EntityLimits limits = {});
  // A restart on the same store; `define`, when given, replaces the kinds.
  void reopen(std::function<void(engine::EntityEngine&)> define = nullptr);

  // Calls and runs the io_context until answered.
  engine::EntityResult call(const std::string& kind, const std::string& key,
                            const std::string& handler, nlohmann::json request,
                            const std::string& idempotency_key = "");
  // Calls each of `requests` at once (all in flight together), then waits
  // for every answer; answers in call order.
  std::vector<engine::EntityResult> call_all(const std::string& kind, const std::string& key,
                                             const std::string& handler,
                                             const std::vector<nlohmann::json>& requests);
  engine::EntityResult query(const std::string& kind, const std::string& key,
                             const std::string& name, const nlohmann::json& request = {});
  void run_one();
  // Every record of journal id `id` in the store.
  std::size_t records_of(const std::string& id);

  engine::ManualClock clock;
  engine::EntityEngine& engine() { return *engine_; }
  engine::Journal& journal() { return *journal_; }

 private:
  std::function<void(engine::EntityEngine&)> define_;
  engine::EntityLimits limits_;
  TempDir dir_;
  boost::asio::io_context io_{1};
  std::unique_ptr<engine::SqliteJournalStore> store_;
  std::unique_ptr<engine::Journal> journal_;
  std::unique_ptr<engine::EntityEngine> engine_;
};

}  // namespace orch::testing
