// EventTriggers' matching: pending events taken in ordinal batches, each
// batch's outcome written in one transaction (see event_triggers.h), and the
// parked events woken when their customer appears or dead-lettered when
// their TTL ends.
#include <unordered_set>

#include "engine/json/json_writer.h"

#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "phases/audience/customer_directory.h"
#include "phases/triggers/event_triggers.h"
#include "phases/triggers/event_triggers_internal.h"

namespace orch::phases::triggers {

using engine::FanOutItem;
using engine::FanOutUpdate;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxClaimsCached = 100'000;
constexpr const char* kParked = "parked";
constexpr const char* kMatched = "matched";

std::string claim_key(const std::string& trigger, const std::string& customer) {
  return trigger + "|" + customer;
}

}  // namespace

void EventTriggers::match_more() {
  Matcher& m = *matcher_;
  if (m.busy || m.pacing) {
    m.again = true;
    return;
  }
  m.again = false;
  if (m.rewind) {
    m.rewind = false;
    m.cursor = 0;
  }
  std::vector<FanOutItem> events;
  Status s = journal_.store().fan_outs().fan_out_items(
      {kEventsFanOut, engine::kItemPending, m.cursor, tuning_.match_batch}, &events);
  if (!s) {
    observability::log(observability::LogLevel::error, "events not read for matching",
                       {{"error", s.message()}});
    return;  // the sweep tries again
  }
  if (events.empty()) return;
  m.busy = true;
  match_batch(std::move(events));
}

// Whether `rule` may act for `customer` now, by its re-eligibility and the
// claims made before; records the claim this match makes.
bool EventTriggers::eligible(const TriggerRule& rule, const std::string& customer,
                             const std::string& match, engine::TimeMs at,
                             std::vector<engine::Document>* claims) {
  if (rule.re_eligibility == ReEligibility::every) return true;
  Matcher& m = *matcher_;
  const std::string key = claim_key(rule.id, customer);
  auto it = m.claims.find(key);
  if (it == m.claims.end()) {
    engine::Document d;
    bool found = false;
    Status s = journal_.store().documents().get_document(kTriggerClaims, key, &d, &found);
    if (!s) return false;  // unreadable: no action now; the claim decides after a restart
    if (m.claims.size() >= kMaxClaimsCached) m.claims.clear();
    Matcher::Claim c;
    if (found) {
      json body = json::parse(d.body, nullptr, false);
      c = {body.value("match", ""), body.value("at", engine::TimeMs{0})};
    }
    it = m.claims.emplace(key, c).first;
  }
  Matcher::Claim& c = it->second;
  if (!c.match.empty() && c.match != match) {
    if (rule.re_eligibility == ReEligibility::once) return false;
    if (at < c.at + rule.period_ms) return false;
  }
  c = {match, at};
  claims->push_back({kTriggerClaims, key, json{{"match", match}, {"at", at}}.dump(), rule.id,
                     customer, 0, 0, 0});
  return true;
}

