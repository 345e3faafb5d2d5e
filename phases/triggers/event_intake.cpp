// EventTriggers' intake: POST /v1/events' events made durable before the
// answer, deduplicated on (source, id) by the "events" fan-out's unique key.
//
// Requests that arrive while a write commits wait for the next one, so under
// load one transaction (one fsync) carries many requests' events: a group
// commit without a timer, as the fan-out runner writes its outcomes.
#include <unordered_map>

#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "phases/triggers/event_triggers.h"
#include "phases/triggers/event_triggers_internal.h"

namespace orch::phases::triggers {

using nlohmann::json;

namespace {

// Events written per transaction at most.
constexpr std::size_t kWriteBatch = 5'000;

}  // namespace

const char* to_string(Delivery d) {
  switch (d) {
    case Delivery::accepted: return "accepted";
    case Delivery::duplicate: return "duplicate";
    case Delivery::conflict: return "conflict";
  }
  return "accepted";
}

void EventTriggers::accept(std::vector<Event> events,
                           std::function<void(const Status&, const std::vector<Delivery>&)> done) {
  auto request = std::make_shared<EventRequest>();
  request->answers.assign(events.size(), Delivery::accepted);
  request->remaining = events.size();
  request->done = std::move(done);
  if (events.empty()) return request->done(Status::ok(), request->answers);
  const engine::TimeMs now = clock_.now_ms();
  for (std::size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    engine::FanOutItem item{kEventsFanOut, event_key(e.source, e.id), ++intake_->last_ordinal,
                            engine::kItemPending, 0, e.stored_text(), "", now, now};
    intake_->queued.push_back({std::move(item), std::move(e.digest), request, i});
  }
  if (!intake_->writing) write_accepted();
}

void EventTriggers::write_accepted() {
  Intake& in = *intake_;
  const std::size_t n = std::min(in.queued.size(), kWriteBatch);
  auto batch = std::make_shared<std::vector<QueuedEvent>>(
      std::make_move_iterator(in.queued.begin()), std::make_move_iterator(in.queued.begin() + n));
  in.queued.erase(in.queued.begin(), in.queued.begin() + n);
  in.writing = true;
  auto items = std::make_shared<std::vector<engine::FanOutItem>>();
  items->reserve(n);
  for (const QueuedEvent& q : *batch) items->push_back(q.item);
  auto added = std::make_shared<std::vector<bool>>();
  journal_.run_on_writer(
      [items, added](engine::JournalStore& store) {
        return store.fan_outs().add_fan_out_items(*items, nullptr, added.get());
      },
      [this, batch, added, alive = alive_](const Status& s) {
        if (!*alive) return;
        settle_accepted(*batch, s, *added);
        intake_->writing = false;
        intake_->last_write = std::chrono::steady_clock::now();
        if (!intake_->queued.empty()) write_accepted();
        if (s) match_more();
      });
}

// Answers each event of a written batch: accepted when it was new; else a
// duplicate when the event recorded under its key has its digest, or a
// conflict.
void EventTriggers::settle_accepted(std::vector<QueuedEvent>& batch, const Status& s,
                                    const std::vector<bool>& added) {
  std::unordered_map<std::string, const std::string*> written;  // this batch's new keys
  for (std::size_t i = 0; s && i < batch.size(); ++i)
    if (added[i]) written.emplace(batch[i].item.key, &batch[i].digest);
  std::uint64_t accepted = 0, duplicates = 0, conflicts = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    QueuedEvent& q = batch[i];
    EventRequest& r = *q.request;
    if (!s) {
      if (r.status) r.status = s;
    } else if (added[i]) {
      ++accepted;
    } else {
      std::string digest;
      if (auto w = written.find(q.item.key); w != written.end()) {
        digest = *w->second;
      } else {
        engine::FanOutItem existing;
        bool found = false;
        Status read = journal_.store().fan_outs().fan_out_item(kEventsFanOut, q.item.key,
                                                               &existing, &found);
        if (!read && r.status) r.status = read;
        if (found) digest = json::parse(existing.detail, nullptr, false).value("digest", "");
      }
      const bool same = digest == q.digest;
      r.answers[q.index] = same ? Delivery::duplicate : Delivery::conflict;
      ++(same ? duplicates : conflicts);
    }
    if (--r.remaining == 0) r.done(r.status, r.answers);
  }
  if (ports_.metrics) {
    ports_.metrics->events_received("accepted", accepted);
    ports_.metrics->events_received("duplicate", duplicates);
    ports_.metrics->events_received("conflict", conflicts);
  }
  if (!s)
    observability::log(observability::LogLevel::error, "events not recorded",
                       {{"events", batch.size()}, {"error", s.message()}});
}

}  // namespace orch::phases::triggers
