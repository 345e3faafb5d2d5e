#include "phases/user_actor/user_actor.h"

#include <algorithm>
#include <cstdio>

#include "engine/json/json_object.h"
#include "engine/time/time_format.h"
#include "phases/user_actor/frequency_rules.h"

namespace orch::phases::user_actor {

using engine::EntityCall;
using engine::EntityOutcome;
using engine::EntityReply;
using nlohmann::json;

namespace {

// The per-channel weekly cap's key: max_<channel>_per_week, and the seed's
// max_emails_per_week for email.
std::string channel_cap_key(std::string_view channel) {
  return "max_" + std::string(channel) + "_per_week";
}

Settings settings_of(const json& state) {
  Settings s;
  const json& set = state["settings"];
  s.timezone = set.value("timezone", "UTC");
  const json& caps = set["caps"];
  auto int_cap = [&](const char* key) -> std::optional<int> {
    auto it = caps.find(key);
    return it != caps.end() && it->is_number_integer() ? std::optional<int>(it->get<int>())
                                                        : std::nullopt;
  };
  s.caps.per_day = int_cap("max_messages_per_day");
  s.caps.per_week = int_cap("max_messages_per_week");
  s.caps.per_month = int_cap("max_messages_per_month");
  if (auto it = caps.find("min_hours_between_messages"); it != caps.end() && it->is_number())
    s.caps.min_hours_between = it->get<double>();
  for (std::size_t i = 0; i < kChannels.size(); ++i) {
    s.caps.per_channel_week[i] = int_cap(channel_cap_key(kChannels[i]).c_str());
    if (kChannels[i] == "email" && !s.caps.per_channel_week[i])
      s.caps.per_channel_week[i] = int_cap("max_emails_per_week");
  }
  for (const json& w : set.value("rolling", json::array())) {
    const std::string name = w.get<std::string>();
    s.caps.rolling[name == "day" ? 0 : name == "week" ? 1 : 2] = true;
  }
  if (const json& q = set["quiet_hours"]; q.is_object())
    s.quiet_hours = QuietHours{parse_clock(q.value("start", "")).value_or(0),
                               parse_clock(q.value("end", "")).value_or(0)};
  for (const json& c : state["opted_out"]) s.opted_out.push_back(c.get<std::string>());
  return s;
}

// What counts toward caps at this moment: sent messages, and reservations
// still pending (a deferred one at the time it may go out).
std::vector<CountedMessage> counted(const json& state, engine::TimeMs now) {
  std::vector<CountedMessage> out;
  for (const json& m : state["messages"])
    if (m.value("counts", true))
      out.push_back({m["at"].get<engine::TimeMs>(), m["channel"].get_ref<const std::string&>()});
  for (const json& r : state["reservations"])
    if (r.value("counts", true) && r["until"].get<engine::TimeMs>() >= now)
      out.push_back({r.value("eligible_at", r["at"].get<engine::TimeMs>()),
                     r["channel"].get_ref<const std::string&>()});
  return out;
}

// Reservations past their TTL release themselves.
void expire_reservations(json& state, engine::TimeMs now) {
  json& reservations = state["reservations"];
  const std::size_t before = reservations.size();
  reservations.erase(std::remove_if(reservations.begin(), reservations.end(),
                                    [&](const json& r) { return r["until"].get<engine::TimeMs>() < now; }),
                     reservations.end());
  state["totals"]["expired"] = state["totals"].value("expired", 0) +
                               static_cast<int>(before - reservations.size());
}

// The history kept: the last kHistoryKept messages, and every message inside
// the longest window a cap looks at.
void prune_history(json& state, engine::TimeMs now) {
  json& messages = state["messages"];
  if (messages.size() <= kHistoryKept) return;
  const engine::TimeMs keep_since = now - longest_window_ms(settings_of(state).caps);
  std::size_t drop = 0;
  while (messages.size() - drop > kHistoryKept && messages[drop]["at"].get<engine::TimeMs>() < keep_since)
    ++drop;
  messages.erase(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(drop));
}

json counters_json(const Counters& c) {
  json per_channel = json::object();
  for (std::size_t i = 0; i < kChannels.size(); ++i)
    per_channel[std::string(kChannels[i])] = c.channel_this_week[i];
  return orch::json_object("today", c.today, "this_week", c.this_week, "this_month", c.this_month,
                     "channels_this_week", std::move(per_channel));
}

json view_of(const json& state, const EntityCall& call) {
  const Settings s = settings_of(state);
  const Counters c = count(s, counted(state, call.now_ms), call.now_ms);
  json recent = json::array();
  const json& messages = state["messages"];
  const std::size_t first = messages.size() > kRecentShown ? messages.size() - kRecentShown : 0;
  for (std::size_t i = messages.size(); i-- > first;) {
    const json& m = messages[i];
    recent.push_back({{"timestamp", engine::format_time(m["at"].get<engine::TimeMs>())},
                      {"campaign_id", m["campaign_id"]},
                      {"campaign_name", m.value("campaign_name", "")},
                      {"campaign_type", m["channel"]},
                      {"message_id", m["message_id"]},
                      {"success", true}});
  }
  json pending = json::array();
  for (const json& r : state["reservations"]) {
    const engine::TimeMs until = r["until"].get<engine::TimeMs>();
    if (until < call.now_ms) continue;
    json p = {{"reservation_id", r["id"]},
              {"campaign_id", r["campaign_id"]},
              {"channel", r["channel"]},
              {"message_id", r["message_id"]},
              {"status", r["status"]},
              {"priority", r.value("priority", "normal")},
              {"reserved_at", engine::format_time(r["at"].get<engine::TimeMs>())},
              {"expires_at", engine::format_time(until)}};
    if (r.contains("eligible_at"))
      p["eligible_at"] = engine::format_time(r["eligible_at"].get<engine::TimeMs>());
    pending.push_back(std::move(p));
  }
  json out = {{"user_id", std::string(call.key)},
              {"total_messages_sent", state["totals"].value("sent", 0)},
              {"last_message_time", c.last_message_at ? json(engine::format_time(*c.last_message_at))
                                                      : json(nullptr)},
              {"opted_out_channels", state["opted_out"]},
              {"preferences", state["settings"].value("preferences", json::object())},
              {"recent_messages", std::move(recent)},
              {"counters", counters_json(c)},
              {"caps", state["settings"]["caps"]},
              {"timezone", s.timezone},
              {"quiet_hours", state["settings"]["quiet_hours"]},
              {"rolling", state["settings"].value("rolling", json::array())},
              {"pending_reservations", std::move(pending)},
              {"totals", state["totals"]}};
  return out;
}

std::string reservation_id(const json& state, const std::string& message_id) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : message_id) h = (h ^ c) * 1099511628211ULL;
  char buf[24];
  std::snprintf(buf, sizeof buf, "rsv-%016llx", static_cast<unsigned long long>(h));
  std::string id = buf;
  const json& rs = state["reservations"];
  while (std::any_of(rs.begin(), rs.end(), [&](const json& r) { return r["id"] == id; })) id += "x";
  return id;
}

