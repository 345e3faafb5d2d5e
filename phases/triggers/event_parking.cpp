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
#include <unordered_set>

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
  for (auto it = m.appeared.begin(); it != m.appeared.end() && parked.size() < kMaxPerPass;) {
    if (Status s = parked_events(docs, {kParkedEvents, *it, "", 0, 100}, &parked); !s) return;
    it = m.appeared.erase(it);
  }
  std::vector<FanOutUpdate> woken;
  std::vector<std::string> deleted;
  for (const engine::Document& d : parked) {
    FanOutItem event;
    bool found = false;
    if (Status s = journal_.store().fan_outs().fan_out_item(kEventsFanOut, d.id, &event, &found); !s)
      return;
    deleted.push_back(d.id);
    if (!found || event.status != "parked") continue;
    FanOutItem next = event;
    json detail = json::parse(event.detail, nullptr, false);
    if (detail.is_object()) {
      detail.erase("parked_until");
      next.detail = detail.dump();
    }
    next.status = engine::kItemPending;
    next.updated_ms = clock_.now_ms();
    woken.push_back({std::move(next), "parked"});
  }
  if (deleted.empty()) return;
  m.busy = true;
  journal_.run_on_writer(
      [woken, deleted](engine::JournalStore& store) {
        return store.in_one_transaction([&]() -> Status {
          for (const std::string& id : deleted) {
            engine::DocumentWrite w;
            if (Status s = store.documents().delete_document(kParkedEvents, id, &w); !s) return s;
          }
          return store.fan_outs().update_fan_out_items(woken, nullptr);
        });
      },
      [this, n = woken.size(), alive = alive_](const Status& s) {
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
  std::map<std::string, std::uint64_t> counts;
  if (m.busy || !journal_.store().fan_outs().fan_out_counts(kEventsFanOut, &counts) ||
      !counts["parked"])
    return;
  std::vector<engine::Document> parked;
  if (!parked_events(journal_.store().documents(), {kParkedEvents, "", "", 0, 500}, &parked)) return;
  const engine::TimeMs now = clock_.now_ms();
  std::vector<FanOutUpdate> expired;
  std::vector<FanOutItem> letters;
  std::vector<engine::Document> documents;
  std::vector<std::string> deleted;
  for (const engine::Document& d : parked) {
    if (json::parse(d.body, nullptr, false).value("until", now + 1) > now) continue;
    FanOutItem event;
    bool found = false;
    if (!journal_.store().fan_outs().fan_out_item(kEventsFanOut, d.id, &event, &found)) return;
    deleted.push_back(d.id);
    if (!found || event.status != "parked") continue;
    json detail = json::parse(event.detail, nullptr, false);
    if (!detail.is_object()) continue;
    const std::string customer = detail.value("subject", "");
    FanOutItem letter{kActionsFanOut, unknown_customer_id(event.ordinal), ++m.last_action_ordinal,
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
    documents.push_back(dead_letter_document(letter, letter_detail, kUnknownCustomer, now));
    letters.push_back(std::move(letter));
    detail["matches"] = json::array({{{"id", letters.back().key}, {"eligible", false}}});
    FanOutItem next = event;
    next.status = "expired";
    next.detail = detail.dump();
    next.updated_ms = now;
    expired.push_back({std::move(next), "parked"});
    observability::log(observability::LogLevel::warn, "event dead-lettered: unknown customer",
                       {{"correlation_id", detail.value("id", "")}, {"customer", customer}});
  }
  if (deleted.empty()) return;
  m.busy = true;
  journal_.run_on_writer(
      [expired, letters, documents, deleted](engine::JournalStore& store) {
        return store.in_one_transaction([&]() -> Status {
          for (const std::string& id : deleted) {
            engine::DocumentWrite w;
            if (Status s = store.documents().delete_document(kParkedEvents, id, &w); !s) return s;
          }
          if (!documents.empty())
            if (Status s = store.documents().put_documents(documents, nullptr); !s) return s;
          if (!letters.empty())
            if (Status s = store.fan_outs().add_fan_out_items(letters, nullptr); !s) return s;
          return store.fan_outs().update_fan_out_items(expired, nullptr);
        });
      },
      [this, n = letters.size(), alive = alive_](const Status& s) {
        if (!*alive) return;
        matcher_->busy = false;
        if (!s) {
          observability::log(observability::LogLevel::error, "parked events not expired",
                             {{"error", s.message()}});
          return;
        }
        if (ports_.metrics && n) ports_.metrics->dead_lettered(kUnknownCustomer, n);
        match_more();
        unpark();
      });
}

}  // namespace orch::phases::triggers
