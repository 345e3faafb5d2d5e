// json_object / json_array build the same values as nlohmann's brace form.
#include "engine/json/json_object.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace orch {
namespace {

using nlohmann::json;

TEST(JsonObject, EqualsTheBraceForm) {
  const std::string id = "a-step-id-longer-than-the-small-string-buffer";
  json output = {{"url", "https://example.com/x"}, {"n", 3}};
  const json built =
      json_object("step", id, "attempt", 2, "ok", true, "none", nullptr, "ratio", 0.5,
                  "channels", std::vector<std::string>{"email", "blog"}, "output", output,
                  "nested", json_object("a", json_array(1, "two", json::object())));
  const json braced = {{"step", id},
                       {"attempt", 2},
                       {"ok", true},
                       {"none", nullptr},
                       {"ratio", 0.5},
                       {"channels", {"email", "blog"}},
                       {"output", output},
                       {"nested", {{"a", json::array({1, "two", json::object()})}}}};
  EXPECT_EQ(built, braced);
  EXPECT_EQ(built.dump(), braced.dump());
  EXPECT_EQ(output["n"], 3) << "an lvalue is copied, not moved from";
}

TEST(JsonObject, MovesRvaluesAndKeepsTheFirstOfEqualKeys) {
  json big = json_array("x", "y");
  std::string text(100, 'z');
  const json built = json_object("big", std::move(big), "text", std::move(text), "big", 1);
  EXPECT_EQ(built.size(), 2u);
  EXPECT_EQ(built["big"], json::array({"x", "y"}));
  EXPECT_EQ(built["text"].get<std::string>().size(), 100u);
  EXPECT_TRUE(big.is_null()) << "an rvalue json is moved from (nlohmann leaves it null)";
  EXPECT_TRUE(json_object().is_object());
  EXPECT_TRUE(json_object().empty());
  EXPECT_TRUE(json_array().is_array());
}

}  // namespace
}  // namespace orch