json* find_reservation(json& state, const std::string& id) {
  for (json& r : state["reservations"])
    if (r["id"] == id) return &r;
  return nullptr;
}

// The answer a reservation got, rebuilt from what the state keeps of it.
json answer_of(const json& r, const std::string& id) {
  if (r.value("status", "granted") == "deferred" || r.contains("deferred_reason"))
    return {{"reservation_id", id},
            {"status", "deferred"},
            {"reason", r.value("deferred_reason", "")},
            {"next_eligible_at", engine::format_time(r.value("eligible_at", r["at"].get<engine::TimeMs>()))}};
  return {{"reservation_id", id}, {"status", "granted"}, {"reason", "all frequency checks passed"}};
}

// A message id already holding a slot (pending, or sent and still in the
// history) gets that slot's answer, never a second slot: the engine keeps
// only the newest answers by idempotency key, so an old repeat reaches the
// handler again.
const json* slot_of(const json& state, const std::string& message_id, engine::TimeMs now,
                    bool* pending) {
  for (const json& r : state["reservations"])
    if (r["message_id"] == message_id && r["until"].get<engine::TimeMs>() >= now) {
      *pending = true;
      return &r;
    }
  const json& messages = state["messages"];
  for (auto it = messages.rbegin(); it != messages.rend(); ++it)
    if ((*it)["message_id"] == message_id) {
      *pending = false;
      return &*it;
    }
  return nullptr;
}

