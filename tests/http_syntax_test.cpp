// adapters/http/http_syntax.h against RFC 9110's definitions, byte by byte.
#include "adapters/http/http_syntax.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

namespace {

namespace syntax = orch::http::syntax;

TEST(HttpSyntaxTest, TokenCharactersAreAlphanumericsAndTheFifteenMarks) {
  const std::string_view marks = "!#$%&'*+-.^_`|~";
  for (int c = 0; c < 256; ++c) {
    const bool expected = (c < 128 && std::isalnum(c)) ||
                          (c != 0 && marks.find(static_cast<char>(c)) != std::string_view::npos);
    EXPECT_EQ(syntax::is_token_char(static_cast<char>(c)), expected) << c;
  }
  EXPECT_FALSE(syntax::valid_token(""));
  EXPECT_TRUE(syntax::valid_token("Idempotency-Key"));
  EXPECT_FALSE(syntax::valid_token("Bad Name"));
  EXPECT_FALSE(syntax::valid_token("X:Y"));
}

TEST(HttpSyntaxTest, AFieldValueMayHoldAnyByteButCrLfAndNul) {
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (int c = 0; c < 256; ++c) {
        std::string value(length, 'v');
        value[at] = static_cast<char>(c);
        const bool expected = c != '\r' && c != '\n' && c != 0;
        ASSERT_EQ(syntax::valid_field_value(value), expected)
            << "length " << length << ", byte " << c << " at " << at;
      }
    }
  }
  EXPECT_TRUE(syntax::valid_field_value(""));
  // Only the value's own bytes count.
  const std::string s = std::string(20, 'v') + "\r\n";
  EXPECT_TRUE(syntax::valid_field_value(std::string_view(s).substr(0, 20)));
  EXPECT_TRUE(syntax::valid_field_value(std::string_view(s).substr(0, 7)));
}

TEST(HttpSyntaxTest, IequalsFoldsAsciiLettersOnly) {
  EXPECT_TRUE(syntax::iequals("Content-Length", "content-length"));
  EXPECT_FALSE(syntax::iequals("Content-Length", "content-lengt"));
  EXPECT_FALSE(syntax::iequals("a", "b"));
  EXPECT_FALSE(
      syntax::iequals("[", "{"));  // 0x5B and 0x7B differ by the case bit but are not letters
  EXPECT_TRUE(syntax::iequals("", ""));
}

}  // namespace
