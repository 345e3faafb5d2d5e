#include "phases/triggers/event_triggers.h"

#include "engine/journal/journal.h"
#include "engine/time/time_format.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "phases/triggers/event_triggers_internal.h"

namespace orch::phases::triggers {

using nlohmann::json;

Status EventWrites::apply(engine::JournalStore& store) const {
  return store.in_one_transaction([&]() -> Status {
    for (const auto& [collection, id] : deleted) {
      engine::DocumentWrite w;
      if (Status s = store.documents().delete_document(collection, id, &w); !s) return s;
    }
    if (!documents.empty())
      if (Status s = store.documents().put_documents(documents, nullptr); !s) return s;
    if (!actions.empty())
      if (Status s = store.fan_outs().add_fan_out_items(actions, nullptr); !s) return s;
    if (!events.empty())
      if (Status s = store.fan_outs().update_fan_out_items(events, nullptr); !s) return s;
    return Status::ok();
  });
}

std::string match_id(std::int64_t event_ordinal, const std::string& trigger_id) {
  return "m" + std::to_string(event_ordinal) + "." + trigger_id;
}

std::string unknown_customer_id(std::int64_t event_ordinal) {
  return "m" + std::to_string(event_ordinal) + "." + kUnknownCustomer;
}

engine::Document dead_letter_document(const engine::FanOutItem& item, const json& detail,
                                      const std::string& error_class, engine::TimeMs now) {
  json body = {{"id", item.key},
               {"event", detail.value("event", json::object())},
               {"trigger", detail.value("trigger", "")},
               {"trigger_version", detail.value("version", 0)},
               {"action", detail.value("action", json())},
               {"error_class", error_class},
               {"error", item.error},
               {"attempts", detail.value("attempts", json::array())},
               {"dead_lettered_at", engine::format_time(now)},
               {"replays", detail.value("replays", json::array())}};
  const std::string trigger = detail.value("trigger", "");
  return {kDeadLetters, item.key, body.dump(), trigger.empty() ? "-" : trigger, error_class,
          0, now, now};
}

EventTriggers::EventTriggers(boost::asio::io_context& io, engine::Journal& journal,
                             engine::FanOutRunner& fan_outs, engine::Clock& clock,
                             TriggerPorts ports, TriggerTuning tuning)
    : io_(io),
      journal_(journal),
      fan_outs_(fan_outs),
      clock_(clock),
      ports_(ports),
      tuning_(std::move(tuning)),
      catalog_(journal, clock),
      intake_(std::make_unique<Intake>()),
      matcher_(std::make_unique<Matcher>(io)) {
  engine::FanOutPolicy& p = matcher_->actions;
  p.kind = "trigger_action";
  p.concurrency = tuning_.action_concurrency;
  p.retry = tuning_.retry;
}

EventTriggers::~EventTriggers() { *alive_ = false; }

Status EventTriggers::start() {
  if (Status s = catalog_.load(); !s) return s;
  if (Status s = journal_.store().fan_outs().fan_out_last_ordinal(kEventsFanOut,
                                                                  &intake_->last_ordinal);
      !s)
    return s;
  if (Status s = journal_.store().fan_outs().fan_out_last_ordinal(
          kActionsFanOut, &matcher_->last_action_ordinal);
      !s)
    return s;
  if (Status s = find_known_parked(); !s) return s;
  if (ports_.metrics) ports_.metrics->declare_fan_out(matcher_->actions.kind);
  match_more();
  run_actions();
  unpark();
  if (Status s = resume_replays(); !s) return s;
  arm_sweep();
  return Status::ok();
}

}  // namespace orch::phases::triggers
