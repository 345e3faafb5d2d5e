// The plan a definition expands to for an input: for_each steps, steps
// included only when an input array holds a value, and the JSON pointers
// both are addressed by (walked in place, as nlohmann's json_pointer reads
// them).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/workflow/workflow_definition.h"

namespace orch::engine {
namespace {

using nlohmann::json;

// What nlohmann's json_pointer finds, or nullptr where it throws or finds nothing.
const json* reference(const json& doc, const std::string& pointer) {
  try {
    json::json_pointer p(pointer);
    if (!doc.contains(p)) return nullptr;
    return &doc.at(p);
  } catch (const json::exception&) {
    return nullptr;
  }
}

TEST(WorkflowPlanTest, PointersFindWhatNlohmannsJsonPointerFinds) {
  const json doc = json::parse(R"({
    "channels": ["email", "social", "blog"],
    "a/b": {"m~n": 1, "": {"": 2}},
    "nested": {"list": [[0, 1], {"k": [10, 11, 12]}], "n": null, "s": "text"},
    "01": "key that looks like an index",
    "": 3
  })");
  const std::vector<std::string> pointers = {
      "", "/", "//", "///", "/channels", "/channels/0", "/channels/2", "/channels/3",
      "/channels/-", "/channels/00", "/channels/01", "/channels/1a", "/channels/+1",
      "/channels/ 1", "/channels/18446744073709551616", "/channels/99999999999999999999999",
      "/a~1b", "/a~1b/m~0n", "/a~1b/m~n", "/a~1b/m~2n", "/a~1b/m~", "/a~1b//", "/a~1b/",
      "/a~1b/m~0n/x", "/nested/list/0/1", "/nested/list/1/k/2", "/nested/list/1/k/3",
      "/nested/list/1/k/", "/nested/n", "/nested/n/x", "/nested/s", "/nested/s/0", "/01",
      "channels", "channels/0", "~0", "/missing", "/missing/0", "/nested/list/2"};
  for (const std::string& p : pointers) {
    SCOPED_TRACE(p);
    EXPECT_EQ(at_pointer(doc, p), reference(doc, p));
  }
  // Every prefix of every pointer above, on scalars and arrays at the root too.
  for (const json& root : {doc, json(5), json::array({1, 2}), json(nullptr)}) {
    for (const std::string& p : pointers) {
      for (std::size_t n = 0; n <= p.size(); ++n) {
        const std::string prefix = p.substr(0, n);
        SCOPED_TRACE(prefix);
        EXPECT_EQ(at_pointer(root, prefix), reference(root, prefix));
      }
    }
  }
}

TEST(WorkflowPlanTest, ForEachAndWhenContainsFollowTheInput) {
  WorkflowDefinition def;
  def.name = "plan";
  PhaseDefinition research;
  research.name = "research";
  StepDefinition scrape;
  scrape.name = "scrape";
  scrape.for_each = "/urls";
  StepDefinition summary;
  summary.name = "summary";
  research.steps = {scrape, summary};
  PhaseDefinition distribution;
  distribution.name = "distribution";
  StepDefinition email;
  email.name = "email";
  email.when_contains_pointer = "/channels";
  email.when_contains_value = "email";
  StepDefinition render;
  render.name = "render";
  render.for_each = "/channels";
  distribution.steps = {email, render};
  def.phases = {research, distribution};

  const WorkflowPlan plan =
      expand_plan(def, json{{"urls", {"https://a", "https://b"}}, {"channels", {"email", "blog"}}});
  std::vector<std::string> ids;
  for (const PlannedStep& s : plan.steps) ids.push_back(s.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"research.scrape[0]", "research.scrape[1]",
                                           "research.summary", "distribution.email",
                                           "distribution.render[0]", "distribution.render[1]"}));
  ASSERT_EQ(plan.phase_ranges.size(), 2u);
  EXPECT_EQ(plan.phase_ranges[0], (std::pair<std::size_t, std::size_t>{0, 3}));
  EXPECT_EQ(plan.phase_ranges[1], (std::pair<std::size_t, std::size_t>{3, 6}));
  EXPECT_EQ(plan.steps[1].item, "https://b");
  EXPECT_EQ(plan.steps[5].item, "blog");

  // No email channel: the email step is left out; no urls: no scrape steps.
  const WorkflowPlan other = expand_plan(def, json{{"channels", {"blog"}}, {"urls", "x"}});
  ids.clear();
  for (const PlannedStep& s : other.steps) ids.push_back(s.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"research.summary", "distribution.render[0]"}));
}

}  // namespace
}  // namespace orch::engine
