// The conditions of event triggers: what each operator matches, and every
// problem the compiler names (phases/triggers/trigger_conditions.h).
#include "phases/triggers/trigger_conditions.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// Every allocation of this program is counted, so a test can show matches()
// makes none.
namespace {
std::atomic<long> allocations{0};
}  // namespace

// Not inlined: GCC would see free() of what operator new returned.
[[gnu::noinline]] void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using nlohmann::json;
using orch::phases::FieldError;
using namespace orch::phases::triggers;

const json& event() {
  static const json e = json::parse(R"({
    "id": "evt-1", "source": "pos", "type": "purchase", "subject": "cust-001",
    "time": "2026-03-01T10:00:00Z",
    "data": {"amount": 75, "price": 49.5, "currency": "USD", "neg": -3,
             "big": 18446744073709551615, "vip": true, "coupon": null,
             "items": [{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}],
             "tags": ["a", "b"], "store": {"city": "Nairobi"}, "name": "\u00e9mile",
             "by_key": {"0": "zero"}}})");
  return e;
}

json leaf(const std::string& field, const std::string& op, json value) {
  return {{"field", field}, {"op", op}, {"value", std::move(value)}};
}

// Whether `spec` (which must compile) matches the event.
bool eval(const json& spec, const json& on = event()) {
  std::vector<FieldError> errors;
  auto c = compile_condition(spec, &errors);
  EXPECT_TRUE(c.has_value()) << spec.dump() << ": " << (errors.empty() ? "" : errors[0].message);
  return c && matches(*c, on);
}

bool eval(const std::string& field, const std::string& op, json value) {
  return eval(leaf(field, op, std::move(value)));
}

std::vector<std::string> fields(const json& spec) {
  std::vector<std::string> names;
  for (const FieldError& e : check_condition(spec)) names.push_back(e.field);
  return names;
}

// The one error `spec` has: "field: message".
std::string error(const json& spec) {
  const auto errors = check_condition(spec);
  EXPECT_EQ(errors.size(), 1u) << spec.dump();
  return errors.empty() ? "" : errors[0].field + ": " + errors[0].message;
}

using Fields = std::vector<std::string>;

// --- operators ---

TEST(ConditionMatch, EqualsComparesNumbersNumerically) {
  EXPECT_TRUE(eval("data.amount", "==", 75));
  EXPECT_TRUE(eval("data.amount", "==", 75.0));
  EXPECT_TRUE(eval("data.price", "==", 49.5));
  EXPECT_TRUE(eval("data.neg", "==", -3.0));
  EXPECT_TRUE(eval("data.big", "==", json(18446744073709551615ull)));
  EXPECT_FALSE(eval("data.amount", "==", 76));
  EXPECT_FALSE(eval("data.amount", "==", 75.01));
  EXPECT_FALSE(eval("data.neg", "==", 3));
}

TEST(ConditionMatch, NotEqualsIsTrueOnlyForADifferentValueOfTheSameType) {
  EXPECT_TRUE(eval("data.amount", "!=", 76));
  EXPECT_TRUE(eval("data.amount", "!=", 75.5));
  EXPECT_TRUE(eval("data.currency", "!=", "EUR"));
  EXPECT_TRUE(eval("data.vip", "!=", false));
  EXPECT_FALSE(eval("data.amount", "!=", 75));
  EXPECT_FALSE(eval("data.amount", "!=", 75.0));
  EXPECT_FALSE(eval("data.currency", "!=", "USD"));
}

TEST(ConditionMatch, OrderingOfNumbersMixesIntegersAndFloats) {
  EXPECT_TRUE(eval("data.amount", ">", 50));
  EXPECT_TRUE(eval("data.amount", ">", 74.99));
  EXPECT_FALSE(eval("data.amount", ">", 75));
  EXPECT_TRUE(eval("data.amount", ">=", 75.0));
  EXPECT_FALSE(eval("data.amount", ">=", 75.5));
  EXPECT_TRUE(eval("data.amount", "<", 75.5));
  EXPECT_FALSE(eval("data.amount", "<", 75));
  EXPECT_TRUE(eval("data.amount", "<=", 75));
  EXPECT_FALSE(eval("data.amount", "<=", 74.9));
  EXPECT_TRUE(eval("data.price", "<", 50));
  EXPECT_TRUE(eval("data.price", ">", 49));
  EXPECT_TRUE(eval("data.neg", "<", 0));
  EXPECT_TRUE(eval("data.neg", "<", json(18446744073709551615ull)));
  EXPECT_TRUE(eval("data.big", ">", -1));
  EXPECT_TRUE(eval("data.big", ">", 1e18));
  EXPECT_FALSE(eval("data.neg", ">", -2.5));
}

