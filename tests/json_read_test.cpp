// parse_json must accept and reject what json::parse does and build the
// same value, down to the kind of each number.
#include "engine/json/json_read.h"
#include "tests/support/json_mutation.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace orch {
namespace {

using nlohmann::json;

// Equal values of equal kinds (json's == takes 1u and 1 for equal).
bool same(const json& a, const json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
      if (ia.key() != ib.key() || !same(*ia, *ib)) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  if (a.is_number_float()) {  // bit for bit, so -0.0 differs from 0.0
    const double x = a.get<double>(), y = b.get<double>();
    return std::memcmp(&x, &y, sizeof x) == 0;
  }
  return a == b;
}

// Both parsers on `text`: the same verdict and, when accepted, the same value.
void expect_as_nlohmann(const std::string& text) {
  const json expected = json::parse(text, nullptr, false);
  json got;
  const bool ok = parse_json(text, got);
  ASSERT_EQ(ok, !expected.is_discarded()) << "text: " << text;
  if (ok) {
    EXPECT_TRUE(same(got, expected)) << "text: " << text << "\ngot:  " << got.dump()
                                     << "\nwant: " << expected.dump();
  } else {
    EXPECT_TRUE(got.is_discarded());
  }
}

TEST(JsonRead, HandWrittenTextsAsNlohmann) {
  for (const char* text : {
           // accepted
           "0", "-0", "1", "-1", "123456789", "18446744073709551615", "18446744073709551616",
           "-9223372036854775808", "-9223372036854775809", "1.5", "-0.0", "1e3", "1E+3", "1e-3",
           "2.5e-400", "1e-400", "0.1e1", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
           "\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", "\"\\u0000\"", "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"",
           "true", "false", "null", " \t\r\n[ 1 , 2 ]\n", "{}", "[]", "{\"a\":{\"b\":[{}]}}",
           "{\"a\":1,\"a\":2}", "{\"a\":[1],\"a\":{\"b\":2}}", "\xEF\xBB\xBF{\"bom\":1}",
           // rejected
           "", " ", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1.e3", "0x10", "1e400",
           "-1e400", "NaN", "Infinity", "tru", "nul", "falsey", "[1,]", "[,1]", "{\"a\":1,}",
           "{,}", "{\"a\"}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "[1]]", "[[1]", "{\"a\":1}}",
           "\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"",
           "\"\\ud800\\u0041\"", "\"\\udc00\"", "\"\xC0\xAF\"", "\"\xC1\xBF\"", "\"\xE0\x80\x80\"",
           "\"\xED\xA0\x80\"", "\"\xF0\x80\x80\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xF5\x80\x80\x80\"",
           "\"\xFF\"", "\"\xC3\"", "\"\xE2\x82\"", "\xEF\xBB{}", "1 2", "[1] x", "/* */ 1"}) {
    SCOPED_TRACE(text);
    expect_as_nlohmann(text);
  }
  expect_as_nlohmann(std::string("\"a\0b\"", 5));  // a NUL byte in a string
  expect_as_nlohmann(std::string("[1]\0", 4));      // and after the value
}

TEST(JsonRead, NestingDeeperThanTheLimitIsRejectedNotOverflowed) {
  json out;
  const int limit = kMaxJsonNesting;
  EXPECT_TRUE(parse_json(std::string(limit, '[') + std::string(limit, ']'), out));
  EXPECT_FALSE(parse_json(std::string(limit + 1, '[') + std::string(limit + 1, ']'), out));
  EXPECT_FALSE(parse_json(std::string(1'000'000, '['), out));  // no stack overflow
}

// simdjson's tape cannot tell "-0" from "0", and rejects integers beyond 64
// bits: those texts are read by nlohmann's parser, projected or not, and the
// nesting limit still holds there.
TEST(JsonRead, IntegersTheTapeCannotHoldAsNlohmann) {
  for (const char* text : {"[-0,0]", "{\"a\":0,\"b\":-0}", "[0,\"x: -0\"]", "[0,\"2024-01-05\"]",
                           "[-0.0,0]", "[18446744073709551616,0]", "{\"n\":-9223372036854775809}",
                           "[1e400,0]", "[123456789012345678901234567890,01]"}) {
    SCOPED_TRACE(text);
    expect_as_nlohmann(text);
  }
  const std::string big = "[18446744073709551616]";
  json out;
  for (const std::string& inner : {std::string("[1]"), big}) {  // the same limit on both paths
    EXPECT_TRUE(parse_json(
        std::string(kMaxJsonNesting - 2, '[') + inner + std::string(kMaxJsonNesting - 2, ']'),
        out));
    EXPECT_FALSE(parse_json(
        std::string(kMaxJsonNesting - 1, '[') + inner + std::string(kMaxJsonNesting - 1, ']'),
        out));
  }

  const std::vector<std::vector<std::string>> paths = {{"keep"}, {"list", "*", "n"}};
  for (const char* text : {R"({"keep":-0,"skip":0,"list":[{"n":0,"m":-0},1]})",
                           R"({"keep":18446744073709551616,"list":[{"n":-0}],"skip":[-0]})",
                           R"({"keep":0,"skip":99999999999999999999999})"}) {
    SCOPED_TRACE(text);
    json whole = json::parse(text);
    json want = json::object();
    want["keep"] = whole["keep"];
    if (whole.contains("list")) {
      want["list"] = json::array();
      for (const json& e : whole["list"])
        want["list"].push_back(e.is_object() ? json{{"n", e["n"]}} : json());
    }
    json got;
    ASSERT_TRUE(parse_json_projected(text, paths, got));
    EXPECT_TRUE(same(got, want)) << "got:  " << got.dump() << "\nwant: " << want.dump();
  }
}

// Generated documents (unicode, escapes, every kind of number), then the
// same texts with random bytes changed: both parsers agree on every one.
std::string random_string(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {
      "a", "Z", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f", "\xC3\xA9",
      "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBF", "plain text run", "0123456789"};
  std::string s;
  for (int n = rng() % 12; n > 0; --n) s += kPieces[rng() % kPieces.size()];
  return s;
}

json random_value(std::mt19937& rng, int depth) {
  switch (rng() % (depth > 0 ? 9 : 7)) {
    case 0: return static_cast<std::int64_t>(rng()) - (1LL << 31);
    case 1: return (static_cast<std::uint64_t>(rng()) << 32) | rng();
    case 2: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    case 3: return std::ldexp(static_cast<double>(rng()), static_cast<int>(rng() % 2000) - 1000);
    case 4: return random_string(rng);
    case 5: return nullptr;
    case 6: return rng() % 2 == 0;
    case 7: {
      json a = json::array();
      for (int n = rng() % 4; n > 0; --n) a.push_back(random_value(rng, depth - 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int n = rng() % 4; n > 0; --n) o[random_string(rng)] = random_value(rng, depth - 1);
      return o;
    }
  }
}

TEST(JsonRead, GeneratedAndMutatedTextsAsNlohmann) {
  std::mt19937 rng(20261123);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    const json doc = random_value(rng, 4);
    const std::string text = i % 2 ? doc.dump() : doc.dump(1);  // compact and indented
    expect_as_nlohmann(text);
    for (int m = 0; m < 4; ++m) {
      const std::string changed = testing::mutate_json_text(text, rng);
      rejected += json::parse(changed, nullptr, false).is_discarded();
      expect_as_nlohmann(changed);
    }
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(rejected, 3000);  // the mutations reach the rejecting paths
}

}  // namespace
}  // namespace orch
