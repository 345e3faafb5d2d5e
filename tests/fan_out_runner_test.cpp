// The durable fan-out without HTTP: a real SQLite store in a temporary
// directory, the ManualClock, and the test's thread running the io_context
// (no sleeps). Items run at most `concurrency` at a time, each outcome is
// written to the store, retries back off and end in "failed" after their
// attempts, a run that stops mid-way (the process dying) resumes with only
// the unsettled items, a requeue resends exactly the failed ones, and a
// rewound run takes an item moved back behind its cursor. The store's adds
// say which items were new, and writes made in one transaction are all or
// nothing.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <set>

#include "engine/fanout/fan_out_runner.h"
#include "engine/store/sqlite_journal_store.h"
#include "tests/support/orchestrator_fixture.h"

namespace orch::engine {
namespace {

struct Pending {
  FanOutItem item;
  int attempt;
  std::function<void(ItemOutcome)> done;
};

class FanOutRunnerTest : public ::testing::Test {
 protected:
  FanOutRunnerTest() { open(); }
  ~FanOutRunnerTest() override { close(); }

  void open() {
    std::string error;
    store_ = SqliteJournalStore::open((dir_.path / "journal.db").string(), &error);
    ASSERT_TRUE(store_) << error;
    journal_ = std::make_unique<Journal>(*store_, io_);
    runner_ = std::make_unique<FanOutRunner>(io_, *journal_, clock_);
  }
  // What a SIGKILL leaves: the store as written, nothing in memory.
  void close() {
    runner_.reset();
    journal_.reset();
    io_.restart();
    io_.poll();
    store_.reset();
    io_.restart();
  }

