#include "phases/triggers/trigger_catalog.h"

#include <algorithm>
#include <random>

#include "engine/journal/document_pages.h"
#include "engine/journal/journal.h"
#include "engine/time/time_format.h"
#include "observability/log.h"

namespace orch::phases::triggers {

using nlohmann::json;

namespace {

std::string new_trigger_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "trg-";
  std::uint64_t r = rng();
  for (int i = 0; i < 12; ++i, r >>= 4) out.push_back(kHex[r & 0xF]);
  return out;
}

std::string version_id(const std::string& id, std::int64_t version) {
  return id + "@" + std::to_string(version);
}

// The documents of one version: the trigger as it now is (indexed by
// whether it is active and by event type, for the list's filters) and the
// version kept for the matches made under it.
std::vector<engine::Document> documents_of(const json& stored) {
  const std::string id = stored["id"];
  const std::string body = stored.dump();
  const std::string active = stored.value("active", true) ? "true" : "false";
  return {{kTriggers, id, body, active, stored["event_type"], 0, 0, 0},
          {kTriggerVersions, version_id(id, stored["version"]), body, id, "", 0, 0, 0}};
}

// The trigger's own fields: the stored body less what the store adds.
json fields_of(const json& stored) {
  json fields = stored;
  for (const char* added : {"id", "version", "created_at", "updated_at"}) fields.erase(added);
  return fields;
}

engine::TimeMs effective_of(const json& stored) {
  return engine::parse_time(stored.value("updated_at", "")).value_or(0);
}

}  // namespace

TriggerCatalog::TriggerCatalog(engine::Journal& journal, engine::Clock& clock)
    : journal_(journal), clock_(clock) {}

Status TriggerCatalog::load() {
  triggers_.clear();
  by_type_.clear();
  return engine::for_each_document(
      journal_.store().documents(), {kTriggerVersions, "", "", 0, 500},
      [this](const engine::Document& d) {
        json stored = json::parse(d.body, nullptr, false);
        if (stored.is_object() && stored.contains("id") && stored.contains("version") &&
            check_trigger(fields_of(stored), TriggerCheck::create).empty()) {
          add(std::move(stored));
        } else {
          observability::log(observability::LogLevel::error, "unreadable trigger version",
                             {{"version", d.id}});
        }
        return true;
      });
}

void TriggerCatalog::add(json stored) {
  const std::string id = stored["id"];
  const std::int64_t v = stored["version"];
  Trigger& t = triggers_[id];
  Version version{parse_trigger(fields_of(stored)), stored, "", effective_of(stored)};
  version.rule.id = id;
  version.rule.version = v;
  version.action_text = stored.value("action", json()).dump();
  auto& types = by_type_[version.rule.event_type];
  if (std::find(types.begin(), types.end(), id) == types.end()) types.push_back(id);
  auto at = std::lower_bound(t.versions.begin(), t.versions.end(), v,
                             [](const Version& a, std::int64_t b) { return a.rule.version < b; });
  if (at != t.versions.end() && at->rule.version == v) return;
  t.versions.insert(at, std::move(version));
  t.next_version = std::max(t.next_version, v + 1);
}

void TriggerCatalog::create(const json& body, Saved done) {
  json stored = body;
  stored.erase("id");
  stored.erase("version");
  std::string id;
  do id = new_trigger_id();
  while (triggers_.count(id));
  const std::string now = engine::format_time(clock_.now_ms());
  stored["id"] = id;
  stored["version"] = 1;
  if (!stored.contains("active")) stored["active"] = true;
  if (!stored.contains("re_eligibility")) stored["re_eligibility"] = "every";
  stored["created_at"] = now;
  stored["updated_at"] = now;
  triggers_[id].next_version = 2;
  save(std::move(stored), std::move(done));
}

bool TriggerCatalog::patch(const std::string& id, const json& patch, Saved done) {
  auto it = triggers_.find(id);
  if (it == triggers_.end() || it->second.versions.empty()) return false;
  json stored = apply_trigger_patch(it->second.versions.back().stored, patch);
  // A field removed by a null takes its default, as at creation.
  if (!stored.contains("active")) stored["active"] = true;
  if (!stored.contains("re_eligibility")) stored["re_eligibility"] = "every";
  stored["version"] = it->second.next_version++;
  stored["updated_at"] = engine::format_time(clock_.now_ms());
  save(std::move(stored), std::move(done));
  return true;
}

void TriggerCatalog::save(json stored, Saved done) {
  auto docs = std::make_shared<std::vector<engine::Document>>(documents_of(stored));
  journal_.run_on_writer(
      [docs](engine::JournalStore& store) { return store.documents().put_documents(*docs, nullptr); },
      [this, stored = std::move(stored), done = std::move(done), alive = alive_](const Status& s) {
        if (!*alive) return;
        if (s) add(stored);
        done(s, stored);
      });
}

const json* TriggerCatalog::current(const std::string& id) const {
  auto it = triggers_.find(id);
  if (it == triggers_.end() || it->second.versions.empty()) return nullptr;
  return &it->second.versions.back().stored;
}

const json* TriggerCatalog::stored(const std::string& id, std::int64_t version) const {
  auto it = triggers_.find(id);
  if (it == triggers_.end()) return nullptr;
  for (const Version& v : it->second.versions)
    if (v.rule.version == version) return &v.stored;
  return nullptr;
}

const std::string& TriggerCatalog::action_text(const std::string& id, std::int64_t version) const {
  static const std::string kNone = "null";
  auto it = triggers_.find(id);
  if (it == triggers_.end()) return kNone;
  for (const Version& v : it->second.versions)
    if (v.rule.version == version) return v.action_text;
  return kNone;
}

const TriggerRule* TriggerCatalog::version(const std::string& id, std::int64_t version) const {
  auto it = triggers_.find(id);
  if (it == triggers_.end()) return nullptr;
  for (const Version& v : it->second.versions)
    if (v.rule.version == version) return &v.rule;
  return nullptr;
}

std::vector<const TriggerRule*> TriggerCatalog::in_force(const std::string& type,
                                                         engine::TimeMs accepted_ms) const {
  std::vector<const TriggerRule*> out;
  auto ids = by_type_.find(type);
  if (ids == by_type_.end()) return out;
  for (const std::string& id : ids->second) {
    const std::vector<Version>& versions = triggers_.at(id).versions;
    // The newest version made at or before the event's acceptance.
    auto after = std::upper_bound(versions.begin(), versions.end(), accepted_ms,
                                  [](engine::TimeMs t, const Version& v) { return t < v.effective_ms; });
    if (after == versions.begin()) continue;
    const TriggerRule& rule = std::prev(after)->rule;
    if (rule.active && rule.event_type == type && in_window(rule, accepted_ms)) out.push_back(&rule);
  }
  return out;
}

}  // namespace orch::phases::triggers
