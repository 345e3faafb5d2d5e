#include "engine/json_read.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "engine/json_ascii.h"

namespace orch {

using nlohmann::json;

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

JsonReader::JsonReader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {
  if (text.size() >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;  // as nlohmann
}

void JsonReader::whitespace() {
  while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
}

char JsonReader::peek() {
  whitespace();
  return p_ < end_ ? *p_ : '\0';
}

bool JsonReader::at_end() {
  whitespace();
  return p_ == end_ || *p_ == '\0';  // nlohmann's lexer ends the text at a NUL byte
}

bool JsonReader::enter() {
  if (++depth_ > kMaxDepth) return fail();
  ++p_;
  return true;
}

bool JsonReader::begin_object() {
  if (peek() != '{') return fail();
  return enter();
}

bool JsonReader::begin_array() {
  if (peek() != '[') return fail();
  return enter();
}

// Past the ',' before the container's next item: true there, false after
// its closing `close` (consumed) or on an error.
bool JsonReader::next_item(bool& first, char close) {
  if (failed_) return false;
  const char c = peek();
  if (c == close) {
    ++p_;
    --depth_;
    return false;
  }
  if (!first) {
    if (c != ',') return fail();
    ++p_;
  }
  first = false;
  return true;
}

bool JsonReader::next_member(bool& first, std::string& key) {
  if (!next_item(first, '}')) return false;
  if (peek() != '"' || !string(&key)) return fail();
  if (peek() != ':') return fail();
  ++p_;
  return true;
}

bool JsonReader::next_element(bool& first) { return next_item(first, ']'); }

bool JsonReader::value(json* out) {
  switch (peek()) {
    case '{': {
      if (!enter()) return false;
      json::object_t* object = nullptr;
      if (out) {
        *out = json::object();
        object = out->get_ptr<json::object_t*>();
      }
      bool first = true;
      std::string key;
      while (next_member(first, key)) {
        if (!value(object ? &(*object)[key] : nullptr)) return false;  // the last equal key wins
      }
      return !failed_;
    }
    case '[': {
      if (!enter()) return false;
      json::array_t* array = nullptr;
      if (out) {
        *out = json::array();
        array = out->get_ptr<json::array_t*>();
      }
      bool first = true;
      while (next_element(first)) {
        if (!value(array ? &array->emplace_back() : nullptr)) return false;
      }
      return !failed_;
    }
    case '"': {
      if (!out) return string(nullptr);
      std::string s;
      if (!string(&s)) return false;
      *out = std::move(s);
      return true;
    }
    case 't':
      if (!literal("true")) return false;
      if (out) *out = true;
      return true;
    case 'f':
      if (!literal("false")) return false;
      if (out) *out = false;
      return true;
    case 'n':
      if (!literal("null")) return false;
      if (out) *out = nullptr;
      return true;
    default:
      return number(out);
  }
}

bool JsonReader::literal(std::string_view word) {
  if (static_cast<std::size_t>(end_ - p_) < word.size() ||
      std::memcmp(p_, word.data(), word.size()) != 0)
    return fail();
  p_ += word.size();
  return true;
}

// At the opening quote. Plain runs are found 8 bytes at a time and copied
// with one append; escapes and UTF-8 sequences are handled one by one.
bool JsonReader::string(std::string* out) {
  ++p_;
  if (out) out->clear();
  for (;;) {
    const std::size_t plain = json_ascii::plain_prefix(p_, static_cast<std::size_t>(end_ - p_));
    if (out) out->append(p_, plain);
    p_ += plain;
    if (p_ == end_) return fail();
    const auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      ++p_;
      return true;
    }
    if (c < 0x20) return fail();  // a control character must be escaped
    if (c == '\\') {
      if (!escape(out)) return false;
      continue;
    }
    const char* start = p_;
    if (!utf8()) return fail();
    if (out) out->append(start, p_);
  }
}

// At a backslash.
bool JsonReader::escape(std::string* out) {
  ++p_;
  if (p_ == end_) return fail();
  char plain = 0;
  switch (*p_) {
    case '"': plain = '"'; break;
    case '\\': plain = '\\'; break;
    case '/': plain = '/'; break;
    case 'b': plain = '\b'; break;
    case 'f': plain = '\f'; break;
    case 'n': plain = '\n'; break;
    case 'r': plain = '\r'; break;
    case 't': plain = '\t'; break;
    case 'u': break;
    default: return fail();
  }
  if (plain) {
    ++p_;
    if (out) *out += plain;
    return true;
  }
  auto code_unit = [this](std::uint32_t& unit) {  // the 4 hex digits after "\u"
    if (end_ - p_ < 5) return false;
    unit = 0;
    for (int i = 1; i <= 4; ++i) {
      const int v = hex_value(p_[i]);
      if (v < 0) return false;
      unit = unit * 16 + static_cast<std::uint32_t>(v);
    }
    p_ += 5;
    return true;
  };
  std::uint32_t cp = 0;
  if (!code_unit(cp)) return fail();
  if (cp >= 0xDC00 && cp <= 0xDFFF) return fail();  // a low surrogate alone
  if (cp >= 0xD800 && cp <= 0xDBFF) {               // must be followed by a low one
    std::uint32_t low = 0;
    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return fail();
    ++p_;
    if (!code_unit(low) || low < 0xDC00 || low > 0xDFFF) return fail();
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  if (out) append_utf8(*out, cp);
  return true;
}

// At a byte of 0x80 or above: one well-formed UTF-8 sequence (RFC 3629,
// the table nlohmann's lexer checks).
bool JsonReader::utf8() {
  const auto b0 = static_cast<unsigned char>(*p_);
  int more = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    more = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    more = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    more = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return false;
  }
  if (end_ - p_ <= more) return false;
  for (int i = 1; i <= more; ++i) {
    const auto b = static_cast<unsigned char>(p_[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return false;
  }
  p_ += more + 1;
  return true;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool JsonReader::number(json* out) {
  const char* start = p_;
  if (p_ < end_ && *p_ == '-') ++p_;
  if (p_ == end_ || !digit(*p_)) return fail();
  if (*p_ == '0') {
    ++p_;
  } else {
    while (p_ < end_ && digit(*p_)) ++p_;
  }
  bool integral = true;
  if (p_ < end_ && *p_ == '.') {
    integral = false;
    ++p_;
    if (p_ == end_ || !digit(*p_)) return fail();
    while (p_ < end_ && digit(*p_)) ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    integral = false;
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (p_ == end_ || !digit(*p_)) return fail();
    while (p_ < end_ && digit(*p_)) ++p_;
  }
  if (!out) return true;
  if (integral) {  // as nlohmann: unsigned, or signed when negative, if it fits
    if (*start == '-') {
      std::int64_t v = 0;
      if (auto r = std::from_chars(start, p_, v); r.ec == std::errc() && r.ptr == p_) {
        *out = v;
        return true;
      }
    } else {
      std::uint64_t v = 0;
      if (auto r = std::from_chars(start, p_, v); r.ec == std::errc() && r.ptr == p_) {
        *out = v;
        return true;
      }
    }
  }
  double d = 0;
  auto r = std::from_chars(start, p_, d);
  if (r.ec == std::errc::result_out_of_range) {
    // Underflow is a tiny or zero double to strtod (and to nlohmann);
    // overflow is infinite, which nlohmann rejects.
    const std::string text(start, p_);
    d = std::strtod(text.c_str(), nullptr);
  } else if (r.ec != std::errc() || r.ptr != p_) {
    return fail();
  }
  if (!std::isfinite(d)) return fail();
  *out = d;
  return true;
}

bool parse_json(std::string_view text, json& out) {
  JsonReader reader(text);
  if (!reader.read(out) || !reader.at_end()) {
    out = json(json::value_t::discarded);
    return false;
  }
  return true;
}

}  // namespace orch
