// JsonWriter: the text it writes is dump_json's for the same value when
// members come in key order, over hand-written and generated documents, and
// a string that is not UTF-8 throws as dump() does.
#include "engine/json/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "engine/json/json_text.h"

namespace orch {
namespace {

using nlohmann::json;

// Writes `v` through the writer's typed calls (value() only for floats).
void write(JsonWriter& w, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      w.begin_object();
      for (const auto& [k, member] : v.items()) {
        w.key(k);
        write(w, member);
      }
      w.end_object();
      return;
    case json::value_t::array:
      w.begin_array();
      for (const json& e : v) write(w, e);
      w.end_array();
      return;
    case json::value_t::string: w.string(v.get_ref<const std::string&>()); return;
    case json::value_t::boolean: w.boolean(v.get<bool>()); return;
    case json::value_t::null: w.null(); return;
    case json::value_t::number_integer: w.number(v.get<std::int64_t>()); return;
    default: w.value(v); return;
  }
}

std::string written(const json& v) {
  std::string out;
  JsonWriter w(out);
  write(w, v);
  return out;
}

TEST(JsonWriterTest, HandWrittenValuesAreDumpJsonsText) {
  const json cases[] = {
      json::object(),
      json::array(),
      json::array({json::array(), json::object(), json::array({json::object()})}),
      json{{"dashboard", {{"id", nullptr}, {"tags", {"campaign"}}, {"schemaVersion", 39}}},
           {"overwrite", true},
           {"message", "campaign orchestrator"}},
      json{{"quote \" and \\ back", "tab\tnew\nline\x01\x1f"}, {"", ""}},
      json{{"utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}},
      json{{std::string(48, 'k'), 1}, {std::string(49, 'l'), 2}, {std::string(200, 'm'), 3}},
      json{{"min", std::numeric_limits<std::int64_t>::min()},
           {"max", std::numeric_limits<std::int64_t>::max()},
           {"zero", 0},
           {"neg", -42}},
      json{{"float", 0.1}, {"big", 1e300}, {"unsigned", std::numeric_limits<std::uint64_t>::max()}},
      json::array({true, false, nullptr, "x", 1, -1}),
  };
  for (const json& v : cases) EXPECT_EQ(written(v), dump_json(v)) << v.dump();
}

TEST(JsonWriterTest, AppendsToWhatTheStringHeldAndAcceptsAnyTree) {
  std::string out = "prefix:";
  JsonWriter w(out);
  w.begin_object()
      .key("data")
      .value(json{{"b", 1}, {"a", {1, 2}}})
      .key("list")
      .begin_array()
      .value(json::object())
      .string("s")
      .end_array()
      .end_object();
  EXPECT_EQ(out, R"(prefix:{"data":{"a":[1,2],"b":1},"list":[{},"s"]})");
}

TEST(JsonWriterTest, MembersAreWrittenInTheOrderGiven) {
  std::string out;
  JsonWriter(out).begin_object().key("z").number(1).key("a").number(2).end_object();
  EXPECT_EQ(out, R"({"z":1,"a":2})");
  EXPECT_EQ(json::parse(out), (json{{"a", 2}, {"z", 1}}));
}

TEST(JsonWriterTest, AStringThatIsNotUtf8ThrowsAsDumpDoes) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("bad");
  EXPECT_THROW(w.string("ok \xff then"), json::type_error);
  std::string key_out;
  EXPECT_THROW(JsonWriter(key_out).begin_object().key("\xc3"), json::type_error);
  EXPECT_THROW(json(std::string("ok \xff then")).dump(), json::type_error);
}

json generated(std::mt19937& rng, int depth) {
  static const char* kStrings[] = {"", "a", "campaign", "quote\"", "back\\slash", "ctl\x02",
                                   "new\nline", "caf\xc3\xa9", "\xe2\x82\xac", "x y z"};
  std::uniform_int_distribution<int> pick(0, depth >= 4 ? 4 : 6);
  switch (pick(rng)) {
    case 0: return nullptr;
    case 1: return std::uniform_int_distribution<int>(0, 1)(rng) == 1;
    case 2: return std::uniform_int_distribution<std::int64_t>(-1000000, 1000000)(rng);
    case 3: return std::uniform_real_distribution<double>(-10, 10)(rng);
    case 4: return kStrings[std::uniform_int_distribution<int>(0, 9)(rng)];
    case 5: {
      json a = json::array();
      for (int n = std::uniform_int_distribution<int>(0, 4)(rng); n > 0; --n)
        a.push_back(generated(rng, depth + 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int n = std::uniform_int_distribution<int>(0, 4)(rng); n > 0; --n)
        o[kStrings[std::uniform_int_distribution<int>(0, 9)(rng)]] = generated(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonWriterTest, GeneratedDocumentsAreDumpJsonsText) {
  std::mt19937 rng(20261123);
  int objects = 0;
  for (int i = 0; i < 3000; ++i) {
    json v = generated(rng, 0);
    if (v.is_object() && !v.empty()) ++objects;
    ASSERT_EQ(written(v), dump_json(v)) << v.dump();
  }
  EXPECT_GT(objects, 300);  // the generator does make non-empty objects
}

}  // namespace
}  // namespace orch
