// dump_json must write exactly what nlohmann's dump() writes: journal
// payloads, input hashes and request bodies are compared and stored as text.
#include "engine/json/json_text.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace orch {
namespace {

using nlohmann::json;

void expect_same(const json& v) {
  EXPECT_EQ(dump_json(v), v.dump()) << "value of type " << v.type_name();
  std::string out = "prefix";
  append_json(out, v);
  EXPECT_EQ(out, "prefix" + v.dump());
}

TEST(JsonText, ScalarsAsNlohmannWritesThem) {
  for (const json& v :
       {json(nullptr), json(true), json(false), json(0), json(-1), json(42),
        json(std::numeric_limits<std::int64_t>::min()),
        json(std::numeric_limits<std::int64_t>::max()),
        json(std::numeric_limits<std::uint64_t>::max()), json(0u), json(0.0), json(-0.0),
        json(1.0), json(0.1), json(1e300), json(-2.5e-8), json(123456789.125),
        json(std::numeric_limits<double>::quiet_NaN()),
        json(std::numeric_limits<double>::infinity()), json(""), json("plain"),
        json::binary({1, 2, 3})}) {
    expect_same(v);
  }
}

TEST(JsonText, EveryAsciiByteIsEscapedAsNlohmannEscapesIt) {
  for (int c = 1; c < 0x80; ++c) {
    const std::string one(1, static_cast<char>(c));
    expect_same(json(one));
    expect_same(json("a" + one + "b" + one));
  }
  expect_same(json(std::string("nul\0byte", 8)));
  expect_same(json("quote \" backslash \\ slash / tab \t end"));
}

// Plain text is scanned eight bytes at a time: one byte to escape at every
// position of a longer string, with plain bytes on both sides.
TEST(JsonText, OneSpecialByteAtEveryPositionOfALongString) {
  for (const std::string special : {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", " ", "~",
                                    "\xc3\xa9"}) {
    for (std::size_t at = 0; at <= 40; ++at) {
      std::string s(40, 'x');
      s.insert(at, special);
      expect_same(json(s));
    }
  }
}

TEST(JsonText, Utf8IsKeptAndInvalidUtf8ThrowsTheSameError) {
  expect_same(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80 and \"quotes\"\n"));
  expect_same(json::object({{"cl\xc3\xa9", "v\xc3\xa4lue"}}));
  for (const std::string& bad : {std::string("bad \xff byte"), std::string("cut \xe2\x82"),
                                std::string("\xc3(")}) {
    std::string expected;
    try {
      (void)json(bad).dump();
      FAIL() << "nlohmann accepted invalid UTF-8";
    } catch (const json::type_error& e) {
      expected = e.what();
    }
    try {
      (void)dump_json(json::array({"ok", bad}));
      FAIL() << "dump_json accepted invalid UTF-8";
    } catch (const json::type_error& e) {
      EXPECT_EQ(std::string(e.what()), expected);
    }
  }
}

// For text from outside (error replies), bad UTF-8 becomes U+FFFD as with
// dump's replace handler, and everything else is escaped as usual.
TEST(JsonText, InvalidUtf8CanBeReplacedAsDumpReplacesIt) {
  for (const std::string& text :
       {std::string("bad \xff byte"), std::string("cut \xe2\x82"), std::string("\xc3("),
        std::string("caf\xc3\xa9 \"q\"\n\x01"), std::string("plain"),
        std::string("\b\f\t")}) {
    std::string out;
    append_json_string(out, text, InvalidUtf8::replace);
    EXPECT_EQ(out, json(text).dump(-1, ' ', false, json::error_handler_t::replace)) << text;
  }
}

TEST(JsonText, ContainersKeepNlohmannsMemberOrder) {
  expect_same(json::object());
  expect_same(json::array());
  expect_same(json::parse(R"({"b":1,"a":[1,2,{"z":null,"y":[]}],"":{},"c":"x\ty"})"));
  expect_same(json::array({json::array({json::array()}), json::object({{"k", json::object()}})}));
}

// Generated documents, from a fixed seed so a failure reproduces.
json generate(std::mt19937_64& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 0 ? 9 : 7));
  switch (kind) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<std::int64_t>(rng());
    case 3: return static_cast<std::uint64_t>(rng());
    case 4: return static_cast<double>(static_cast<std::int64_t>(rng() % 2000000) - 1000000) / 64.0;
    case 5:
    case 6: {
      static const std::string kAlphabet =
          std::string("abcXYZ019 _-/:.,{}[]\"\\\t\n\r\b\f\x01\x1f\x7f") + "\xc3\xa9" + "\xe2\x82\xac";
      std::string s;
      const std::size_t n = rng() % 40;
      for (std::size_t i = 0; i < n; ++i) {
        std::size_t at = rng() % kAlphabet.size();
        // Keep multi-byte characters whole so the text stays valid UTF-8.
        if (at >= kAlphabet.size() - 5) {
          s += (at < kAlphabet.size() - 3) ? std::string("\xc3\xa9") : std::string("\xe2\x82\xac");
        } else {
          s += kAlphabet[at];
        }
      }
      return s;
    }
    case 7: {
      json a = json::array();
      for (std::size_t n = rng() % 6; n > 0; --n) a.push_back(generate(rng, depth - 1));
      return a;
    }
    default: {
      json o = json::object();
      for (std::size_t n = rng() % 6; n > 0; --n)
        o[generate(rng, 0).dump()] = generate(rng, depth - 1);
      return o;
    }
  }
}

TEST(JsonText, GeneratedDocumentsMatchNlohmann) {
  std::mt19937_64 rng(20261123);
  for (int i = 0; i < 3000; ++i) expect_same(generate(rng, 4));
}

}  // namespace
}  // namespace orch