TEST(ConditionMatch, StringsCompareBytewise) {
  EXPECT_TRUE(eval("data.currency", "==", "USD"));
  EXPECT_FALSE(eval("data.currency", "==", "usd"));
  EXPECT_TRUE(eval("data.currency", "<", "USE"));
  EXPECT_TRUE(eval("data.currency", ">", "USC"));
  EXPECT_TRUE(eval("data.currency", ">=", "USD"));
  EXPECT_TRUE(eval("data.currency", "<=", "USD"));
  EXPECT_FALSE(eval("data.currency", "<", "USD"));
  EXPECT_FALSE(eval("data.currency", ">", "Z"));
  EXPECT_TRUE(eval("data.currency", "<", "a"));  // upper case sorts first
  EXPECT_TRUE(eval("data.name", ">", "zed"));    // 0xC3 after 'z'
  EXPECT_TRUE(eval("time", ">=", "2026-01-01"));
  EXPECT_FALSE(eval("time", ">=", "2026-03-02"));
}

TEST(ConditionMatch, BooleansAndNullsEqualOnlyTheirOwnKind) {
  EXPECT_TRUE(eval("data.vip", "==", true));
  EXPECT_FALSE(eval("data.vip", "==", false));
  EXPECT_FALSE(eval("data.vip", "==", 1));
  EXPECT_TRUE(eval("data.coupon", "==", nullptr));
  EXPECT_FALSE(eval("data.coupon", "!=", nullptr));
  EXPECT_FALSE(eval("data.amount", "==", nullptr));
  EXPECT_FALSE(eval("data.amount", "!=", nullptr));
  EXPECT_FALSE(eval("data.coupon", "==", 0));
}

TEST(ConditionMatch, ATypeMismatchIsFalseForEveryOperator) {
  for (const char* op : {"==", "!=", "<", "<=", ">", ">="}) {
    EXPECT_FALSE(eval("data.amount", op, "75")) << op;
    EXPECT_FALSE(eval("data.currency", op, 5)) << op;
    EXPECT_FALSE(eval("data.vip", op, 1)) << op;
    EXPECT_FALSE(eval("data.store", op, "Nairobi")) << op;
    EXPECT_FALSE(eval("data.items", op, 2)) << op;
  }
  EXPECT_FALSE(eval("data.amount", "in", json::array({"75"})));
  EXPECT_FALSE(eval("data.amount", "contains", "7"));
  EXPECT_FALSE(eval("data.tags", "contains", "a"));  // arrays do not contain
}

TEST(ConditionMatch, AMissingFieldIsFalseExceptForExistsFalse) {
  for (const char* path : {"data.nope", "data.items.5.sku", "subject.0", "data.amount.cents",
                           "data.items.sku", "data.items.01.sku", "data.store.city.x"}) {
    for (const char* op : {"==", "!=", "<", "<=", ">", ">="}) EXPECT_FALSE(eval(path, op, 1));
    EXPECT_FALSE(eval(path, "in", json::array({1, "x"})));
    EXPECT_FALSE(eval(path, "contains", "x"));
    EXPECT_FALSE(eval(path, "exists", true)) << path;
    EXPECT_TRUE(eval(path, "exists", false)) << path;
    EXPECT_FALSE(eval(json{{"field", path}, {"op", "exists"}})) << path;
  }
}

TEST(ConditionMatch, ExistsIsTrueForAnyPresentValueNullIncluded) {
  EXPECT_TRUE(eval(json{{"field", "data.amount"}, {"op", "exists"}}));
  EXPECT_TRUE(eval("data.coupon", "exists", true));
  EXPECT_TRUE(eval("data.store", "exists", true));
  EXPECT_FALSE(eval("data.amount", "exists", false));
  EXPECT_FALSE(eval("data.coupon", "exists", false));
}

