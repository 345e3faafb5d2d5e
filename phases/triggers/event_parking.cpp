// EventTriggers' parked events: an event whose customer is not known yet
// waits (status parked, indexed by customer in "parked_events") until the
// customer is created, then is matched like any other; past the TTL it is
// dead-lettered as unknown_customer, and a replay matches it if the
// customer exists by then. A customer created just before the process died
// has its events woken at the next start (a resent creation finds the
// customer and wakes nothing).
//
// Writes that change events' status (matching, waking, expiring) take the
// matcher's `busy` turn, one at a time, so two never race on one event.
#include <charconv>
#include <unordered_set>

#include "engine/journal/document_pages.h"
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

constexpr std::size_t kMaxPerPass = 1'000;  // parked events woken or expired per transaction

// The parked events of `query`, at most kMaxPerPass.
Status parked_events(engine::DocumentStore& docs, engine::DocumentQuery query,
                     std::vector<engine::Document>* out) {
  for (bool more = true; more && out->size() < kMaxPerPass;) {
    std::vector<engine::Document> page;
    if (Status s = docs.list_documents(query, &page, &more); !s) return s;
    if (page.empty()) break;
    query.before_seq = page.back().seq;
    for (engine::Document& d : page) out->push_back(std::move(d));
  }
  return Status::ok();
}

}  // namespace

void EventTriggers::customers_added(const std::vector<std::string>& ids) {
  // A batch being matched may park an event of one of them (it read the
  // customers before they were written): it is looked for once that batch
  // is written. Otherwise only when some event is parked.
  std::map<std::string, std::uint64_t> counts;
  if (!matcher_->busy &&
      (!journal_.store().fan_outs().fan_out_counts(kEventsFanOut, &counts) || !counts["parked"]))
    return;
  matcher_->appeared.insert(ids.begin(), ids.end());
  unpark();
}

Status EventTriggers::find_known_parked() {
  std::map<std::string, std::uint64_t> counts;
  if (Status s = journal_.store().fan_outs().fan_out_counts(kEventsFanOut, &counts); !s) return s;
  if (!counts["parked"]) return Status::ok();
  engine::DocumentStore& docs = journal_.store().documents();
  engine::DocumentQuery query{kParkedEvents, "", "", 0, 500};
  for (bool more = true; more;) {
    std::vector<engine::Document> page;
    if (Status s = docs.list_documents(query, &page, &more); !s) return s;
    if (page.empty()) break;
    query.before_seq = page.back().seq;
    std::vector<std::string> customers;
    customers.reserve(page.size());
    for (const engine::Document& d : page) customers.push_back(d.index_a);
    std::vector<std::string> missing;
    if (Status s = docs.missing_documents(audience::kCustomers, customers, &missing); !s) return s;
    const std::unordered_set<std::string> unknown(missing.begin(), missing.end());
    for (const std::string& c : customers)
      if (!unknown.count(c)) matcher_->appeared.insert(c);
  }
  return Status::ok();
}

void EventTriggers::unpark() {
  Matcher& m = *matcher_;
  if (m.busy || m.appeared.empty()) return;
  engine::DocumentStore& docs = journal_.store().documents();
  std::vector<engine::Document> parked;
  for (auto it = m.appeared.begin(); it != m.appeared.end();) {
    if (Status s = parked_events(docs, {kParkedEvents, *it, "", 0, 100}, &parked); !s) return;
    if (parked.size() >= kMaxPerPass) break;  // it may have more: the next pass looks again
    it = m.appeared.erase(it);
  }
  auto w = std::make_shared<EventWrites>();
  for (const engine::Document& d : parked) {
    FanOutItem event;
    bool found = false;
    if (Status s = journal_.store().fan_outs().fan_out_item(kEventsFanOut, d.id, &event, &found); !s)
      return;
    w->deleted.emplace_back(kParkedEvents, d.id);
    if (!found || event.status != "parked") continue;
    FanOutItem next = event;
    json detail = json::parse(event.detail, nullptr, false);
    if (detail.is_object()) {
      detail.erase("parked_until");
      next.detail = detail.dump();
    }
    next.status = engine::kItemPending;
    next.updated_ms = clock_.now_ms();
    w->events.push_back({std::move(next), "parked"});
  }
  if (w->empty()) return;
  m.busy = true;
  journal_.run_on_writer(
      [w](engine::JournalStore& store) { return w->apply(store); },
      [this, n = w->events.size(), alive = alive_](const Status& s) {
        if (!*alive) return;
        matcher_->busy = false;
        if (!s) {
          observability::log(observability::LogLevel::error, "parked events not woken",
                             {{"error", s.message()}});
          return;
        }
        observability::log(observability::LogLevel::info, "parked events woken", {{"events", n}});
        matcher_->rewind = true;
        match_more();
        unpark();
      });
}

