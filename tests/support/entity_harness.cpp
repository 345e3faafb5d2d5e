#include "tests/support/entity_harness.h"

#include <optional>

#include <gtest/gtest.h>

namespace orch::testing {

EntityHarness::EntityHarness(std::function<void(engine::EntityEngine&)> define,
                             engine::EntityLimits limits)
    : define_(std::move(define)), limits_(limits) {
  reopen();
}

void EntityHarness::reopen(std::function<void(engine::EntityEngine&)> define) {
  if (define) define_ = std::move(define);
  engine_.reset();
  journal_.reset();
  store_.reset();
  std::string error;
  store_ = engine::SqliteJournalStore::open((dir_.path / "entities.db").string(), &error);
  if (!store_) throw std::runtime_error("cannot open the store: " + error);
  journal_ = std::make_unique<engine::Journal>(*store_, io_);
  engine_ = std::make_unique<engine::EntityEngine>(io_, *journal_, clock, nullptr, limits_);
  define_(*engine_);
}

engine::EntityResult EntityHarness::call(const std::string& kind, const std::string& key,
                                         const std::string& handler, nlohmann::json request,
                                         const std::string& idempotency_key) {
  std::optional<engine::EntityResult> result;
  engine_->call(kind, key, handler, std::move(request), idempotency_key,
                [&](engine::EntityResult r) { result = std::move(r); });
  while (!result) run_one();
  return *result;
}

std::vector<engine::EntityResult> EntityHarness::call_all(
    const std::string& kind, const std::string& key, const std::string& handler,
    const std::vector<nlohmann::json>& requests) {
  std::vector<std::optional<engine::EntityResult>> results(requests.size());
  std::size_t answered = 0;
  for (std::size_t i = 0; i < requests.size(); ++i)
    engine_->call(kind, key, handler, requests[i], "", [&, i](engine::EntityResult r) {
      results[i] = std::move(r);
      ++answered;
    });
  while (answered < requests.size()) run_one();
  std::vector<engine::EntityResult> out;
  for (auto& r : results) out.push_back(std::move(*r));
  return out;
}

engine::EntityResult EntityHarness::query(const std::string& kind, const std::string& key,
                                          const std::string& name, const nlohmann::json& request) {
  return engine_->query(kind, key, name, request);
}

void EntityHarness::run_one() {
  io_.restart();
  io_.run_one();
}

std::size_t EntityHarness::records_of(const std::string& id) {
  std::vector<engine::JournalRecord> records;
  EXPECT_TRUE(store_->load_workflow(id, &records).is_ok());
  return records.size();
}

}  // namespace orch::testing