TEST(ConditionMatch, ArrayIndexesAndEnvelopeFields) {
  EXPECT_TRUE(eval("data.items.0.sku", "==", "SKU-1"));
  EXPECT_TRUE(eval("data.items.1.qty", "==", 1));
  EXPECT_TRUE(eval("data.tags.1", "==", "b"));
  EXPECT_TRUE(eval("data.by_key.0", "==", "zero"));  // on an object, a key
  EXPECT_TRUE(eval("data.store.city", "==", "Nairobi"));
  EXPECT_TRUE(eval("type", "==", "purchase"));
  EXPECT_TRUE(eval("subject", "==", "cust-001"));
  EXPECT_TRUE(eval("source", "==", "pos"));
  EXPECT_TRUE(eval("id", "==", "evt-1"));
  EXPECT_FALSE(eval("data", "==", "x"));
}

TEST(ConditionMatch, InEqualsOneOfTheValues) {
  EXPECT_TRUE(eval("data.currency", "in", json::array({"EUR", "USD"})));
  EXPECT_FALSE(eval("data.currency", "in", json::array({"EUR", "KES"})));
  EXPECT_TRUE(eval("data.amount", "in", json::array({1, 75.0})));
  EXPECT_FALSE(eval("data.amount", "in", json::array({1, 2})));
  EXPECT_TRUE(eval("data.vip", "in", json::array({false, true})));
  EXPECT_TRUE(eval("data.coupon", "in", json::array({"none", nullptr})));
}

TEST(ConditionMatch, ContainsFindsASubstring) {
  EXPECT_TRUE(eval("data.currency", "contains", "SD"));
  EXPECT_TRUE(eval("data.currency", "contains", "USD"));
  EXPECT_FALSE(eval("data.currency", "contains", "USDT"));
  EXPECT_FALSE(eval("data.currency", "contains", "sd"));
  EXPECT_TRUE(eval("source", "contains", "po"));
}

TEST(ConditionMatch, GroupsNest) {
  const json vip_or_euro = {
      {"any", {leaf("data.currency", "==", "EUR"), leaf("data.vip", "==", true)}}};
  EXPECT_TRUE(eval({{"all", {leaf("data.amount", ">", 50), vip_or_euro}}}));
  EXPECT_FALSE(eval({{"all", {leaf("data.amount", ">", 100), vip_or_euro}}}));
  EXPECT_FALSE(eval({{"any", {leaf("data.amount", ">", 100), leaf("data.vip", "==", false)}}}));
  EXPECT_TRUE(eval({{"any", {leaf("data.amount", ">", 100), leaf("data.vip", "==", true)}}}));
  json not_vip = event();
  not_vip["data"]["vip"] = false;
  EXPECT_FALSE(eval({{"all", {leaf("data.amount", ">", 50), vip_or_euro}}}, not_vip));
  EXPECT_TRUE(matches(Condition{}, event()));  // no conditions
  EXPECT_TRUE(matches(Condition{}, json::object()));
}

TEST(ConditionMatch, NonObjectEventsMatchNothingButExistsFalse) {
  EXPECT_FALSE(eval(leaf("type", "==", "purchase"), json("purchase")));
  EXPECT_FALSE(eval(leaf("type", "!=", "x"), json::array()));
  EXPECT_TRUE(eval(leaf("type", "exists", false), json(nullptr)));
}

TEST(ConditionMatch, AllocatesNothing) {
  const json spec = {{"all",
                      {leaf("data.amount", ">=", 20),
                       leaf("data.items.1.sku", "==", "SKU-2"),
                       {{"any",
                         {leaf("data.currency", "in", json::array({"EUR", "USD"})),
                          leaf("data.store.city", "contains", "air")}}},
                       leaf("data.nope", "exists", false),
                       leaf("time", "<", "2027")}}};
  std::vector<FieldError> errors;
  const auto c = compile_condition(spec, &errors);
  ASSERT_TRUE(c.has_value());
  const json& e = event();
  const long before = allocations.load();
  bool all = true;
  for (int i = 0; i < 1000; ++i) all = matches(*c, e) && all;
  EXPECT_EQ(allocations.load(), before);
  EXPECT_TRUE(all);
}

// --- validation ---

TEST(ConditionCheck, UnknownOperator) {
  EXPECT_EQ(
      error(leaf("data.amount", "~=", 1)),
      R"(conditions.op: unknown operator "~=" (one of ==, !=, <, <=, >, >=, in, exists, contains))");
  EXPECT_EQ(fields(leaf("data.amount", "", 1)), Fields{"conditions.op"});
  EXPECT_EQ(fields({{"field", "data.amount"}, {"op", 5}, {"value", 1}}), Fields{"conditions.op"});
  EXPECT_EQ(fields({{"field", "data.amount"}, {"value", 1}}), Fields{"conditions.op"});
  EXPECT_EQ(error(leaf("data.amount", std::string(40, '='), 1)),
            "conditions.op: unknown operator (one of ==, !=, <, <=, >, >=, in, exists, contains)");
}

