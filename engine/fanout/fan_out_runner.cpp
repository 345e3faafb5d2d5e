#include "engine/fanout/fan_out_runner.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "observability/metrics.h"

namespace orch::engine {

namespace {

// Timer keys are "<fan-out>\x1f<item key>": neither part holds a unit separator.
constexpr char kSeparator = '\x1f';

}  // namespace

struct FanOutRunner::Run {
  std::string id;
  FanOutPolicy policy;
  ItemWork work;
  std::vector<Done> done;
  std::deque<FanOutItem> ready;  // read from the store (or due again), not started
  std::int64_t cursor = 0;       // the highest ordinal read so far
  bool exhausted = false;        // the last read found no more pending items
  // Keys read and not yet durably settled (ready, in flight, backing off,
  // or their outcome unwritten): a read from an earlier cursor skips them.
  std::unordered_set<std::string> active;
  std::size_t in_flight = 0;
  std::unordered_map<std::string, FanOutItem> waiting;  // backing off, by key
  std::vector<FanOutUpdate> unwritten;
  bool writing = false;
  Status status;  // not ok once a read or write failed: no new attempts, the run ends with it
};

FanOutRunner::FanOutRunner(boost::asio::io_context& io, Journal& journal, Clock& clock,
                           observability::Metrics* metrics)
    : io_(io),
      journal_(journal),
      clock_(clock),
      metrics_(metrics),
      timers_(io, clock, [this](const std::string& key) { on_timer(key); }),
      jitter_state_(static_cast<std::uint64_t>(clock.now_ms()) | 1) {}

FanOutRunner::~FanOutRunner() { *alive_ = false; }

void FanOutRunner::add_items(std::vector<FanOutItem> items,
                             std::function<void(const Status&, std::size_t)> done) {
  const TimeMs now = clock_.now_ms();
  for (FanOutItem& item : items) {
    if (item.status.empty()) item.status = kItemPending;
    if (item.detail.empty()) item.detail = "{}";
    if (item.created_ms == 0) item.created_ms = now;
    if (item.updated_ms == 0) item.updated_ms = item.created_ms;
  }
  auto added = std::make_shared<std::size_t>(0);
  journal_.run_on_writer(
      [items = std::move(items), added](JournalStore& store) {
        return store.fan_outs().add_fan_out_items(items, added.get());
      },
      [added, done = std::move(done)](const Status& s) { done(s, s ? *added : 0); });
}

void FanOutRunner::requeue(const std::string& fan_out, const std::string& from,
                           std::function<void(const Status&, std::size_t)> done) {
  struct Pass {
    std::string fan_out, from;
    std::int64_t cursor = 0;
    std::size_t moved = 0;
    std::function<void(const Status&, std::size_t)> done;
  };
  auto pass = std::make_shared<Pass>(Pass{fan_out, from, 0, 0, std::move(done)});
  auto step = std::make_shared<std::function<void()>>();
  *step = [this, pass, step, alive = alive_] {
    if (!*alive) return;
    std::vector<FanOutItem> items;
    constexpr std::size_t kBatch = 512;
    Status s = journal_.store().fan_outs().fan_out_items(
        {pass->fan_out, pass->from, pass->cursor, kBatch}, &items);
    if (!s || items.empty()) {
      pass->done(s, pass->moved);
      *step = nullptr;  // breaks the cycle
      return;
    }
    pass->cursor = items.back().ordinal;
    std::vector<FanOutUpdate> updates;
    const TimeMs now = clock_.now_ms();
    for (FanOutItem& item : items) {
      item.status = kItemPending;
      item.attempts = 0;
      item.updated_ms = now;
      updates.push_back({std::move(item), pass->from});
    }
    auto applied = std::make_shared<std::size_t>(0);
    journal_.run_on_writer(
        [updates = std::move(updates), applied](JournalStore& store) {
          return store.fan_outs().update_fan_out_items(updates, applied.get());
        },
        [pass, step, applied](const Status& w) {
          if (!w) {
            pass->done(w, pass->moved);
            *step = nullptr;
            return;
          }
          pass->moved += *applied;
          (*step)();
        });
  };
  (*step)();
}

void FanOutRunner::run(const std::string& fan_out, const FanOutPolicy& policy, ItemWork work,
                       Done done) {
  if (auto it = runs_.find(fan_out); it != runs_.end()) {
    // Joining: items added since the run read its last page are read too.
    Run& r = *it->second;
    r.done.push_back(std::move(done));
    r.exhausted = false;
    pump(r);
    return;
  }
  auto run = std::make_unique<Run>();
  run->id = fan_out;
  run->policy = policy;
  run->policy.concurrency = std::max<std::size_t>(1, policy.concurrency);
  run->policy.read_ahead = std::max<std::size_t>(1, policy.read_ahead);
  run->policy.write_batch = std::max<std::size_t>(1, policy.write_batch);
  run->work = std::move(work);
  run->done.push_back(std::move(done));
  Run& r = *run;
  runs_.emplace(fan_out, std::move(run));
  pump(r);
  maybe_finish(r);
}

void FanOutRunner::rewind(const std::string& fan_out) {
  auto it = runs_.find(fan_out);
  if (it == runs_.end()) return;
  it->second->cursor = 0;
  it->second->exhausted = false;
  pump(*it->second);
}

FanOutProgress FanOutRunner::progress(const std::string& fan_out) {
  FanOutProgress p;
  Status s = journal_.store().fan_outs().fan_out_counts(fan_out, &p.counts);
  (void)s;  // an unreadable store shows no counts; the run itself reports the error
  if (auto it = runs_.find(fan_out); it != runs_.end()) p.in_flight = it->second->in_flight;
  return p;
}

void FanOutRunner::pump(Run& run) {
  while (run.status && run.in_flight < run.policy.concurrency) {
    if (run.ready.empty() && !run.exhausted) read_more(run);
    if (run.ready.empty()) break;
    FanOutItem item = std::move(run.ready.front());
    run.ready.pop_front();
    start_attempt(run, std::move(item));
  }
}

void FanOutRunner::read_more(Run& run) {
  while (run.ready.empty() && !run.exhausted) {
    std::vector<FanOutItem> items;
    Status s = journal_.store().fan_outs().fan_out_items(
        {run.id, kItemPending, run.cursor, run.policy.read_ahead}, &items);
    if (!s) {
      run.status = s;
      return;
    }
    run.exhausted = items.size() < run.policy.read_ahead;
    if (!items.empty()) run.cursor = items.back().ordinal;
    for (FanOutItem& item : items)
      if (run.active.insert(item.key).second) run.ready.push_back(std::move(item));
  }
}

void FanOutRunner::start_attempt(Run& run, FanOutItem item) {
  ++run.in_flight;
  if (metrics_) metrics_->fan_out_in_flight(run.policy.kind, 1);
  const int attempt = item.attempts + 1;
  // The outcome is settled from a fresh handler, never inside work(): a
  // work that answers at once must not re-enter pump().
  auto settle_later = [this, id = run.id, item, attempt, alive = alive_](ItemOutcome outcome) {
    boost::asio::post(io_, [this, id, item, attempt, alive, outcome = std::move(outcome)]() mutable {
      if (!*alive) return;
      auto it = runs_.find(id);
      if (it != runs_.end()) settle(*it->second, std::move(item), attempt, std::move(outcome));
    });
  };
  run.work(item, attempt, std::move(settle_later));
}

void FanOutRunner::settle(Run& run, FanOutItem item, int attempt, ItemOutcome outcome) {
  --run.in_flight;
  if (metrics_) {
    metrics_->fan_out_in_flight(run.policy.kind, -1);
    const int max_attempts = run.policy.retry.max_attempts;
    const bool exhausted = max_attempts > 0 && attempt >= max_attempts;
    switch (outcome.kind) {
      case ItemOutcome::Kind::done: metrics_->fan_out_attempt(run.policy.kind, outcome.status); break;
      case ItemOutcome::Kind::deferred: metrics_->fan_out_attempt(run.policy.kind, "deferred"); break;
      case ItemOutcome::Kind::permanent: metrics_->fan_out_attempt(run.policy.kind, kItemFailed); break;
      case ItemOutcome::Kind::retryable:
        metrics_->fan_out_attempt(run.policy.kind, exhausted ? kItemFailed : "retried");
        break;
    }
  }
  if (outcome.kind == ItemOutcome::Kind::deferred) {
    // Nothing was attempted: nothing to write, the attempt is not spent.
    const milliseconds after = std::max(outcome.retry_after, milliseconds{100});
    const std::string key = item.key;
    run.waiting[key] = std::move(item);
    timers_.arm(run.id + kSeparator + key, clock_.now_ms() + after.count());
    pump(run);
    return;
  }
  FanOutUpdate update{item, kItemPending};
  FanOutItem& next = update.item;
  next.attempts = attempt;
  next.updated_ms = clock_.now_ms();
  if (!outcome.detail.empty()) next.detail = std::move(outcome.detail);
  const int max = run.policy.retry.max_attempts;
  if (outcome.kind == ItemOutcome::Kind::done) {
    next.status = outcome.status;
    next.error = std::move(outcome.error);
  } else if (outcome.kind == ItemOutcome::Kind::permanent ||
             (max > 0 && attempt >= max)) {
    next.status = kItemFailed;
    next.error = outcome.kind == ItemOutcome::Kind::permanent
                     ? outcome.error
                     : outcome.error + " (after " + std::to_string(attempt) + " attempts)";
  } else {
    next.status = kItemPending;
    next.error = outcome.error;
    milliseconds delay = run.policy.retry.delay_after(attempt);
    jitter_state_ ^= jitter_state_ << 13;
    jitter_state_ ^= jitter_state_ >> 7;
    jitter_state_ ^= jitter_state_ << 17;
    delay = milliseconds(delay.count() > 0
                             ? static_cast<std::int64_t>(jitter_state_ % (delay.count() + 1))
                             : 0);
    delay = std::max(delay, outcome.retry_after);
    run.waiting[next.key] = next;
    timers_.arm(run.id + kSeparator + next.key, clock_.now_ms() + delay.count());
  }
  queue_write(run, std::move(update));
  pump(run);
  maybe_finish(run);
}

void FanOutRunner::on_timer(const std::string& key) {
  const std::size_t at = key.find(kSeparator);
  auto it = runs_.find(std::string_view(key).substr(0, at));
  if (it == runs_.end()) return;
  Run& run = *it->second;
  auto waiting = run.waiting.find(key.substr(at + 1));
  if (waiting == run.waiting.end()) return;
  run.ready.push_front(std::move(waiting->second));
  run.waiting.erase(waiting);
  pump(run);
  maybe_finish(run);
}

void FanOutRunner::queue_write(Run& run, FanOutUpdate update) {
  run.unwritten.push_back(std::move(update));
  if (!run.writing) write(run);
}

// One transaction at a time per run: outcomes settled while it commits wait
// for the next, so writes batch themselves under load (a group commit)
// without a timer.
void FanOutRunner::write(Run& run) {
  const std::size_t n = std::min(run.unwritten.size(), run.policy.write_batch);
  std::vector<FanOutUpdate> batch(std::make_move_iterator(run.unwritten.begin()),
                                  std::make_move_iterator(run.unwritten.begin() + n));
  run.unwritten.erase(run.unwritten.begin(), run.unwritten.begin() + n);
  run.writing = true;
  std::vector<std::string> settled;
  for (const FanOutUpdate& u : batch)
    if (u.item.status != kItemPending) settled.push_back(u.item.key);
  journal_.run_on_writer(
      [batch = std::move(batch)](JournalStore& store) {
        return store.fan_outs().update_fan_out_items(batch, nullptr);
      },
      [this, id = run.id, settled = std::move(settled), alive = alive_](const Status& s) {
        if (!*alive) return;
        auto it = runs_.find(id);
        if (it == runs_.end()) return;
        Run& r = *it->second;
        r.writing = false;
        if (s)
          for (const std::string& key : settled) r.active.erase(key);
        if (!s && r.status) r.status = s;
        if (!r.unwritten.empty()) write(r);
        maybe_finish(r);
      });
}

void FanOutRunner::maybe_finish(Run& run) {
  if (run.in_flight > 0 || run.writing || !run.unwritten.empty()) return;
  // A failed run stops without waiting for items backing off: they stay
  // pending in the store, and the next run takes them.
  if (run.status && (!run.ready.empty() || !run.exhausted || !run.waiting.empty())) return;
  for (const auto& [key, item] : run.waiting) timers_.cancel(run.id + kSeparator + key);
  auto node = runs_.extract(run.id);
  const Status status = node.mapped()->status;
  for (Done& done : node.mapped()->done) done(status);
}

}  // namespace orch::engine
