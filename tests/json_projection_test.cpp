// JsonProjection must keep exactly the members its paths name, and accept
// and reject the same texts as json::parse.
#include "adapters/services/json_projection.h"
#include "tests/support/json_mutation.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace orch::adapters {
namespace {

using nlohmann::json;

// The same projection, written plainly over the whole parsed value.
json reference(const json& v, const std::vector<std::vector<std::string>>& paths,
               std::size_t depth) {
  if (!v.is_object() && !v.is_array()) return v;
  json out(v.type());
  auto visit = [&](const std::string* key, const json& member) {
    std::vector<std::vector<std::string>> below;
    bool whole = false;
    for (const auto& p : paths) {
      const std::string& s = p[depth];
      if (s != "*" && (key == nullptr || s != *key)) continue;
      if (p.size() == depth + 1) whole = true;
      else below.push_back(p);
    }
    if (!whole && (below.empty() || (!member.is_object() && !member.is_array()))) {
      if (!key) out.push_back(nullptr);  // an array keeps its positions
      return;
    }
    json kept = whole ? member : reference(member, below, depth + 1);
    if (key) out[*key] = std::move(kept);
    else out.push_back(std::move(kept));
  };
  if (v.is_object()) {
    for (const auto& [k, m] : v.items()) visit(&k, m);
  } else {
    for (const auto& m : v) visit(nullptr, m);
  }
  return out;
}

std::vector<std::vector<std::string>> split(const std::vector<std::string_view>& paths) {
  std::vector<std::vector<std::string>> out;
  for (std::string_view p : paths) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    for (;;) {
      std::size_t slash = p.find('/', start);
      segments.emplace_back(p.substr(start, slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    out.push_back(std::move(segments));
  }
  return out;
}

TEST(JsonProjection, KeepsOnlyTheNamedMembersAndTheWayToThem) {
  JsonProjection fields{"number", "html_url", "head/sha", "labels/*/name"};
  json out;
  ASSERT_TRUE(fields.parse(
      R"({"number":7,"title":"x","head":{"sha":"ab","ref":"r","repo":{"id":1}},
          "labels":[{"name":"a","color":"f00"},{"color":"0f0"},3],"html_url":"u",
          "user":{"login":"me"}})",
      out));
  EXPECT_EQ(out, json::parse(R"({"number":7,"head":{"sha":"ab"},
                                 "labels":[{"name":"a"},{},null],"html_url":"u"})"));
}

TEST(JsonProjection, AStarKeepsEveryMemberOfAnObject) {
  JsonProjection fields{"images/*"};
  json out;
  ASSERT_TRUE(fields.parse(R"({"err":null,"images":{"1:2":"https://a","3:4":null},"x":1})", out));
  EXPECT_EQ(out, json::parse(R"({"images":{"1:2":"https://a","3:4":null}})"));
}

TEST(JsonProjection, NoPathsKeepsEverything) {
  JsonProjection all{};
  json out;
  const char* text = R"({"a":[1,2.5,"x",true,null,{"b":{}}],"c":-3})";
  ASSERT_TRUE(all.parse(text, out));
  EXPECT_EQ(out, json::parse(text));
}

TEST(JsonProjection, LastOfTwoEqualKeysWinsAsWithParse) {
  JsonProjection fields{"a"};
  json out;
  ASSERT_TRUE(fields.parse(R"({"a":1,"b":2,"a":{"c":3}})", out));
  EXPECT_EQ(out, json::parse(R"({"a":{"c":3}})"));
}

TEST(JsonProjection, RejectsWhatParseRejectsEvenInSkippedMembers) {
  JsonProjection fields{"keep"};
  for (const char* bad :
       {"", "{", R"({"keep":1,"skip":[1,2,}})", R"({"keep":1,"skip":"\x01"})",
        R"({"keep":1} trailing)", R"({"keep":1,"skip":tru})", R"({"skip":"bad \u12"})",
        "{\"skip\":\"\xff\"}", R"({"keep":01})"}) {
    json out;
    EXPECT_FALSE(fields.parse(bad, out)) << bad;
    EXPECT_TRUE(out.is_discarded());
    EXPECT_TRUE(json::parse(bad, nullptr, false).is_discarded()) << bad;
  }
  json out;
  // A root that is not an object is the caller's to reject; paths name the
  // root's members, and only '*' names an element of an array.
  EXPECT_TRUE(fields.parse(" [1] ", out));
  EXPECT_EQ(out, json::array({nullptr}));
  EXPECT_TRUE(fields.parse("\"s\"", out));
  EXPECT_EQ(out, json("s"));
}

// Generated documents and paths, from a fixed seed: the projection equals
// the plain filter of the whole parsed value.
json generate(std::mt19937& rng, int depth) {
  static const char* kKeys[] = {"a", "b", "c", "id", "url"};
  switch (rng() % (depth > 0 ? 6 : 4)) {
    case 0: return static_cast<int>(rng() % 100);
    case 1: return std::string(rng() % 20, 'x');
    case 2: return nullptr;
    case 3: return rng() % 2 == 0;
    case 4: {
      json a = json::array();
      for (int n = rng() % 4; n > 0; --n) a.push_back(generate(rng, depth - 1));
      return a;
    }
    default: {
      json o = json::object();
      for (int n = rng() % 5; n > 0; --n) o[kKeys[rng() % 5]] = generate(rng, depth - 1);
      return o;
    }
  }
}

TEST(JsonProjection, GeneratedDocumentsMatchThePlainFilter) {
  std::mt19937 rng(1123);
  const std::vector<std::vector<std::string_view>> path_sets = {
      {"a"}, {"a/b"}, {"*/id"}, {"a/*/url", "b"}, {"c/*/*", "id"}, {"*"}, {"b/a/c", "url"}};
  for (const auto& paths : path_sets) {
    JsonProjection projection(paths);
    const auto segments = split(paths);
    for (int i = 0; i < 500; ++i) {
      json doc = json::object();
      for (int n = rng() % 5; n > 0; --n) doc[std::to_string(rng() % 3)] = generate(rng, 3);
      doc["a"] = generate(rng, 3);
      doc["b"] = generate(rng, 3);
      json out;
      ASSERT_TRUE(projection.parse(doc.dump(), out));
      EXPECT_EQ(out, reference(doc, segments, 0)) << doc.dump();
    }
  }
}

// The same documents with random bytes changed: the projection accepts what
// json::parse accepts, and then keeps what the plain filter keeps.
TEST(JsonProjection, MutatedDocumentsAsParseThenThePlainFilter) {
  std::mt19937 rng(20261123);
  const std::vector<std::string_view> paths = {"a/*/url", "b", "c/*/*", "id"};
  JsonProjection projection(paths);
  const auto segments = split(paths);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    json doc = json::object();
    doc["a"] = generate(rng, 3);
    doc["b"] = generate(rng, 2);
    doc["c"] = generate(rng, 3);
    const std::string text = testing::mutate_json_text(doc.dump(), rng);
    const json whole = json::parse(text, nullptr, false);
    json out;
    ASSERT_EQ(projection.parse(text, out), !whole.is_discarded()) << text;
    if (whole.is_discarded()) {
      ++rejected;
      continue;
    }
    ++accepted;
    EXPECT_EQ(out, whole.is_object() || whole.is_array() ? reference(whole, segments, 0) : whole)
        << text;
  }
  EXPECT_GT(accepted, 300);
  EXPECT_GT(rejected, 300);
}

}  // namespace
}  // namespace orch::adapters