EntityReply reserve(json& state, const json& req, const EntityCall& call) {
  const engine::TimeMs now = call.now_ms;
  bool pending = false;
  if (const json* held = slot_of(state, req["message_id"].get<std::string>(), now, &pending))
    return {EntityOutcome::ok,
            answer_of(*held, held->value(pending ? "id" : "reservation_id",
                                         reservation_id(state, req["message_id"]))),
            false};
  expire_reservations(state, now);
  const std::string channel = req["channel"];
  const bool obeys = req.value("obeys_caps", true);
  const bool counts = req.value("counts_toward_caps", true);
  const std::string priority = req.value("priority", "normal");
  const Verdict v = evaluate(settings_of(state), counted(state, now), channel, now, obeys,
                             /*quiet_hours_apply=*/priority != "high");
  const engine::TimeMs ttl = req.value("ttl_seconds", kDefaultReservationTtlMs / 1000) * 1000;
  json answer = {{"reservation_id", nullptr}, {"status", "denied"}, {"reason", v.rule}};
  const bool defer = req.value("on_capped", "drop") == "defer" && v.deferrable &&
                     v.next_eligible_at - now <= kDeferWindowMs;
  if (v.allowed || defer) {
    const std::string id = reservation_id(state, req["message_id"]);
    json r = {{"id", id},           {"campaign_id", req["campaign_id"]},
              {"channel", channel}, {"message_id", req["message_id"]},
              {"at", now},          {"counts", counts},
              {"priority", priority}};
    if (req.contains("campaign_name")) r["campaign_name"] = req["campaign_name"];
    answer["reservation_id"] = id;
    if (v.allowed) {
      r["status"] = "granted";
      r["until"] = now + ttl;
      answer["status"] = "granted";
      answer["reason"] = "all frequency checks passed";
    } else {
      r["status"] = "deferred";
      r["deferred_reason"] = v.rule;
      r["eligible_at"] = v.next_eligible_at;
      r["until"] = v.next_eligible_at + ttl;
      answer["status"] = "deferred";
      answer["next_eligible_at"] = engine::format_time(v.next_eligible_at);
    }
    state["reservations"].push_back(std::move(r));
  } else {
    if (v.deferrable) answer["next_eligible_at"] = engine::format_time(v.next_eligible_at);
    state["totals"]["skipped"] = state["totals"].value("skipped", 0) + 1;
  }
  return {EntityOutcome::ok, std::move(answer), true};
}

EntityReply settle(json& state, const json& req, const EntityCall& call, bool commit) {
  const engine::TimeMs now = call.now_ms;
  const std::string id = req["reservation_id"];
  // A refusal changes nothing (expired reservations go at the next call
  // that is journaled).
  json* r = find_reservation(state, id);
  if (!r && commit) {
    // A repeat whose first answer the engine no longer keeps.
    for (const json& m : state["messages"])
      if (m.value("reservation_id", "") == id)
        return {EntityOutcome::ok,
                {{"reservation_id", id},
                 {"status", "committed"},
                 {"sent_at", engine::format_time(m["at"].get<engine::TimeMs>())}},
                false};
  }
  if (!r)
    return EntityReply::refuse(EntityOutcome::not_found,
                               "no pending reservation " + id + " for user " + std::string(call.key) +
                                   " (released or committed)");
  if ((*r)["until"].get<engine::TimeMs>() < now)
    return EntityReply::refuse(EntityOutcome::conflict,
                               "reservation " + id + " expired; its slot is free again");
  json reservation = std::move(*r);
  json& rs = state["reservations"];
  rs.erase(std::remove_if(rs.begin(), rs.end(), [&](const json& x) { return x.is_null() || x["id"] == id; }),
           rs.end());
  json& totals = state["totals"];
  if (!commit) {
    totals["released"] = totals.value("released", 0) + 1;
    expire_reservations(state, now);
    return {EntityOutcome::ok, {{"reservation_id", id}, {"status", "released"}}, true};
  }
  const engine::TimeMs at = std::max(now, reservation.value("eligible_at", now));
  json message = {{"at", at},
                  {"reservation_id", id},
                  {"campaign_id", reservation["campaign_id"]},
                  {"channel", reservation["channel"]},
                  {"message_id", reservation["message_id"]},
                  {"counts", reservation["counts"]}};
  if (reservation.contains("campaign_name")) message["campaign_name"] = reservation["campaign_name"];
  if (reservation.contains("deferred_reason")) message["deferred_reason"] = reservation["deferred_reason"];
  state["messages"].push_back(std::move(message));
  totals["sent"] = totals.value("sent", 0) + 1;
  expire_reservations(state, now);
  prune_history(state, now);
  return {EntityOutcome::ok,
          {{"reservation_id", id}, {"status", "committed"}, {"sent_at", engine::format_time(at)}},
          true};
}

EntityReply opt(json& state, const json& req, const EntityCall& call, bool out) {
  const std::string channel = req["channel"];
  json& opted = state["opted_out"];
  const auto it = std::find(opted.begin(), opted.end(), channel);
  const bool changed = out ? it == opted.end() : it != opted.end();
  if (out && changed) opted.push_back(channel);
  if (!out && changed) opted.erase(it);
  if (!call.exists) state["configured"] = false;
  return {EntityOutcome::ok, view_of(state, call), changed || !call.exists};
}

