#include "phases/audience/message_template.h"

#include <algorithm>
#include <array>

namespace orch::phases::audience {

using nlohmann::json;

namespace {

constexpr std::string_view kAttributesPrefix = "attributes.";
constexpr std::size_t kMaxAttributeKeyBytes = 64;
constexpr std::array<std::string_view, 6> kFieldPlaceholders = {
    "first_name", "last_name", "location", "preferred_product", "phone", "email"};

// A piece of a template as written: literal text, or a placeholder's name
// and default.
struct Piece {
  bool placeholder = false;
  std::string text;  // the literal (braces unescaped), or the default
  std::string name;
};

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_attribute(std::string_view name) {
  return name.substr(0, kAttributesPrefix.size()) == kAttributesPrefix;
}

bool known_placeholder(std::string_view name) {
  if (std::find(kFieldPlaceholders.begin(), kFieldPlaceholders.end(), name) !=
      kFieldPlaceholders.end())
    return true;
  if (!is_attribute(name)) return false;
  const std::string_view key = name.substr(kAttributesPrefix.size());
  return !key.empty() && key.size() <= kMaxAttributeKeyBytes &&
         std::all_of(key.begin(), key.end(), key_char);
}

std::string at_byte(std::size_t offset) { return " at byte " + std::to_string(offset + 1); }

// Reads the placeholder whose '{' is at text[open] into *piece; returns the
// offset after its '}', or npos with *error set.
std::size_t read_placeholder(std::string_view text, std::size_t open, Piece* piece,
                             std::string* error) {
  const std::size_t close = text.find('}', open + 1);
  const std::size_t next_open = text.find('{', open + 1);
  if (close == std::string_view::npos || next_open < close) {
    *error = "the {" + at_byte(open) + " is not closed (write {{ for a brace)";
    return std::string_view::npos;
  }
  const std::string_view inside = text.substr(open + 1, close - open - 1);
  const std::size_t bar = inside.find('|');
  piece->placeholder = true;
  piece->name = std::string(inside.substr(0, bar));
  piece->text = bar == std::string_view::npos ? "" : std::string(inside.substr(bar + 1));
  if (piece->name.empty()) {
    *error = "the placeholder" + at_byte(open) + " has no name";
    return std::string_view::npos;
  }
  return close + 1;
}

// Splits `text` into pieces, up to its first syntax error, which is returned
// ("" if none).
std::string split(std::string_view text, std::vector<Piece>* pieces) {
  if (text.empty()) return "the template is empty";
  if (text.size() > kMaxTemplateBytes) return "the template is longer than 1600 bytes";
  Piece literal;
  auto flush_literal = [&] {
    if (!literal.text.empty()) pieces->push_back(std::move(literal));
    literal = Piece{};
  };
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const bool doubled = i + 1 < text.size() && text[i + 1] == c;
    if ((c == '{' || c == '}') && doubled) {
      literal.text.push_back(c);
      i += 2;
    } else if (c == '}') {
      return "the }" + at_byte(i) + " closes nothing (write }} for a brace)";
    } else if (c == '{') {
      Piece placeholder;
      std::string error;
      i = read_placeholder(text, i, &placeholder, &error);
      if (!error.empty()) return error;
      flush_literal();
      pieces->push_back(std::move(placeholder));
    } else {
      literal.text.push_back(c);
      ++i;
    }
  }
  flush_literal();
  return "";
}

void add_once(const std::string& name, std::vector<std::string>* names) {
  if (std::find(names->begin(), names->end(), name) == names->end()) names->push_back(name);
}

// The value a placeholder reads from `customer`, null if there is none.
const json* value_of(const json& customer, const std::string& field, bool attribute) {
  if (!customer.is_object()) return nullptr;
  const json* holder = &customer;
  if (attribute) {
    auto attributes = customer.find("attributes");
    if (attributes == customer.end() || !attributes->is_object()) return nullptr;
    holder = &*attributes;
  }
  auto it = holder->find(field);
  return it == holder->end() ? nullptr : &*it;
}

}  // namespace

bool check_template(std::string_view text, TemplateError* error) {
  std::vector<Piece> pieces;
  TemplateError found;
  found.syntax = split(text, &pieces);
  for (const Piece& piece : pieces)
    if (piece.placeholder && !known_placeholder(piece.name)) add_once(piece.name, &found.unknown);
  const bool valid = found.syntax.empty() && found.unknown.empty();
  if (error != nullptr) *error = std::move(found);
  return valid;
}

std::vector<std::string> template_placeholders(std::string_view text) {
  std::vector<Piece> pieces;
  split(text, &pieces);
  std::vector<std::string> names;
  for (const Piece& piece : pieces)
    if (piece.placeholder) add_once(piece.name, &names);
  return names;
}

std::optional<MessageTemplate> MessageTemplate::compile(std::string_view text,
                                                        TemplateError* error) {
  if (!check_template(text, error)) return std::nullopt;
  std::vector<Piece> pieces;
  split(text, &pieces);
  MessageTemplate compiled;
  for (Piece& piece : pieces) {
    if (!piece.placeholder) {
      compiled.literal_bytes_ += piece.text.size();
      compiled.parts_.push_back({std::move(piece.text), "", false});
      continue;
    }
    add_once(piece.name, &compiled.placeholders_);
    const bool attribute = is_attribute(piece.name);
    std::string field = attribute ? piece.name.substr(kAttributesPrefix.size()) : piece.name;
    compiled.parts_.push_back({std::move(piece.text), std::move(field), attribute});
  }
  return compiled;
}

// The same text as customer_field (strings as they are, numbers and booleans
// as JSON), without copying the customer's strings.
std::string MessageTemplate::render(const json& customer) const {
  std::string out;
  out.reserve(literal_bytes_ + 16 * parts_.size());
  for (const Part& part : parts_) {
    if (part.field.empty()) {
      out += part.text;
      continue;
    }
    const json* value = value_of(customer, part.field, part.attribute);
    if (value == nullptr || value->is_null() ||
        (value->is_string() && value->get_ref<const std::string&>().empty()))
      out += part.text;
    else if (value->is_string())
      out += value->get_ref<const std::string&>();
    else
      out += value->dump();
  }
  return out;
}

std::string render_template(std::string_view text, const json& customer) {
  std::optional<MessageTemplate> compiled = MessageTemplate::compile(text, nullptr);
  return compiled ? compiled->render(customer) : std::string(text);
}

}  // namespace orch::phases::audience
