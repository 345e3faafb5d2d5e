#include "phases/triggers/event_envelope.h"

#include <cctype>
#include <set>

#include "engine/common/digest.h"
#include "engine/json/json_writer.h"
#include "engine/time/time_format.h"
#include "observability/trace.h"
#include "phases/user_actor/user_requests.h"

namespace orch::phases::triggers {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxId = 256;
constexpr std::size_t kMaxSource = 512;
constexpr std::size_t kMaxType = 128;
constexpr std::size_t kMaxDataBytes = 64 * 1024;

const std::set<std::string> kShortFields = {"event_id", "payload",   "event_type", "type",
                                            "customer_id", "subject", "source", "timestamp",
                                            "time", "traceparent"};

bool valid_type(const std::string& type) {
  if (type.empty() || type.size() > kMaxType) return false;
  for (unsigned char c : type)
    if (!std::isalnum(c) && c != '.' && c != '_' && c != ':' && c != '/' && c != '-') return false;
  return true;
}

// A CloudEvents extension attribute's name: 1 to 20 lower-case letters or digits.
bool extension_name(const std::string& name) {
  if (name.empty() || name.size() > 20) return false;
  for (unsigned char c : name)
    if (!std::islower(c) && !std::isdigit(c)) return false;
  return true;
}

// body[name] as a string of 1..max bytes into *out; a problem otherwise
// (a missing one only when `required`).
void read_string(const json& body, const char* name, std::size_t max, bool required,
                 const std::string& field, std::string* out, std::vector<FieldError>* errors) {
  auto it = body.find(name);
  if (it == body.end()) {
    if (required) errors->push_back({field, "is required"});
    return;
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
      it->get_ref<const std::string&>().size() > max) {
    errors->push_back({field, "must be a string of 1 to " + std::to_string(max) + " bytes"});
    return;
  }
  *out = it->get<std::string>();
}

// The first of `names` that `body` has, or nullptr.
const char* first_present(const json& body, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (body.contains(n)) return n;
  return nullptr;
}

}  // namespace

std::string event_key(const std::string& source, const std::string& id) {
  // Length-prefixed: no source and id pair can spell another's key.
  return std::to_string(source.size()) + ":" + source + id;
}

std::string Event::stored_text() const {
  std::string out;
  out.reserve(128 + id.size() + source.size() + subject.size() + data_text.size());
  JsonWriter w(out);
  w.begin_object().key("data").raw(data_text).key("digest").string(digest).key("id").string(id);
  w.key("source").string(source).key("subject").string(subject);
  if (!time.empty()) w.key("time").string(time);
  if (!traceparent.empty()) w.key("traceparent").string(traceparent);
  w.key("type").string(type).end_object();
  return out;
}

std::optional<Event> read_event(const json& body, const std::string& prefix,
                                const std::string& traceparent, std::vector<FieldError>* errors) {
  const std::size_t before = errors->size();
  if (!body.is_object()) {
    errors->push_back({prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1),
                       "must be an event object"});
    return std::nullopt;
  }
  Event e;
  const bool short_form = body.contains("event_id") || body.contains("payload");
  const char* data_name = short_form ? "payload" : "data";
  if (short_form) {
    for (const auto& [name, value] : body.items())
      if (!kShortFields.count(name)) errors->push_back({prefix + name, "is not a field of an event"});
    read_string(body, "event_id", kMaxId, true, prefix + "event_id", &e.id, errors);
    const char* type = first_present(body, {"event_type", "type"});
    read_string(body, type ? type : "event_type", kMaxType, true, prefix + (type ? type : "event_type"),
                &e.type, errors);
    const char* subject = first_present(body, {"customer_id", "subject"});
    read_string(body, subject ? subject : "customer_id", 128, true,
                prefix + (subject ? subject : "customer_id"), &e.subject, errors);
    e.source = kDefaultSource;
    read_string(body, "source", kMaxSource, false, prefix + "source", &e.source, errors);
    const char* time = first_present(body, {"timestamp", "time"});
    if (time) read_string(body, time, 64, false, prefix + time, &e.time, errors);
  } else {
    for (const auto& [name, value] : body.items()) {
      static const std::set<std::string> kCore = {"id", "source", "type", "subject", "time",
                                                  "data", "specversion", "datacontenttype",
                                                  "dataschema", "traceparent", "tracestate"};
      if (!kCore.count(name) && !extension_name(name))
        errors->push_back({prefix + name, "is not a CloudEvents attribute"});
    }
    read_string(body, "id", kMaxId, true, prefix + "id", &e.id, errors);
    read_string(body, "source", kMaxSource, true, prefix + "source", &e.source, errors);
    read_string(body, "type", kMaxType, true, prefix + "type", &e.type, errors);
    read_string(body, "subject", 128, true, prefix + "subject", &e.subject, errors);
    read_string(body, "time", 64, false, prefix + "time", &e.time, errors);
    if (body.contains("specversion") && body["specversion"] != "1.0")
      errors->push_back({prefix + "specversion", "must be \"1.0\""});
    if (body.contains("datacontenttype") && body["datacontenttype"] != "application/json")
      errors->push_back({prefix + "datacontenttype", "must be \"application/json\""});
  }
  if (!e.type.empty() && !valid_type(e.type))
    errors->push_back({prefix + (short_form ? "event_type" : "type"),
                       "must be letters, digits and . _ : / - only"});
  if (!e.subject.empty() && !user_actor::valid_user_id(e.subject))
    errors->push_back({prefix + (short_form ? "customer_id" : "subject"),
                       "must be a customer id (1 to 128 of A-Z a-z 0-9 . _ - @ +)"});
  if (!e.time.empty() && !engine::parse_time(e.time))
    errors->push_back({prefix + (short_form ? "timestamp" : "time"), "must be an RFC 3339 time"});
  if (auto it = body.find(data_name); it != body.end()) {
    if (!it->is_object())
      errors->push_back({prefix + data_name, "must be an object"});
    else if ((e.data_text = it->dump()).size() > kMaxDataBytes)
      errors->push_back({prefix + data_name, "must be at most 64 KiB of JSON"});
    else
      e.data = *it;
  } else if (short_form) {
    errors->push_back({prefix + data_name, "is required"});
  } else {
    e.data = json::object();
    e.data_text = "{}";
  }
  if (auto it = body.find("traceparent"); it != body.end()) {
    if (!it->is_string() || !observability::parse_traceparent(it->get<std::string>()))
      errors->push_back({prefix + "traceparent", "must be a W3C traceparent"});
    else
      e.traceparent = it->get<std::string>();
  } else if (observability::parse_traceparent(traceparent)) {
    e.traceparent = traceparent;
  }
  if (errors->size() != before) return std::nullopt;
  std::string digested = e.type;
  for (const std::string* part : {&e.subject, &e.time, &e.data_text}) {
    digested += '\0';
    digested += *part;
  }
  e.digest = sha256_hex(digested);
  return e;
}

}  // namespace orch::phases::triggers