  void add(const std::string& fan_out, int n) {
    std::vector<FanOutItem> items;
    for (int i = 1; i <= n; ++i)
      items.push_back({fan_out, "k" + std::to_string(i), i, "", 0, "", "", 0, 0});
    bool done = false;
    runner_->add_items(std::move(items), [&](const Status& s, std::size_t) {
      EXPECT_TRUE(s) << s.message();
      done = true;
    });
    until([&] { return done; });
  }
  template <typename Pred>
  void until(Pred pred) {
    // Polls (a timer on the ManualClock must not wait in real time) and
    // lets 50 ms pass whenever nothing is ready; the journal's writer works
    // on its own thread meanwhile.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!pred() && std::chrono::steady_clock::now() < give_up) {
      io_.restart();
      if (io_.poll_one() == 0) clock_.advance(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(pred());
  }
  std::map<std::string, std::uint64_t> counts(const std::string& fan_out) {
    std::map<std::string, std::uint64_t> c;
    EXPECT_TRUE(store_->fan_out_counts(fan_out, &c));
    return c;
  }
  FanOutItem item(const std::string& fan_out, const std::string& key) {
    FanOutItem out;
    bool found = false;
    EXPECT_TRUE(store_->fan_out_item(fan_out, key, &out, &found));
    EXPECT_TRUE(found) << key;
    return out;
  }

  testing::TempDir dir_;
  boost::asio::io_context io_{1};
  ManualClock clock_;
  std::unique_ptr<SqliteJournalStore> store_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<FanOutRunner> runner_;
};

TEST_F(FanOutRunnerTest, EveryItemRunsOnceWithinTheConcurrencyLimit) {
  add("f", 1000);
  FanOutPolicy policy;
  policy.concurrency = 8;
  policy.read_ahead = 64;
  std::map<std::string, int> attempts;
  std::size_t in_flight = 0, most = 0;
  std::vector<Pending> pending;
  bool done = false;
  runner_->run("f", policy,
               [&](const FanOutItem& item, int attempt, std::function<void(ItemOutcome)> d) {
                 ++attempts[item.key];
                 most = std::max(most, ++in_flight);
                 pending.push_back({item, attempt, std::move(d)});
               },
               [&](const Status& s) {
                 EXPECT_TRUE(s) << s.message();
                 done = true;
               });
  while (!done) {
    for (Pending& p : std::exchange(pending, {})) {
      --in_flight;
      p.done(ItemOutcome::finished("sent", R"({"n":1})"));
    }
    io_.restart();
    io_.poll_one();
  }
  EXPECT_EQ(attempts.size(), 1000u);
  for (const auto& [key, n] : attempts) EXPECT_EQ(n, 1) << key;
  EXPECT_LE(most, 8u);
  EXPECT_EQ(counts("f"), (std::map<std::string, std::uint64_t>{{"pending", 0}, {"sent", 1000}}));
  EXPECT_EQ(item("f", "k500").detail, R"({"n":1})");
  EXPECT_EQ(item("f", "k500").attempts, 1);
}

TEST_F(FanOutRunnerTest, RetriesBackOffAndExhaustedItemsFail) {
  add("f", 4);
  std::map<std::string, std::vector<TimeMs>> seen;
  bool done = false;
  runner_->run("f", FanOutPolicy{},
               [&](const FanOutItem& item, int attempt, std::function<void(ItemOutcome)> d) {
                 seen[item.key].push_back(clock_.now_ms());
                 if (item.key == "k1") return d(ItemOutcome::finished("sent"));
                 if (item.key == "k2")  // transient twice, then through
                   return d(attempt < 3 ? ItemOutcome::retry("503") : ItemOutcome::finished("sent"));
                 if (item.key == "k3") return d(ItemOutcome::retry("503 service unavailable"));
                 d(ItemOutcome::fail("400 invalid number"));
               },
               [&](const Status&) { done = true; });
  until([&] { return done; });
  EXPECT_EQ(seen["k1"].size(), 1u);
  EXPECT_EQ(seen["k2"].size(), 3u);
  EXPECT_EQ(seen["k3"].size(), 3u);
  EXPECT_EQ(seen["k4"].size(), 1u);
  EXPECT_EQ(item("f", "k2").status, "sent");
  EXPECT_EQ(item("f", "k2").attempts, 3);
  EXPECT_EQ(item("f", "k3").status, "failed");
  EXPECT_EQ(item("f", "k3").error, "503 service unavailable (after 3 attempts)");
  EXPECT_EQ(item("f", "k4").status, "failed");
  EXPECT_EQ(item("f", "k4").attempts, 1);
  EXPECT_EQ(item("f", "k4").error, "400 invalid number");
  EXPECT_EQ(counts("f")["sent"], 2u);
  EXPECT_EQ(counts("f")["failed"], 2u);
  EXPECT_EQ(counts("f")["pending"], 0u);
}

TEST_F(FanOutRunnerTest, ARetryWaitsAtLeastTheServersRetryAfter) {
  add("f", 1);
  std::vector<TimeMs> seen;
  bool done = false;
  runner_->run("f", FanOutPolicy{},
               [&](const FanOutItem&, int attempt, std::function<void(ItemOutcome)> d) {
                 seen.push_back(clock_.now_ms());
                 d(attempt == 1 ? ItemOutcome::retry("429", std::chrono::seconds(20))
                                : ItemOutcome::finished("sent"));
               },
               [&](const Status&) { done = true; });
  until([&] { return done; });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_GE(seen[1] - seen[0], 20'000);
}

TEST_F(FanOutRunnerTest, ADeferredItemWaitsWithoutSpendingAnAttempt) {
  add("f", 1);
  std::vector<int> attempts;
  bool done = false;
  runner_->run("f", FanOutPolicy{},
               [&](const FanOutItem&, int attempt, std::function<void(ItemOutcome)> d) {
                 attempts.push_back(attempt);
                 d(attempts.size() <= 5 ? ItemOutcome::defer("breaker open", std::chrono::seconds(1))
                                        : ItemOutcome::finished("sent"));
               },
               [&](const Status&) { done = true; });
  until([&] { return done; });
  EXPECT_EQ(attempts, (std::vector<int>{1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(item("f", "k1").status, "sent");
}

TEST_F(FanOutRunnerTest, AStoppedRunResumesWithOnlyTheUnsettledItems) {
  add("f", 100);
  FanOutPolicy policy;
  policy.concurrency = 10;
  std::vector<Pending> pending;
  runner_->run("f", policy,
               [&](const FanOutItem& item, int attempt, std::function<void(ItemOutcome)> d) {
                 pending.push_back({item, attempt, std::move(d)});
               },
               [](const Status&) { ADD_FAILURE() << "the first run never ends"; });
  // Settle 40 items (all written), then leave 10 in flight and die.
  for (int settled = 0; settled < 40;) {
    io_.restart();
    io_.poll();
    for (Pending& p : std::exchange(pending, {})) {
      if (settled++ < 40) p.done(ItemOutcome::finished("sent"));
      else pending.push_back(std::move(p));
    }
  }
  until([&] { return counts("f")["sent"] == 40 && pending.size() == 10; });
  pending.clear();
  close();
  open();
  std::set<std::string> second;
  bool done = false;
  runner_->run("f", policy,
               [&](const FanOutItem& item, int, std::function<void(ItemOutcome)> d) {
                 EXPECT_TRUE(second.insert(item.key).second) << item.key;
                 d(ItemOutcome::finished("sent"));
               },
               [&](const Status&) { done = true; });
  until([&] { return done; });
  EXPECT_EQ(second.size(), 60u);
  EXPECT_EQ(counts("f")["sent"], 100u);
}

TEST_F(FanOutRunnerTest, RequeueResendsExactlyTheFailedItems) {
  add("f", 50);
  bool done = false;
  auto first = [&](const FanOutItem& item, int, std::function<void(ItemOutcome)> d) {
    const int n = std::stoi(item.key.substr(1));
    d(n % 5 == 0 ? ItemOutcome::fail("boom") : ItemOutcome::finished("sent"));
  };
  runner_->run("f", FanOutPolicy{}, first, [&](const Status&) { done = true; });
  until([&] { return done; });
  ASSERT_EQ(counts("f")["failed"], 10u);
  std::size_t moved = 0;
  done = false;
  runner_->requeue("f", "failed", [&](const Status& s, std::size_t n) {
    EXPECT_TRUE(s);
    moved = n;
    done = true;
  });
  until([&] { return done; });
  EXPECT_EQ(moved, 10u);
  EXPECT_EQ(item("f", "k5").attempts, 0);
  std::set<std::string> resent;
  done = false;
  runner_->run("f", FanOutPolicy{},
               [&](const FanOutItem& item, int attempt, std::function<void(ItemOutcome)> d) {
                 EXPECT_EQ(attempt, 1);
                 resent.insert(item.key);
                 d(ItemOutcome::finished("sent"));
               },
               [&](const Status&) { done = true; });
  until([&] { return done; });
  EXPECT_EQ(resent, (std::set<std::string>{"k10", "k15", "k20", "k25", "k30", "k35", "k40", "k45",
                                            "k5", "k50"}));
  EXPECT_EQ(counts("f")["sent"], 50u);
  EXPECT_EQ(counts("f")["failed"], 0u);
}

TEST_F(FanOutRunnerTest, AddingAnItemTwiceKeepsTheFirst) {
  add("f", 3);
  add("f", 5);  // k1..k3 again, k4 and k5 new
  EXPECT_EQ(counts("f")["pending"], 5u);
  std::vector<FanOutItem> page;
  ASSERT_TRUE(store_->fan_out_items({"f", "", 2, 2}, &page));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].key, "k3");
  EXPECT_EQ(page[1].key, "k4");
}

TEST_F(FanOutRunnerTest, AnAddSaysWhichItemsWereNew) {
  add("f", 2);
  std::vector<FanOutItem> items = {{"f", "k2", 7, "pending", 0, "{}", "", 1, 1},
                                   {"f", "k9", 8, "pending", 0, "{}", "", 1, 1}};
  std::vector<bool> which;
  std::size_t added = 0;
  ASSERT_TRUE(store_->add_fan_out_items(items, &added, &which));
  EXPECT_EQ(added, 1u);
  EXPECT_EQ(which, (std::vector<bool>{false, true}));
  EXPECT_EQ(counts("f")["pending"], 3u);
}

TEST_F(FanOutRunnerTest, WritesInOneTransactionAreAllOrNothing) {
  std::vector<FanOutItem> items = {{"f", "k1", 1, "pending", 0, "{}", "", 1, 1}};
  Status s = store_->in_one_transaction([&]() -> Status {
    if (Status w = store_->put_documents({{"c", "d1", "{}", "", "", 0, 1, 1}}, nullptr); !w) return w;
    if (Status w = store_->add_fan_out_items(items, nullptr); !w) return w;
    return Status::error("the third write failed");
  });
  EXPECT_FALSE(s);
  Document d;
  bool found = true;
  ASSERT_TRUE(store_->get_document("c", "d1", &d, &found));
  EXPECT_FALSE(found);
  EXPECT_TRUE(counts("f").empty() || counts("f")["pending"] == 0u);
  ASSERT_TRUE(store_->in_one_transaction([&]() -> Status {
    if (Status w = store_->put_documents({{"c", "d1", "{}", "", "", 0, 1, 1}}, nullptr); !w) return w;
    return store_->add_fan_out_items(items, nullptr);
  }));
  ASSERT_TRUE(store_->get_document("c", "d1", &d, &found));
  EXPECT_TRUE(found);
  EXPECT_EQ(counts("f")["pending"], 1u);
}

TEST_F(FanOutRunnerTest, ARewoundRunTakesAnItemMovedBackBehindItsCursor) {
  add("f", 3);
  std::map<std::string, int> attempts;
  std::vector<Pending> held;  // k3 stays in flight, so the run goes on
  bool done = false;
  runner_->run("f", FanOutPolicy{},
               [&](const FanOutItem& item, int attempt, std::function<void(ItemOutcome)> d) {
                 ++attempts[item.key];
                 if (item.key == "k3") return held.push_back({item, attempt, std::move(d)});
                 d(item.key == "k1" && attempts["k1"] == 1 ? ItemOutcome::fail("no")
                                                           : ItemOutcome::finished("sent"));
               },
               [&](const Status&) { done = true; });
  until([&] { return counts("f")["failed"] == 1u && counts("f")["sent"] == 1u; });
  FanOutUpdate back{item("f", "k1"), kItemFailed};
  back.item.status = kItemPending;
  back.item.attempts = 0;
  ASSERT_TRUE(store_->update_fan_out_items({back}, nullptr));
  runner_->rewind("f");
  until([&] { return counts("f")["sent"] == 2u; });
  ASSERT_EQ(held.size(), 1u);
  held[0].done(ItemOutcome::finished("sent"));
  until([&] { return done; });
  EXPECT_EQ(attempts, (std::map<std::string, int>{{"k1", 2}, {"k2", 1}, {"k3", 1}}));
}

}  // namespace
}  // namespace orch::engine
