// Random small changes to a JSON text, for the tests that compare a parser
// with json::parse on texts near the grammar's edges: one to three bytes
// inserted, erased or replaced, drawn from JSON's punctuation, digits,
// escapes, the letters of its literals, and control and UTF-8 lead and
// continuation bytes.
#pragma once

#include <cstddef>
#include <random>
#include <string>

namespace orch::testing {

inline std::string mutate_json_text(std::string text, std::mt19937& rng) {
  static const std::string kBytes = std::string("{}[],:\"\\u0123456789abcdefABCDEF.-+eE tfnrl") +
                                    std::string("\x00\x1f\x7f\x80\xbf\xc2\xe0\xed\xf0\xf4\xff\xef", 12);
  for (int n = 1 + rng() % 3; n > 0; --n) {
    const std::size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
    const char c = kBytes[rng() % kBytes.size()];
    switch (rng() % 3) {
      case 0: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c); break;
      case 1: if (at < text.size()) text.erase(at, 1); break;
      default: if (at < text.size()) text[at] = c; break;
    }
  }
  return text;
}

}  // namespace orch::testing