void EventTriggers::arm_sweep() {
  matcher_->sweep_timer.expires_after(tuning_.sweep_every);
  matcher_->sweep_timer.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    sweep();
    arm_sweep();
  });
}

// Gauges, a retry of matching that failed, and the parked events past
// their TTL dead-lettered as unknown_customer.
void EventTriggers::sweep() {
  sample_gauges();
  match_more();
  unpark();
  Matcher& m = *matcher_;
  const engine::TimeMs now = clock_.now_ms();
  if (m.busy || now < m.next_expiry) return;
  std::vector<std::string> ids;
  if (!expired_parked(now, &ids)) return;
  auto w = std::make_shared<EventWrites>();
  for (const std::string& id : ids) {
    FanOutItem event;
    bool found = false;
    if (!journal_.store().fan_outs().fan_out_item(kEventsFanOut, id, &event, &found)) return;
    w->deleted.emplace_back(kParkedEvents, id);
    if (found && event.status == "parked") expire(std::move(event), now, w.get());
  }
  if (w->empty()) return;
  m.busy = true;
  journal_.run_on_writer(
      [w](engine::JournalStore& store) { return w->apply(store); },
      [this, n = w->actions.size(), alive = alive_](const Status& s) {
        if (!*alive) return;
        matcher_->busy = false;
        if (!s) {
          matcher_->next_expiry = 0;
          observability::log(observability::LogLevel::error, "parked events not expired",
                             {{"error", s.message()}});
          return;
        }
        if (ports_.metrics && n) ports_.metrics->dead_lettered(kUnknownCustomer, n);
        match_more();
        unpark();
      });
}

// The parked events whose TTL ended by `now` (at most kMaxPerPass), read
// from the whole index (their ends are its index_b), and when the next one
// ends.
Status EventTriggers::expired_parked(engine::TimeMs now, std::vector<std::string>* ids) {
  Matcher& m = *matcher_;
  // A park made after this scan ends no sooner than a TTL from now.
  engine::TimeMs next = now + tuning_.park_ttl.count();
  Status s = engine::for_each_document(
      journal_.store().documents(), {kParkedEvents, "", "", 0, 1'000},
      [&](const engine::Document& d) {
        engine::TimeMs until = 0;
        std::from_chars(d.index_b.data(), d.index_b.data() + d.index_b.size(), until);
        if (until > now) {
          next = std::min(next, until);
        } else if (ids->size() < kMaxPerPass) {
          ids->push_back(d.id);
        } else {
          next = now;  // more than a pass can take: look again at the next sweep
        }
        return true;
      });
  if (!s) return s;
  m.next_expiry = next;
  return Status::ok();
}

// Adds to *w what expiring one parked event writes: the event expired, a
// dead letter (an action item that failed as unknown_customer, and its
// document) a replay can wake it through.
void EventTriggers::expire(FanOutItem event, engine::TimeMs now, EventWrites* w) {
  json detail = json::parse(event.detail, nullptr, false);
  if (!detail.is_object()) return;
  const std::string customer = detail.value("subject", "");
  FanOutItem letter{kActionsFanOut, unknown_customer_id(event.ordinal), ++matcher_->last_action_ordinal,
                    engine::kItemFailed, 0, "", "customer '" + customer + "' unknown after " +
                    std::to_string(tuning_.park_ttl.count() / 1000) + " s", now, now};
  const json letter_detail = {{"kind", kUnknownCustomer},
                              {"event", {{"id", detail.value("id", "")},
                                         {"source", detail.value("source", "")},
                                         {"type", detail.value("type", "")},
                                         {"subject", customer}}},
                              {"event_key", event.key},
                              {"event_ordinal", event.ordinal},
                              {"dead_lettered", true},
                              {"attempts", json::array()}};
  letter.detail = letter_detail.dump();
  w->documents.push_back(dead_letter_document(letter, letter_detail, kUnknownCustomer, now));
  detail["matches"] = json::array({{{"id", letter.key}, {"eligible", false}}});
  w->actions.push_back(std::move(letter));
  event.status = "expired";
  event.detail = detail.dump();
  event.updated_ms = now;
  w->events.push_back({std::move(event), "parked"});
  observability::log(observability::LogLevel::warn, "event dead-lettered: unknown customer",
                     {{"correlation_id", detail.value("id", "")}, {"customer", customer}});
}

}  // namespace orch::phases::triggers
