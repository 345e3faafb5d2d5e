// EventTriggers' views: what became of an event, and the queue's depth and
// lag (also sampled into gauges by the sweep).
#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "engine/time/time_format.h"
#include "observability/metrics.h"
#include "phases/triggers/event_triggers.h"
#include "phases/triggers/event_triggers_internal.h"

namespace orch::phases::triggers {

using engine::FanOutItem;
using nlohmann::json;

namespace {

// A match as GET /v1/events/{id} shows it; `item` its action (if any).
json match_view(const json& match, const FanOutItem* item) {
  json m = match;
  if (!match.value("eligible", true)) {
    m["status"] = "not_eligible";
    return m;
  }
  if (!item) {
    m["status"] = "pending";
    return m;
  }
  json detail = json::parse(item->detail, nullptr, false);
  static const std::map<std::string, std::string> kStatus = {
      {"pending", "pending"}, {"done", "done"}, {"skipped", "skipped"},
      {"failed", "dead_lettered"}, {"discarded", "discarded"}};
  auto s = kStatus.find(item->status);
  m["status"] = s == kStatus.end() ? item->status : s->second;
  if (detail.is_object()) {
    if (detail.contains("action")) m["action"] = detail["action"];
    m["attempts"] = detail.value("attempts", json::array());
    if (detail.contains("result")) m["result"] = detail["result"];
    if (detail.contains("error_class")) m["error_class"] = detail["error_class"];
    if (detail.contains("replays")) m["replays"] = detail["replays"];
  }
  if (!item->error.empty()) m["error"] = item->error;
  if (item->status == engine::kItemPending && detail.value("dead_lettered", false))
    m["status"] = "replaying";
  return m;
}

}  // namespace

bool EventTriggers::event_view(const std::string& source, const std::string& id, json* out,
                               Status* error) {
  FanOutItem event;
  bool found = false;
  engine::FanOutStore& items = journal_.store().fan_outs();
  if (*error = items.fan_out_item(kEventsFanOut, event_key(source, id), &event, &found);
      !*error || !found)
    return false;
  json detail = json::parse(event.detail, nullptr, false);
  if (!detail.is_object()) detail = json::object();
  json view = {{"id", detail.value("id", id)},
               {"source", detail.value("source", source)},
               {"type", detail.value("type", "")},
               {"subject", detail.value("subject", "")},
               {"data", detail.value("data", json::object())},
               {"accepted_at", engine::format_time(event.created_ms)}};
  if (detail.contains("time")) view["time"] = detail["time"];
  if (detail.contains("traceparent")) view["traceparent"] = detail["traceparent"];
  json matches = json::array();
  bool pending = false, dead = false;
  for (const json& match : detail.value("matches", json::array())) {
    FanOutItem action;
    bool has = false;
    if (*error = items.fan_out_item(kActionsFanOut, match.value("id", ""), &action, &has); !*error)
      return false;
    json m = match_view(match, has ? &action : nullptr);
    const std::string status = m["status"];
    pending |= status == "pending" || status == "replaying";
    dead |= status == "dead_lettered";
    matches.push_back(std::move(m));
  }
  std::string status;
  if (event.status == engine::kItemPending) status = "accepted";
  else if (event.status == "parked") status = "parked";
  else if (event.status == "expired" || dead) status = "dead_lettered";
  else status = pending ? "accepted" : "processed";
  view["status"] = status;
  if (event.status == "parked") view["parked_until"] = engine::format_time(detail.value("parked_until", engine::TimeMs{0}));
  view["matches"] = std::move(matches);
  *out = std::move(view);
  return true;
}

json EventTriggers::queue() {
  std::map<std::string, std::uint64_t> events, actions;
  engine::FanOutStore& items = journal_.store().fan_outs();
  (void)items.fan_out_counts(kEventsFanOut, &events);
  (void)items.fan_out_counts(kActionsFanOut, &actions);
  std::uint64_t letters = 0;
  (void)journal_.store().documents().count_documents({kDeadLetters, "", "", 0, 0}, &letters);
  // Lag: the age of the oldest event not yet matched, else of the oldest
  // action not yet done (either is work the queue still owes).
  double lag = 0;
  const engine::TimeMs now = clock_.now_ms();
  for (const char* fan_out : {kEventsFanOut, kActionsFanOut}) {
    std::vector<FanOutItem> oldest;
    if (items.fan_out_items({fan_out, engine::kItemPending, 0, 1}, &oldest) && !oldest.empty())
      lag = std::max(lag, (now - oldest[0].created_ms) / 1000.0);
  }
  return {{"events_pending", events[engine::kItemPending]},
          {"events_parked", events["parked"]},
          {"actions_pending", actions[engine::kItemPending]},
          {"actions_in_flight", fan_outs_.progress(kActionsFanOut).in_flight},
          {"dead_letters", letters},
          {"lag_seconds", lag}};
}

void EventTriggers::sample_gauges() {
  if (!ports_.metrics) return;
  const json q = queue();
  ports_.metrics->event_queue(q["events_pending"], q["events_parked"], q["actions_pending"],
                              q["lag_seconds"]);
  for (const char* error_class : {kRejected, kRetriesExhausted, kUnknownCustomer, kInvalidAction}) {
    std::uint64_t n = 0;
    if (journal_.store().documents().count_documents({kDeadLetters, "", error_class, 0, 0}, &n))
      ports_.metrics->dead_letters(error_class, n);
  }
}

}  // namespace orch::phases::triggers
