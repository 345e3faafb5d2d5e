#include "phases/audience/customer_record.h"

#include <algorithm>
#include <array>

#include "phases/user_actor/frequency_rules.h"  // valid_timezone
#include "phases/user_actor/user_requests.h"    // valid_user_id

namespace orch::phases::audience {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxE164Digits = 15;
constexpr std::size_t kMinE164Digits = 2;
constexpr std::size_t kMaxEmailBytes = 254;  // RFC 5321's path limit less the brackets
constexpr std::size_t kMaxTextBytes = 256;
constexpr std::size_t kMaxAttributes = 50;
constexpr std::size_t kMaxAttributeKeyBytes = 64;
constexpr std::string_view kAttributesPrefix = "attributes.";

constexpr std::array<std::string_view, 4> kTextFields = {"first_name", "last_name", "location",
                                                         "preferred_product"};

bool is_text_field(std::string_view key) {
  return std::find(kTextFields.begin(), kTextFields.end(), key) != kTextFields.end();
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Strings parsed by nlohmann are valid UTF-8 already; those built from a CSV
// upload may not be, and would make every later dump() of the record throw.
// nlohmann's strict dump is the check (ASCII, the common case, skips it).
bool valid_utf8(const std::string& text) {
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x80; })) return true;
  try {
    (void)json(text).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

bool short_text(const json& value) {
  return value.is_string() && value.get_ref<const std::string&>().size() <= kMaxTextBytes &&
         valid_utf8(value.get_ref<const std::string&>());
}

void check_attribute(const std::string& key, const json& value, CustomerCheck mode,
                     std::vector<FieldError>* errors) {
  // The key is echoed in the error only when it is UTF-8 (CSV headers may not be).
  if (!valid_utf8(key)) return errors->push_back({"attributes", "has a key that is not UTF-8"});
  const std::string field = std::string(kAttributesPrefix) + key;
  if (!valid_attribute_key(key)) return errors->push_back({field, "key must be 1 to 64 bytes"});
  if (value.is_null() && mode == CustomerCheck::patch) return;  // removes the key
  if (value.is_string() ? !short_text(value) : !value.is_number() && !value.is_boolean())
    errors->push_back({field, "must be a string of at most 256 bytes, a number or a boolean"});
}

void check_attributes(const json& value, CustomerCheck mode, std::vector<FieldError>* errors) {
  if (!value.is_object())
    return errors->push_back({"attributes", "must be an object of strings, numbers or booleans"});
  if (value.size() > kMaxAttributes) errors->push_back({"attributes", "must have at most 50 keys"});
  for (const auto& [key, v] : value.items()) check_attribute(key, v, mode, errors);
}

void check_field(const std::string& key, const json& value, CustomerCheck mode,
                 std::vector<FieldError>* errors) {
  const bool patch = mode == CustomerCheck::patch;
  if (key == "id") {
    if (patch) return errors->push_back({key, "cannot be changed"});
    if (!value.is_string() || !user_actor::valid_user_id(value.get<std::string>()))
      errors->push_back({key, "must be 1 to 128 of A-Z a-z 0-9 . _ - @ +"});
  } else if (key == "phone") {
    if (!value.is_string() || !valid_e164(value.get_ref<const std::string&>()))
      errors->push_back(
          {key, "must be an E.164 number: + then 2 to 15 digits, e.g. +254712345001"});
  } else if (value.is_null() && patch &&
             (is_text_field(key) || key == "email" || key == "timezone" || key == "attributes")) {
    return;  // removes the field
  } else if (is_text_field(key)) {
    if (!short_text(value)) errors->push_back({key, "must be a string of at most 256 bytes"});
  } else if (key == "email") {
    if (!value.is_string() || !valid_email(value.get_ref<const std::string&>()))
      errors->push_back({key, "must be an email address, e.g. alice@example.com"});
  } else if (key == "timezone") {
    if (!value.is_string() || !user_actor::valid_timezone(value.get<std::string>()))
      errors->push_back({key, "must be an IANA time zone, e.g. Africa/Nairobi"});
  } else if (key == "attributes") {
    check_attributes(value, mode, errors);
  } else {
    errors->push_back({key, "is not a known field"});
  }
}

std::string text_of(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

}  // namespace

bool valid_e164(std::string_view phone) {
  if (phone.size() < 1 + kMinE164Digits || phone.size() > 1 + kMaxE164Digits) return false;
  if (phone[0] != '+' || phone[1] == '0') return false;
  return std::all_of(phone.begin() + 1, phone.end(), is_digit);
}

bool valid_email(std::string_view email) {
  if (email.size() > kMaxEmailBytes) return false;
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos)
    return false;
  if (std::any_of(email.begin(), email.end(),
                  [](unsigned char c) { return c <= ' ' || c == 0x7f; }))
    return false;
  const std::string_view domain = email.substr(at + 1);
  const std::size_t dot = domain.find('.');
  return dot != std::string_view::npos && dot != 0 && domain.back() != '.' &&
         domain.find("..") == std::string_view::npos;
}

bool valid_attribute_key(const std::string& key) {
  return !key.empty() && key.size() <= kMaxAttributeKeyBytes && valid_utf8(key);
}

std::vector<FieldError> check_customer(const json& body, CustomerCheck mode) {
  if (!body.is_object()) return {{"", "must be a JSON object"}};
  std::vector<FieldError> errors;
  for (const auto& [key, value] : body.items()) check_field(key, value, mode, &errors);
  if (mode == CustomerCheck::create) {
    if (!body.contains("id")) errors.push_back({"id", "is required"});
    if (!body.contains("phone")) errors.push_back({"phone", "is required"});
  }
  return errors;
}

json apply_patch(const json& customer, const json& patch) {
  json merged = customer;
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      merged.erase(key);
    } else if (key == "attributes") {
      json& attributes = merged["attributes"];
      if (!attributes.is_object()) attributes = json::object();
      for (const auto& [name, v] : value.items()) {
        if (v.is_null())
          attributes.erase(name);
        else
          attributes[name] = v;
      }
      if (attributes.empty()) merged.erase("attributes");
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

std::string customer_field(const json& customer, std::string_view name) {
  if (!customer.is_object()) return "";
  if (name.substr(0, kAttributesPrefix.size()) == kAttributesPrefix) {
    auto attributes = customer.find("attributes");
    if (attributes == customer.end() || !attributes->is_object()) return "";
    auto it = attributes->find(name.substr(kAttributesPrefix.size()));
    return it == attributes->end() ? "" : text_of(*it);
  }
  auto it = customer.find(name);
  return it == customer.end() ? "" : text_of(*it);
}

}  // namespace orch::phases::audience