void EventTriggers::match_batch(std::vector<FanOutItem> events) {
  const auto started = std::chrono::steady_clock::now();
  const engine::TimeMs now = clock_.now_ms();
  std::vector<json> parsed;
  parsed.reserve(events.size());
  std::vector<std::string> subjects;
  for (const FanOutItem& e : events) {
    parsed.push_back(json::parse(e.detail, nullptr, false));
    subjects.push_back(parsed.back().value("subject", ""));
  }
  std::vector<std::string> missing;
  Status read = journal_.store().documents().missing_documents(audience::kCustomers, subjects,
                                                               &missing);
  if (!read) {
    matcher_->busy = false;
    observability::log(observability::LogLevel::error, "customers not read for matching",
                       {{"error", read.message()}});
    return;
  }
  const std::unordered_set<std::string> unknown(missing.begin(), missing.end());
  auto w = std::make_shared<EventWrites>();
  std::size_t parked = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    FanOutItem next = std::move(events[i]);
    const json& detail = parsed[i];
    next.updated_ms = now;
    std::string added;  // members added to the stored detail, spliced in
    if (!detail.is_object()) {
      next.status = kMatched;  // unreadable: nothing can match it
    } else if (unknown.count(subjects[i])) {
      next.status = kParked;
      const engine::TimeMs until = now + tuning_.park_ttl.count();
      added = ",\"parked_until\":" + std::to_string(until);
      w->documents.push_back({kParkedEvents, next.key,
                              json{{"ordinal", next.ordinal}, {"until", until}}.dump(),
                              subjects[i], std::to_string(until), 0, 0, 0});
      ++parked;
    } else {
      next.status = kMatched;
      added = ",\"matches\":" + match_event(next, detail, &w->documents, &w->actions);
    }
    // The detail is an object written by intake: its members and these,
    // without parsing and writing it again.
    if (!added.empty() && !next.detail.empty() && next.detail.back() == '}') {
      next.detail.pop_back();
      next.detail += added;
      next.detail += '}';
    }
    w->events.push_back({std::move(next), engine::kItemPending});
  }
  const std::int64_t last = w->events.back().item.ordinal;
  const std::size_t actions = w->actions.size();
  const auto cost = std::chrono::steady_clock::now() - started;
  journal_.run_on_writer(
      [w](engine::JournalStore& store) { return w->apply(store); },
      [this, last, parked, actions, cost, alive = alive_](const Status& s) {
        if (!*alive) return;
        Matcher& m = *matcher_;
        m.busy = false;
        if (!s) {
          m.claims.clear();  // some were never written
          observability::log(observability::LogLevel::error, "matches not recorded",
                             {{"error", s.message()}});
          return;  // the sweep tries again
        }
        m.cursor = std::max(m.cursor, last);
        if (ports_.metrics && parked) ports_.metrics->events_parked(parked);
        if (actions) run_actions();
        unpark();
        match_after(cost);
      });
}

// Intake comes first: while events are arriving, matching waits twice what
// its last batch cost (at most 20 ms) before the next, so it takes at most
// a third of the engine's thread and a burst is accepted at the rate the
// API can take it, the queue absorbing the rest (the lag metric shows it).
// At a steady rate the batches are small and the wait a few milliseconds.
void EventTriggers::match_after(std::chrono::steady_clock::duration cost) {
  constexpr auto kArriving = std::chrono::milliseconds(100);
  constexpr auto kMaxWait = std::chrono::milliseconds(20);
  const auto now = std::chrono::steady_clock::now();
  if (now - intake_->last_write > kArriving) return match_more();
  Matcher& m = *matcher_;
  m.pacing = true;
  m.pace_timer.expires_after(std::min<std::chrono::steady_clock::duration>(2 * cost, kMaxWait));
  m.pace_timer.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    matcher_->pacing = false;
    match_more();
  });
}

// The matches of one event (accepted at item.created_ms) as its detail
// lists them; the action items of those eligible and the claims they make
// are added to *actions and *claims.
std::string EventTriggers::match_event(const FanOutItem& item, const json& event,
                                       std::vector<engine::Document>* claims,
                                       std::vector<FanOutItem>* actions) {
  std::string found;
  JsonWriter list(found);
  list.begin_array();
  const std::string type = event.value("type", "");
  const std::string customer = event.value("subject", "");
  for (const TriggerRule* rule : catalog_.in_force(type, item.created_ms)) {
    if (!matches(rule->conditions, event)) continue;
    const std::string id = match_id(item.ordinal, rule->id);
    const bool ok = eligible(*rule, customer, id, item.created_ms, claims);
    list.begin_object().key("eligible").boolean(ok).key("id").string(id);
    list.key("trigger").string(rule->id).key("trigger_version").number(rule->version).end_object();
    if (ports_.metrics) ports_.metrics->trigger_matched(rule->id, ok);
    if (!ok) continue;
    std::string detail;
    JsonWriter d(detail);
    d.begin_object().key("action").raw(catalog_.action_text(rule->id, rule->version));
    d.key("attempts").begin_array().end_array();
    d.key("event").begin_object().key("id").string(event.value("id", ""));
    d.key("source").string(event.value("source", "")).key("subject").string(customer);
    d.key("type").string(type).end_object();
    d.key("event_key").string(item.key).key("event_ordinal").number(item.ordinal);
    d.key("kind").string("action");
    if (auto tp = event.find("traceparent"); tp != event.end() && tp->is_string())
      d.key("traceparent").string(tp->get_ref<const std::string&>());
    d.key("trigger").string(rule->id).key("version").number(rule->version).end_object();
    actions->push_back({kActionsFanOut, id, ++matcher_->last_action_ordinal, engine::kItemPending,
                        0, std::move(detail), "", item.created_ms, item.created_ms});
  }
  list.end_array();
  return found;
}

}  // namespace orch::phases::triggers