TEST(ConditionCheck, MalformedPaths) {
  EXPECT_EQ(error(leaf("data..amount", "==", 1)),
            R"(conditions.field: malformed field path "data..amount" (an empty segment))");
  EXPECT_EQ(error(leaf("payload.amount", "==", 1)),
            R"(conditions.field: malformed field path "payload.amount" (the first segment is )"
            "one of id, source, type, subject, time, data)");
  for (const std::string path :
       {"", "data.", ".data", "data.am ount", "data.amount$", "data/amount", "Data.amount",
        "data.\u00e9", "specversion", "data.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p"}) {
    const std::string e = error(leaf(path, "==", 1));
    EXPECT_EQ(e.rfind("conditions.field: malformed field path", 0), 0u) << path << " " << e;
  }
  EXPECT_EQ(error(leaf("data." + std::string(252, 'a'), "==", 1)),
            "conditions.field: malformed field path (longer than 256 bytes)");
  EXPECT_TRUE(fields(leaf("data." + std::string(251, 'a'), "==", 1)).empty());
  EXPECT_TRUE(fields(leaf("data.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o", "==", 1)).empty());  // 16
  EXPECT_TRUE(fields(leaf("data", "exists", true)).empty());
  EXPECT_TRUE(fields(leaf("data.Item_9-x.0.123", "exists", true)).empty());
  EXPECT_EQ(fields({{"field", 7}, {"op", "=="}, {"value", 1}}), Fields{"conditions.field"});
  EXPECT_EQ(fields({{"op", "=="}, {"value", 1}}), Fields{"conditions.field"});
}

TEST(ConditionCheck, ValuesOfTheWrongType) {
  EXPECT_EQ(error(leaf("data.a", "<", true)),
            "conditions.value: must be a number or a string for <");
  EXPECT_EQ(error(leaf("data.a", ">=", nullptr)),
            "conditions.value: must be a number or a string for >=");
  EXPECT_EQ(error(leaf("data.a", "contains", 5)),
            "conditions.value: must be a non-empty string for contains");
  EXPECT_EQ(fields(leaf("data.a", "contains", "")), Fields{"conditions.value"});
  EXPECT_EQ(error(leaf("data.a", "==", json::array({1}))),
            "conditions.value: must be a string, number, boolean or null");
  EXPECT_EQ(fields(leaf("data.a", "!=", {{"x", 1}})), Fields{"conditions.value"});
  EXPECT_EQ(error(leaf("data.a", "exists", "yes")),
            "conditions.value: must be a boolean for exists");
  EXPECT_EQ(error({{"field", "data.a"}, {"op", "=="}}), "conditions.value: is required for ==");
  EXPECT_EQ(error(leaf("data.a", "==", std::string(1025, 'x'))),
            "conditions.value: is longer than 1,024 bytes");
  EXPECT_TRUE(fields(leaf("data.a", "==", std::string(1024, 'x'))).empty());
}

TEST(ConditionCheck, InNeedsANonEmptyArrayOfScalars) {
  const std::string message =
      "conditions.value: must be an array of 1 to 1,000 values for in, each a string, number, "
      "boolean or null";
  EXPECT_EQ(error(leaf("data.a", "in", "USD")), message);
  EXPECT_EQ(error(leaf("data.a", "in", json::array())), message);
  EXPECT_EQ(error(leaf("data.a", "in", json(std::vector<int>(1001, 1)))), message);
  EXPECT_TRUE(fields(leaf("data.a", "in", json(std::vector<int>(1000, 1)))).empty());
  EXPECT_EQ(fields(leaf("data.a", "in", json::array({1, json::array({2}), "x", {{"y", 1}}}))),
            (Fields{"conditions.value[1]", "conditions.value[3]"}));
  EXPECT_EQ(
      check_condition(leaf("data.a", "in", json(std::vector<json>(50, json::array())))).size(),
      10u);  // listed up to ten
}

TEST(ConditionCheck, LeavesHaveNoOtherKeys) {
  json spec = leaf("data.a", "==", 1);
  spec["note"] = "x";
  EXPECT_EQ(error(spec), "conditions.note: is not a condition key (field, op, value)");
  EXPECT_EQ(fields("data.a == 1"), Fields{"conditions"});
  EXPECT_EQ(fields(json::array()), Fields{"conditions"});
  EXPECT_EQ(fields(json::object()), (Fields{"conditions.field", "conditions.op"}));
}

