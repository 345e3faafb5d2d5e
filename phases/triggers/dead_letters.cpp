// EventTriggers' dead-letter queue: the failed actions' documents listed,
// read, replayed (paced, audited, the document kept until the action
// succeeds) and discarded (audited).
#include <algorithm>
#include <cmath>
#include <map>

#include "engine/journal/document_pages.h"
#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "engine/time/time_format.h"
#include "observability/log.h"
#include "phases/triggers/event_triggers.h"
#include "phases/triggers/event_triggers_internal.h"

namespace orch::phases::triggers {

using engine::FanOutItem;
using nlohmann::json;

// A replay under way: its dead letters moved back to pending a chunk at a
// time, at most `per_second` a second.
struct ReplayRun {
  explicit ReplayRun(boost::asio::io_context& io) : timer(io) {}
  std::vector<std::string> ids;
  std::size_t next = 0;
  double per_second = 100;
  json actor;
  boost::asio::steady_timer timer;
};

namespace {

constexpr std::chrono::milliseconds kTick{100};

std::string audit_id(const std::string& letter, engine::TimeMs now) {
  static std::uint64_t counter = 0;
  return letter + "#" + std::to_string(now) + "." + std::to_string(++counter);
}

engine::Document audit_document(const std::string& letter, const std::string& action,
                                const json& actor, engine::TimeMs now) {
  json body = {{"dead_letter", letter}, {"action", action}, {"at", engine::format_time(now)},
               {"by", actor.value("by", "anonymous")}, {"token", actor.value("token", json())}};
  return {kDeadLetterAudit, audit_id(letter, now), body.dump(), letter, action, 0, now, now};
}

}  // namespace

Status EventTriggers::dead_letters(const std::string& trigger, const std::string& error_class,
                                   std::int64_t before_seq, std::size_t limit, json* rows,
                                   std::vector<engine::Document>* page, bool* more) {
  Status s = journal_.store().documents().list_documents(
      {kDeadLetters, trigger, error_class, before_seq, limit}, page, more);
  if (!s) return s;
  *rows = json::array();
  for (const engine::Document& d : *page) rows->push_back(json::parse(d.body, nullptr, false));
  return Status::ok();
}

bool EventTriggers::dead_letter_view(const std::string& id, json* out, Status* error) {
  engine::Document d;
  bool found = false;
  if (*error = journal_.store().documents().get_document(kDeadLetters, id, &d, &found); !*error || !found)
    return false;
  *out = json::parse(d.body, nullptr, false);
  FanOutItem item;
  if (*error = journal_.store().fan_outs().fan_out_item(kActionsFanOut, id, &item, &found); !*error)
    return false;
  (*out)["state"] = found && item.status == engine::kItemPending ? "replaying" : "dead";
  if (found) {
    json detail = json::parse(item.detail, nullptr, false);
    if (detail.is_object() && detail.contains("attempts")) (*out)["attempts"] = detail["attempts"];
  }
  std::vector<engine::Document> audit;
  bool more = false;
  if (*error = journal_.store().documents().list_documents({kDeadLetterAudit, id, "", 0, 100}, &audit, &more);
      !*error)
    return false;
  json trail = json::array();
  for (auto it = audit.rbegin(); it != audit.rend(); ++it) trail.push_back(json::parse(it->body, nullptr, false));
  (*out)["audit"] = std::move(trail);
  return true;
}

void EventTriggers::replay(std::vector<std::string> ids, double per_second, const json& actor,
                           std::function<void(const Status&, const json& outcome)> done) {
  json outcome = json::object();
  auto run = std::make_shared<ReplayRun>(io_);
  run->per_second = std::clamp(per_second, 0.1, 10'000.0);
  run->actor = actor;
  // Each dead letter to replay records the request before the answer, so
  // a replay cut short by a crash resumes at the next start.
  const json request = {{"at", engine::format_time(clock_.now_ms())},
                        {"by", actor.value("by", "anonymous")},
                        {"token", actor.value("token", json())},
                        {"max_per_second", run->per_second}};
  auto w = std::make_shared<EventWrites>();
  for (const std::string& id : ids) {
    engine::Document d;
    FanOutItem item;
    bool letter = false, found = false;
    Status s = journal_.store().documents().get_document(kDeadLetters, id, &d, &letter);
    if (s) s = journal_.store().fan_outs().fan_out_item(kActionsFanOut, id, &item, &found);
    if (!s) return done(s, outcome);
    json body = json::parse(d.body, nullptr, false);
    if (!letter || !found || !body.is_object()) {
      outcome[id] = "not_found";
    } else if (item.status != engine::kItemFailed) {
      outcome[id] = "already_replaying";
    } else if (!outcome.contains(id)) {
      outcome[id] = "replaying";
      run->ids.push_back(id);
      body["replay_requested"] = request;
      d.body = body.dump();
      w->documents.push_back(std::move(d));
    }
  }
  if (run->ids.empty()) return done(Status::ok(), outcome);
  journal_.run_on_writer(
      [w](engine::JournalStore& store) { return w->apply(store); },
      [this, run, outcome, done = std::move(done), alive = alive_](const Status& s) {
        if (!*alive) return;
        done(s, outcome);
        if (s) replay_next(run);
      });
}

// At start: the replays a crash cut short, resumed at the rate they asked
// for (one run per caller and rate).
Status EventTriggers::resume_replays() {
  std::map<std::string, std::shared_ptr<ReplayRun>> runs;
  Status s = engine::for_each_document(
      journal_.store().documents(), {kDeadLetters, "", "", 0, 500}, [&](const engine::Document& d) {
        const json body = json::parse(d.body, nullptr, false);
        if (!body.is_object() || !body.contains("replay_requested")) return true;
        const json& r = body["replay_requested"];
        const json actor = {{"by", r.value("by", "anonymous")}, {"token", r.value("token", json())}};
        const double rate = r.value("max_per_second", 100.0);
        auto& run = runs[actor.dump() + std::to_string(rate)];
        if (!run) {
          run = std::make_shared<ReplayRun>(io_);
          run->per_second = std::clamp(rate, 0.1, 10'000.0);
          run->actor = actor;
        }
        run->ids.push_back(d.id);
        return true;
      });
  if (!s) return s;
  for (auto& [key, run] : runs) {
    std::reverse(run->ids.begin(), run->ids.end());  // oldest first
    observability::log(observability::LogLevel::info, "dead letter replay resumed",
                       {{"dead_letters", run->ids.size()}, {"by", run->actor["by"]}});
    replay_next(run);
  }
  return Status::ok();
}

void EventTriggers::replay_next(std::shared_ptr<ReplayRun> run) {
  // A tick of 100 ms moves per_second / 10 of them; under 10 a second, a
  // tick of 1 / per_second moves one.
  const std::size_t chunk = static_cast<std::size_t>(
      std::max(1.0, std::floor(run->per_second * kTick.count() / 1000.0)));
  const auto tick = std::max<std::chrono::milliseconds>(
      kTick, std::chrono::milliseconds(static_cast<std::int64_t>(1000.0 / run->per_second)));
  const engine::TimeMs now = clock_.now_ms();
  std::vector<engine::FanOutUpdate> moved;
  std::vector<engine::Document> documents;
  for (; run->next < run->ids.size() && moved.size() < chunk; ++run->next) {
    const std::string& id = run->ids[run->next];
    engine::Document d;
    FanOutItem item;
    bool letter = false, found = false;
    if (!journal_.store().documents().get_document(kDeadLetters, id, &d, &letter) ||
        !journal_.store().fan_outs().fan_out_item(kActionsFanOut, id, &item, &found) || !letter ||
        !found || item.status != engine::kItemFailed)
      continue;
    const engine::Document audit = audit_document(id, "replay", run->actor, now);
    const json entry = json::parse(audit.body);
    json body = json::parse(d.body, nullptr, false);
    json detail = json::parse(item.detail, nullptr, false);
    if (!body.is_object() || !detail.is_object()) continue;
    body.erase("replay_requested");
    body["replays"].push_back(entry);
    detail["replays"].push_back(entry);
    d.body = body.dump();
    documents.push_back(std::move(d));
    documents.push_back(audit);
    engine::FanOutUpdate u{item, engine::kItemFailed};
    u.item.status = engine::kItemPending;
    u.item.attempts = 0;
    u.item.error.clear();
    u.item.detail = detail.dump();
    u.item.updated_ms = now;
    moved.push_back(std::move(u));
  }
  const bool last = run->next >= run->ids.size();
  auto w = std::make_shared<EventWrites>();
  w->documents = std::move(documents);
  w->events = std::move(moved);
  const std::size_t n = w->events.size();
  journal_.run_on_writer(
      [w](engine::JournalStore& store) { return w->apply(store); },
      [this, run, last, tick, n, alive = alive_](const Status& s) {
        if (!*alive) return;
        if (!s) {
          observability::log(observability::LogLevel::error, "dead letters not replayed",
                             {{"error", s.message()}});
          return;
        }
        observability::log(observability::LogLevel::info, "dead letters replayed",
                           {{"dead_letters", n}, {"by", run->actor.value("by", "anonymous")}});
        run_actions();
        fan_outs_.rewind(kActionsFanOut);
        if (last) return;
        run->timer.expires_after(tick);
        run->timer.async_wait([this, run, alive](const boost::system::error_code& ec) {
          if (!ec && *alive) replay_next(run);
        });
      });
}

void EventTriggers::discard(const std::string& id, const json& actor,
                            std::function<void(const Status&, Discard)> done) {
  engine::Document d;
  FanOutItem item;
  bool letter = false, found = false;
  Status s = journal_.store().documents().get_document(kDeadLetters, id, &d, &letter);
  if (s) s = journal_.store().fan_outs().fan_out_item(kActionsFanOut, id, &item, &found);
  if (!s || !letter) return done(s, Discard::not_found);
  if (found && item.status != engine::kItemFailed) return done(s, Discard::replaying);
  const engine::TimeMs now = clock_.now_ms();
  auto w = std::make_shared<EventWrites>();
  w->deleted.emplace_back(kDeadLetters, id);
  w->documents.push_back(audit_document(id, "discard", actor, now));
  if (found) {
    engine::FanOutUpdate u{item, engine::kItemFailed};
    u.item.status = "discarded";
    u.item.updated_ms = now;
    w->events.push_back(std::move(u));
  }
  journal_.run_on_writer(
      [w](engine::JournalStore& store) { return w->apply(store); },
      [id, actor, done = std::move(done), alive = alive_](const Status& s) {
        if (!*alive) return;
        if (s)
          observability::log(observability::LogLevel::info, "dead letter discarded",
                             {{"dead_letter", id}, {"by", actor.value("by", "anonymous")}});
        done(s, Discard::discarded);
      });
}

}  // namespace orch::phases::triggers
