// Per-recipient message text: a template whose placeholders are filled from
// each customer's record (customer_record.h).
//
//   "Hi {first_name|there}, {preferred_product} is back at {location}!"
//
// A placeholder is {name} or {name|default words}; the names are first_name,
// last_name, location, preferred_product, phone, email and
// attributes.<key> (key: 1 to 64 of A-Z a-z 0-9 _). A field that is absent
// or empty gives its default, or "" without one: missing data never stops a
// send. {{ and }} are literal braces. A template is 1 to 1,600 bytes (ten
// SMS segments).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace orch::phases::audience {

inline constexpr std::size_t kMaxTemplateBytes = 1'600;

struct TemplateError {
  std::vector<std::string> unknown;  // unknown placeholder names, in order, once each
  std::string syntax;                // the first syntax error, "" if none
};

// Whether `text` is a valid template; if not, and `error` is not null, what
// is wrong (unknown names found before a syntax error are listed too).
bool check_template(std::string_view text, TemplateError* error);

// The placeholder names of `text` in order, once each (known or not, up to
// the first syntax error).
std::vector<std::string> template_placeholders(std::string_view text);

// A template split once into literal text and placeholders, to render it
// for many customers (a send renders it for each recipient).
class MessageTemplate {
 public:
  // Empty when check_template would refuse `text`; then *error (if not null)
  // says why.
  static std::optional<MessageTemplate> compile(std::string_view text, TemplateError* error);

  std::string render(const nlohmann::json& customer) const;

  const std::vector<std::string>& placeholders() const { return placeholders_; }

 private:
  struct Part {
    std::string text;   // the literal, or the default of a placeholder
    std::string field;  // the customer's field or attribute key; "" for a literal
    bool attribute = false;
  };

  std::vector<Part> parts_;
  std::vector<std::string> placeholders_;
  std::size_t literal_bytes_ = 0;  // to reserve the rendered text at once
};

// `text` rendered for `customer`; a template check_template refuses is
// returned as it is (REQUIRES: it was checked).
std::string render_template(std::string_view text, const nlohmann::json& customer);

}  // namespace orch::phases::audience