TEST(ConditionCheck, EveryProblemOfALeafIsReported) {
  EXPECT_EQ(fields({{"field", "x..y"}, {"op", "~"}, {"value", 1}, {"extra", 1}}),
            (Fields{"conditions.extra", "conditions.field", "conditions.op"}));
}

TEST(ConditionCheck, GroupsHoldOneToFiftyConditions) {
  EXPECT_EQ(error({{"all", json::array()}}),
            "conditions.all: must be an array of 1 to 50 conditions");
  EXPECT_EQ(fields({{"any", json::array()}}), Fields{"conditions.any"});
  EXPECT_EQ(fields({{"all", leaf("data.a", "==", 1)}}), Fields{"conditions.all"});
  EXPECT_EQ(fields({{"all", std::vector<json>(51, leaf("data.a", "==", 1))}}),
            Fields{"conditions.all"});
  EXPECT_TRUE(fields({{"all", std::vector<json>(50, leaf("data.a", "==", 1))}}).empty());
  EXPECT_EQ(error({{"all", {leaf("data.a", "==", 1)}}, {"any", {leaf("data.a", "==", 1)}}}),
            "conditions: a group has exactly one key, all or any");
}

TEST(ConditionCheck, NestedProblemsAreNamedByTheirPlace) {
  const json spec = {
      {"all",
       {leaf("data.a", "~=", 1), {{"any", {leaf("data.b", "==", 1), leaf("bad", "==", 1)}}}}}};
  EXPECT_EQ(fields(spec), (Fields{"conditions.all[0].op", "conditions.all[1].any[1].field"}));
  EXPECT_EQ(check_condition(spec, "action.when")[0].field, "action.when.all[0].op");
}

TEST(ConditionCheck, GroupsNestAtMostEightDeep) {
  json spec = leaf("data.a", "==", 1);
  for (int i = 0; i < 8; ++i) spec = {{i % 2 ? "all" : "any", {spec}}};
  EXPECT_TRUE(fields(spec).empty());
  EXPECT_TRUE(eval(spec, {{"data", {{"a", 1}}}}));
  spec = {{"all", {spec}}};
  EXPECT_EQ(error(spec),
            "conditions.all[0].all[0].any[0].all[0].any[0].all[0].any[0].all[0]: groups nest "
            "more than 8 deep");
}

TEST(ConditionCheck, CompileFailsWithTheErrorsAppended) {
  std::vector<FieldError> errors = {{"name", "earlier"}};
  EXPECT_FALSE(compile_condition(leaf("data.a", "~=", 1), &errors).has_value());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[1].field, "conditions.op");
  EXPECT_TRUE(compile_condition(leaf("data.a", "==", 1), &errors).has_value());
  EXPECT_EQ(errors.size(), 2u);
}

// --- canonical form ---

TEST(ConditionJson, CanonicalFormRoundTrips) {
  const json spec = {{"any",
                      {leaf("data.amount", ">", 50),
                       leaf("data.price", "<=", 9.75),
                       leaf("data.neg", "==", -3),
                       leaf("data.coupon", "==", nullptr),
                       leaf("data.vip", "!=", false),
                       leaf("time", ">=", "2026-01-01"),
                       leaf("data.currency", "in", json::array({"USD", 1, 2.5, true, nullptr})),
                       leaf("data.x", "exists", false),
                       leaf("source", "contains", "po"),
                       {{"all", {leaf("data.items.0.sku", "==", "SKU-1")}}}}}};
  std::vector<FieldError> errors;
  auto c = compile_condition(spec, &errors);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(to_json(*c), spec);
  EXPECT_EQ(to_json(*c).dump(), spec.dump());  // 50 stays 50, 9.75 stays 9.75
  auto again = compile_condition(to_json(*c), &errors);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(to_json(*again), spec);
}

TEST(ConditionJson, ExistsSpellsOutItsValue) {
  std::vector<FieldError> errors;
  auto c = compile_condition({{"field", "data.a"}, {"op", "exists"}}, &errors);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(to_json(*c), leaf("data.a", "exists", true));
  EXPECT_EQ(to_json(Condition{}), json({{"all", json::array()}}));
}

}  // namespace