EntityReply configure(json& state, const json& req, const EntityCall& call) {
  json settings = {{"timezone", req.value("timezone", "UTC")},
                   {"caps", json::object()},
                   {"rolling", req.value("rolling", json::array())},
                   {"quiet_hours", req.value("quiet_hours", json(nullptr))},
                   {"preferences", req.value("preferences", json::object())}};
  for (const auto& [key, value] : req.items())
    if (key.rfind("max_", 0) == 0 || key == "min_hours_between_messages")
      settings["caps"][key] = value;
  const bool changed = !call.exists || !state.value("configured", false) || settings != state["settings"];
  state["settings"] = std::move(settings);
  state["configured"] = true;
  return {EntityOutcome::ok, view_of(state, call), changed};
}

EntityReply eligibility(const json& state, const json& req, const EntityCall& call) {
  if (!call.exists) return EntityReply::refuse(EntityOutcome::not_found, "no user " + std::string(call.key));
  const std::string channel = req["channel"];
  const Settings s = settings_of(state);
  const auto history = counted(state, call.now_ms);
  const Verdict v = evaluate(s, history, channel, call.now_ms, true, true);
  const Counters c = count(s, history, call.now_ms);
  json out = {{"user_id", std::string(call.key)},
              {"channel", channel},
              {"allowed", v.allowed},
              {"reason", v.allowed ? "all frequency checks passed" : v.rule},
              {"messages_sent_today", c.today},
              {"messages_sent_this_week", c.this_week},
              {"messages_sent_this_month", c.this_month},
              {"counters", counters_json(c)},
              {"hours_since_last_message",
               c.last_message_at ? json(static_cast<double>(call.now_ms - *c.last_message_at) / 3.6e6)
                                 : json(nullptr)}};
  if (!v.allowed && v.deferrable) out["next_eligible_at"] = engine::format_time(v.next_eligible_at);
  return {EntityOutcome::ok, std::move(out), false};
}

// Where one message stands: committed (in the history kept), pending (a
// reservation not past its TTL) or unknown.
EntityReply message(const json& state, const json& req, const EntityCall& call) {
  const json& id = req["message_id"];
  json out = {{"message_id", id}, {"state", "unknown"}};
  if (!call.exists) return {EntityOutcome::ok, std::move(out), false};
  for (const json& m : state["messages"])
    if (m["message_id"] == id) out["state"] = "committed";
  if (out["state"] == "unknown")
    for (const json& r : state["reservations"])
      if (r["message_id"] == id && r["until"].get<engine::TimeMs>() >= call.now_ms) {
        out["state"] = "pending";
        out["reservation_id"] = r["id"];
      }
  return {EntityOutcome::ok, std::move(out), false};
}

}  // namespace

engine::EntityDefinition user_actor_definition() {
  engine::EntityDefinition def;
  def.kind = kKind;
  def.initial_state = [](std::string_view) {
    return json{{"settings",
                 {{"timezone", "UTC"},
                  {"caps", json::object()},
                  {"rolling", json::array()},
                  {"quiet_hours", nullptr},
                  {"preferences", json::object()}}},
                {"configured", false},
                {"opted_out", json::array()},
                {"messages", json::array()},
                {"reservations", json::array()},
                {"totals", {{"sent", 0}, {"skipped", 0}, {"released", 0}, {"expired", 0}}}};
  };
  def.handlers["configure"] = configure;
  def.handlers["opt_out"] = [](json& s, const json& r, const EntityCall& c) { return opt(s, r, c, true); };
  def.handlers["opt_in"] = [](json& s, const json& r, const EntityCall& c) { return opt(s, r, c, false); };
  def.handlers["reserve"] = reserve;
  def.handlers["commit"] = [](json& s, const json& r, const EntityCall& c) { return settle(s, r, c, true); };
  def.handlers["release"] = [](json& s, const json& r, const EntityCall& c) { return settle(s, r, c, false); };
  def.queries["view"] = [](const json& state, const json&, const EntityCall& call) {
    if (!call.exists) return EntityReply::refuse(EntityOutcome::not_found, "no user " + std::string(call.key));
    return EntityReply{EntityOutcome::ok, view_of(state, call), false};
  };
  def.queries["eligibility"] = eligibility;
  def.queries["message"] = message;
  return def;
}

}  // namespace orch::phases::user_actor
