// Customer records of an audience: their checks, patches and CSV uploads
// (phases/audience/customer_record.h, customer_csv.h).
#include "phases/audience/customer_record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "phases/audience/customer_csv.h"

namespace {

using nlohmann::json;
using orch::phases::FieldError;
using namespace orch::phases::audience;

json alice() {
  return {{"id", "cust-001"},
          {"phone", "+254712345001"},
          {"first_name", "Alice"},
          {"last_name", "Wanjiru"},
          {"location", "Nairobi"},
          {"preferred_product", "Shoes"},
          {"email", "alice@example.co.ke"},
          {"timezone", "Africa/Nairobi"},
          {"attributes", {{"tier", "gold"}, {"visits", 12}, {"vip", true}}}};
}

// The fields named in `errors`, in order.
std::vector<std::string> fields(const std::vector<FieldError>& errors) {
  std::vector<std::string> names;
  for (const FieldError& e : errors) names.push_back(e.field);
  return names;
}

std::vector<std::string> create_errors(const json& body) {
  return fields(check_customer(body, CustomerCheck::create));
}

std::vector<std::string> patch_errors(const json& body) {
  return fields(check_customer(body, CustomerCheck::patch));
}

json with(json customer, const std::string& key, json value) {
  customer[key] = std::move(value);
  return customer;
}

using Fields = std::vector<std::string>;

// --- E.164 ---

TEST(E164, AcceptsPlusAndTwoToFifteenDigits) {
  EXPECT_TRUE(valid_e164("+254712345001"));
  EXPECT_TRUE(valid_e164("+12"));
  EXPECT_TRUE(valid_e164("+123456789012345"));
  EXPECT_TRUE(valid_e164("+14155550123"));
}

TEST(E164, RefusesEverythingElse) {
  for (const char* bad :
       {"254712345001", "+0123", "+1", "+1234567890123456", "+12 34", "", "+", "++254712345001",
        "+25471234500a", "+254-712-345", " +254712345", "+254712345001 ", "+２５４"})
    EXPECT_FALSE(valid_e164(bad)) << bad;
}

// --- email ---

TEST(Email, PlausibleAddresses) {
  EXPECT_TRUE(valid_email("alice@example.com"));
  EXPECT_TRUE(valid_email("a.b+tag@mail.example.co.ke"));
  for (const char* bad :
       {"", "alice", "@example.com", "alice@", "alice@localhost", "a@b@c.com", "alice@.com",
        "alice@example.", "alice@exa..mple.com", "al ice@example.com", "alice@example.com\n"})
    EXPECT_FALSE(valid_email(bad)) << bad;
  EXPECT_TRUE(valid_email(std::string(64, 'a') + "@" + std::string(185, 'b') + ".com"));  // 254
  EXPECT_FALSE(valid_email(std::string(64, 'a') + "@" + std::string(186, 'b') + ".com"));
}

// --- check_customer, create ---

TEST(CheckCustomer, AFullRecordAndAMinimalOneAreValid) {
  EXPECT_EQ(create_errors(alice()), Fields{});
  EXPECT_EQ(create_errors({{"id", "u1"}, {"phone", "+254712345001"}}), Fields{});
}

TEST(CheckCustomer, IdAndPhoneAreRequired) {
  EXPECT_EQ(create_errors(json::object()), (Fields{"id", "phone"}));
  json no_phone = alice();
  no_phone.erase("phone");
  EXPECT_EQ(create_errors(no_phone), Fields{"phone"});
}

TEST(CheckCustomer, NotAnObject) {
  EXPECT_EQ(create_errors(json::array()), Fields{""});
  EXPECT_EQ(create_errors("cust-001"), Fields{""});
  EXPECT_EQ(patch_errors(nullptr), Fields{""});
}

TEST(CheckCustomer, IdIsAUserId) {
  EXPECT_EQ(create_errors(with(alice(), "id", "a.b_c-d@e+f")), Fields{});
  EXPECT_EQ(create_errors(with(alice(), "id", std::string(128, 'x'))), Fields{});
  for (json bad : {json(""), json("has space"), json("slash/no"), json(std::string(129, 'x')),
                   json(42), json(nullptr)})
    EXPECT_EQ(create_errors(with(alice(), "id", bad)), Fields{"id"}) << bad;
}

TEST(CheckCustomer, PhoneMustBeE164) {
  for (json bad : {json("254712345001"), json("+0123"), json(254712345001), json(nullptr)})
    EXPECT_EQ(create_errors(with(alice(), "phone", bad)), Fields{"phone"}) << bad;
}

TEST(CheckCustomer, TextFieldsAreShortStrings) {
  for (const char* field : {"first_name", "last_name", "location", "preferred_product"}) {
    EXPECT_EQ(create_errors(with(alice(), field, "")), Fields{}) << field;
    EXPECT_EQ(create_errors(with(alice(), field, std::string(256, 'x'))), Fields{}) << field;
    EXPECT_EQ(create_errors(with(alice(), field, std::string(257, 'x'))), Fields{field});
    EXPECT_EQ(create_errors(with(alice(), field, 7)), Fields{field});
    EXPECT_EQ(create_errors(with(alice(), field, nullptr)), Fields{field});
    EXPECT_EQ(create_errors(with(alice(), field, json::array({"x"}))), Fields{field});
    // Built from bytes (as a CSV upload is), not parsed: not UTF-8.
    EXPECT_EQ(create_errors(with(alice(), field, std::string("Ren\xE9"))), Fields{field});
  }
  EXPECT_EQ(create_errors(with(alice(), "first_name", "Zoë 李")), Fields{});
}

TEST(CheckCustomer, EmailMustBePlausible) {
  for (json bad : {json("alice"), json(""), json("a@b"), json(3)})
    EXPECT_EQ(create_errors(with(alice(), "email", bad)), Fields{"email"}) << bad;
}

TEST(CheckCustomer, TimezoneMustBeKnown) {
  EXPECT_EQ(create_errors(with(alice(), "timezone", "America/New_York")), Fields{});
  EXPECT_EQ(create_errors(with(alice(), "timezone", "UTC")), Fields{});
  for (json bad : {json("Mars/Olympus_Mons"), json(""), json(3)})
    EXPECT_EQ(create_errors(with(alice(), "timezone", bad)), Fields{"timezone"}) << bad;
}

TEST(CheckCustomer, AttributesAreAFlatObjectOfScalars) {
  EXPECT_EQ(create_errors(with(alice(), "attributes", json::object())), Fields{});
  EXPECT_EQ(create_errors(with(alice(), "attributes", json::array())), Fields{"attributes"});
  EXPECT_EQ(create_errors(with(alice(), "attributes", "gold")), Fields{"attributes"});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{"nested", {{"a", 1}}}})),
            Fields{"attributes.nested"});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{"list", {1, 2}}})),
            Fields{"attributes.list"});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{"gone", nullptr}})),
            Fields{"attributes.gone"});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{"note", std::string(257, 'x')}})),
            Fields{"attributes.note"});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{"score", 2.5}, {"n", -3}})), Fields{});
}

TEST(CheckCustomer, AttributeKeysAreOneTo64Bytes) {
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{std::string(64, 'k'), "v"}})), Fields{});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{std::string(65, 'k'), "v"}})),
            Fields{"attributes." + std::string(65, 'k')});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{"", "v"}})), Fields{"attributes."});
  EXPECT_EQ(create_errors(with(alice(), "attributes", {{std::string("k\xFF"), "v"}})),
            Fields{"attributes"});
}

TEST(CheckCustomer, AtMost50Attributes) {
  json attributes = json::object();
  for (int i = 0; i < 50; ++i) attributes["a" + std::to_string(i)] = i;
  EXPECT_EQ(create_errors(with(alice(), "attributes", attributes)), Fields{});
  attributes["one_more"] = 1;
  EXPECT_EQ(create_errors(with(alice(), "attributes", attributes)), Fields{"attributes"});
}

TEST(CheckCustomer, UnknownFieldsAreRefused) {
  EXPECT_EQ(create_errors(with(alice(), "nickname", "Al")), Fields{"nickname"});
  EXPECT_EQ(create_errors(with(alice(), "First_Name", "Al")), Fields{"First_Name"});
  EXPECT_EQ(patch_errors({{"tier", "gold"}}), Fields{"tier"});
}

TEST(CheckCustomer, EveryProblemIsReported) {
  const json body = {{"id", ""}, {"phone", "0712"}, {"email", "x"}, {"extra", 1}};
  EXPECT_EQ(create_errors(body), (Fields{"email", "extra", "id", "phone"}));
  for (const FieldError& e : check_customer(body, CustomerCheck::create))
    EXPECT_FALSE(e.message.empty()) << e.field;
}

// --- check_customer, patch ---

TEST(CheckPatch, EveryFieldIsOptional) {
  EXPECT_EQ(patch_errors(json::object()), Fields{});
  EXPECT_EQ(patch_errors({{"first_name", "Alicia"}}), Fields{});
  EXPECT_EQ(patch_errors({{"phone", "+254712345002"}, {"attributes", {{"tier", "silver"}}}}),
            Fields{});
}

TEST(CheckPatch, TheIdCannotBeChanged) {
  EXPECT_EQ(patch_errors({{"id", "cust-002"}}), Fields{"id"});
  EXPECT_EQ(patch_errors({{"id", "cust-001"}}), Fields{"id"});
  EXPECT_EQ(patch_errors({{"id", nullptr}}), Fields{"id"});
}

TEST(CheckPatch, NullRemovesOptionalFieldsButNotThePhone) {
  EXPECT_EQ(patch_errors({{"first_name", nullptr},
                          {"last_name", nullptr},
                          {"location", nullptr},
                          {"preferred_product", nullptr},
                          {"email", nullptr},
                          {"timezone", nullptr},
                          {"attributes", nullptr}}),
            Fields{});
  EXPECT_EQ(patch_errors({{"attributes", {{"tier", nullptr}}}}), Fields{});
  EXPECT_EQ(patch_errors({{"phone", nullptr}}), Fields{"phone"});
  EXPECT_EQ(patch_errors({{"nickname", nullptr}}), Fields{"nickname"});
}

TEST(CheckPatch, ValuesAreCheckedAsInACreate) {
  EXPECT_EQ(patch_errors({{"phone", "0712"}}), Fields{"phone"});
  EXPECT_EQ(patch_errors({{"email", "nope"}}), Fields{"email"});
  EXPECT_EQ(patch_errors({{"timezone", "Nowhere/Land"}}), Fields{"timezone"});
  EXPECT_EQ(patch_errors({{"location", std::string(300, 'x')}}), Fields{"location"});
  EXPECT_EQ(patch_errors({{"attributes", {{"deep", json::object()}}}}), Fields{"attributes.deep"});
}

// --- apply_patch ---

TEST(ApplyPatch, SetsReplacesAndRemoves) {
  const json patched =
      apply_patch(alice(), {{"first_name", "Alicia"}, {"email", nullptr}, {"location", "Mombasa"}});
  EXPECT_EQ(patched["first_name"], "Alicia");
  EXPECT_EQ(patched["location"], "Mombasa");
  EXPECT_FALSE(patched.contains("email"));
  EXPECT_EQ(patched["id"], "cust-001");
  EXPECT_EQ(patched["phone"], "+254712345001");
  EXPECT_EQ(patched["attributes"], alice()["attributes"]);
}

TEST(ApplyPatch, AnEmptyPatchChangesNothing) {
  EXPECT_EQ(apply_patch(alice(), json::object()), alice());
}

TEST(ApplyPatch, AttributesAreMergedKeyByKey) {
  const json patched = apply_patch(
      alice(), {{"attributes", {{"tier", "platinum"}, {"visits", nullptr}, {"referrals", 3}}}});
  EXPECT_EQ(patched["attributes"], (json{{"tier", "platinum"}, {"vip", true}, {"referrals", 3}}));
}

TEST(ApplyPatch, AttributesAddedToACustomerWithoutAny) {
  const json plain = {{"id", "u1"}, {"phone", "+12"}};
  EXPECT_EQ(apply_patch(plain, {{"attributes", {{"tier", "gold"}}}})["attributes"],
            (json{{"tier", "gold"}}));
  // Removing a key that is not there leaves no empty object behind.
  EXPECT_EQ(apply_patch(plain, {{"attributes", {{"tier", nullptr}}}}), plain);
}

TEST(ApplyPatch, NullAttributesRemovesThemAll) {
  EXPECT_FALSE(apply_patch(alice(), {{"attributes", nullptr}}).contains("attributes"));
  EXPECT_FALSE(apply_patch(alice(), {{"attributes",
                                      {{"tier", nullptr}, {"visits", nullptr}, {"vip", nullptr}}}})
                   .contains("attributes"));
}

TEST(ApplyPatch, TheResultCheckedAsAWholeCatchesTheAttributeLimit) {
  json customer = alice();
  customer["attributes"] = json::object();
  for (int i = 0; i < 50; ++i) customer["attributes"]["a" + std::to_string(i)] = i;
  const json patch = {{"attributes", {{"one_more", 1}}}};
  ASSERT_EQ(patch_errors(patch), Fields{});
  EXPECT_EQ(create_errors(apply_patch(customer, patch)), Fields{"attributes"});
}

// --- customer_field ---

TEST(CustomerField, TextOfFieldsAndAttributes) {
  const json c = alice();
  EXPECT_EQ(customer_field(c, "first_name"), "Alice");
  EXPECT_EQ(customer_field(c, "phone"), "+254712345001");
  EXPECT_EQ(customer_field(c, "id"), "cust-001");
  EXPECT_EQ(customer_field(c, "attributes.tier"), "gold");
  EXPECT_EQ(customer_field(c, "attributes.visits"), "12");
  EXPECT_EQ(customer_field(c, "attributes.vip"), "true");
  EXPECT_EQ(customer_field(with(c, "attributes", {{"score", 2.5}}), "attributes.score"), "2.5");
}

TEST(CustomerField, AbsentIsEmpty) {
  const json c = {{"id", "u1"}, {"phone", "+12"}};
  EXPECT_EQ(customer_field(c, "first_name"), "");
  EXPECT_EQ(customer_field(c, "attributes.tier"), "");
  EXPECT_EQ(customer_field(alice(), "attributes.nothing"), "");
  EXPECT_EQ(customer_field(alice(), "attributes."), "");
  EXPECT_EQ(customer_field(alice(), "nickname"), "");
  EXPECT_EQ(customer_field(json::array(), "first_name"), "");
}

// --- CSV ---

std::vector<CsvRow> parse(std::string_view text) {
  std::string file_error;
  std::vector<CsvRow> rows = parse_customer_csv(text, &file_error);
  EXPECT_EQ(file_error, "") << text;
  return rows;
}

std::string file_error_of(std::string_view text) {
  std::string file_error;
  EXPECT_TRUE(parse_customer_csv(text, &file_error).empty());
  return file_error;
}

TEST(CustomerCsv, HeaderAndRows) {
  const auto rows = parse(
      "id,phone,first_name,last_name,location,preferred_product,email,timezone\n"
      "cust-001,+254712345001,Alice,Wanjiru,Nairobi,Shoes,alice@example.co.ke,Africa/Nairobi\n"
      "cust-002,+254712345002,Bob,,,,,\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[0].error, "");
  json expected = alice();
  expected.erase("attributes");
  EXPECT_EQ(rows[0].customer, expected);
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[1].customer,
            (json{{"id", "cust-002"}, {"phone", "+254712345002"}, {"first_name", "Bob"}}));
}

TEST(CustomerCsv, NoTrailingNewline) {
  const auto rows = parse("id,phone\nu1,+12");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].customer, (json{{"id", "u1"}, {"phone", "+12"}}));
}

TEST(CustomerCsv, CrlfAndBom) {
  const auto rows = parse("\xEF\xBB\xBFid,phone,first_name\r\nu1,+12,Ann\r\nu2,+13,Ben\r\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].customer, (json{{"id", "u1"}, {"phone", "+12"}, {"first_name", "Ann"}}));
  EXPECT_EQ(rows[1].customer["first_name"], "Ben");
  EXPECT_EQ(rows[1].line, 3u);
}

TEST(CustomerCsv, QuotedFields) {
  const auto rows = parse(
      "id,phone,first_name,location\n"
      "\"u1\",\"+12\",\"Ann \"\"Nan\"\" Lee\",\"Nairobi, Kenya\"\n"
      "u2,+13,\"\",\"two\r\nlines\"\n"
      "u3,+14,Cy,\"a\nb\nc\"\n"
      "u4,+15,Di,Eldoret\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].customer["first_name"], "Ann \"Nan\" Lee");
  EXPECT_EQ(rows[0].customer["location"], "Nairobi, Kenya");
  EXPECT_FALSE(rows[1].customer.contains("first_name"));  // "" is an empty cell
  EXPECT_EQ(rows[1].customer["location"], "two\r\nlines");
  EXPECT_EQ(rows[2].customer["location"], "a\nb\nc");
  // Lines count the breaks inside quotes.
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[2].line, 5u);
  EXPECT_EQ(rows[3].line, 8u);
  for (const CsvRow& row : rows) EXPECT_EQ(row.error, "") << row.line;
}

TEST(CustomerCsv, EmptyLinesAreSkipped) {
  const auto rows = parse("\nid,phone\n\nu1,+12\r\n\r\n\nu2,+13\n\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 4u);
  EXPECT_EQ(rows[1].line, 7u);
}

TEST(CustomerCsv, OtherColumnsAreAttributes) {
  const auto rows = parse(" ID , Phone ,Tier,loyalty_points\nu1,+12,gold,120\nu2,+13,,\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].customer,
            (json{{"id", "u1"},
                  {"phone", "+12"},
                  {"attributes", {{"Tier", "gold"}, {"loyalty_points", "120"}}}}));
  EXPECT_FALSE(rows[1].customer.contains("attributes"));
}

TEST(CustomerCsv, BadRowsAmongGoodOnesKeepTheirLines) {
  const auto rows = parse(
      "id,phone,first_name\n"
      "u1,+12,Ann\n"
      "u2,+13,Be\"n\n"     // a quote inside an unquoted field
      "u3,+14,\"Cy\"x\n"   // text after a closing quote
      "u4,+15\n"           // too few cells
      "u5,+16,Di,extra\n"  // too many
      "u6,0712,Ed\n"       // not E.164
      "u7,+17,Flo\n");
  ASSERT_EQ(rows.size(), 7u);
  const std::vector<std::size_t> lines = {2, 3, 4, 5, 6, 7, 8};
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].line, lines[i]);
  EXPECT_EQ(rows[0].error, "");
  EXPECT_NE(rows[1].error.find("quote"), std::string::npos) << rows[1].error;
  EXPECT_NE(rows[2].error.find("closing quote"), std::string::npos) << rows[2].error;
  EXPECT_EQ(rows[3].error, "has 2 cells, the header 3");
  EXPECT_EQ(rows[4].error, "has 4 cells, the header 3");
  EXPECT_EQ(rows[5].error.rfind("phone ", 0), 0u) << rows[5].error;
  EXPECT_EQ(rows[5].customer["id"], "u6");  // kept for the report
  EXPECT_EQ(rows[6].error, "");
  EXPECT_EQ(rows[6].customer["first_name"], "Flo");
}

TEST(CustomerCsv, AnUnclosedQuoteSpoilsOnlyItsLine) {
  const auto rows = parse("id,phone,first_name\nu1,+12,\"Ann\nu2,+13,Ben\nu3,+14,Cy\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_NE(rows[0].error.find("not closed"), std::string::npos) << rows[0].error;
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[1].error, "");
  EXPECT_EQ(rows[1].customer["first_name"], "Ben");
  EXPECT_EQ(rows[2].error, "");
}

TEST(CustomerCsv, RowsAreCheckedAsCustomers) {
  const auto rows = parse(
      "id,phone,email,timezone\n"
      "u1,+12,not-an-email,Nowhere/Land\n"
      ",+13,,\n"
      "bad id,+14,,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_NE(rows[0].error.find("email"), std::string::npos);
  EXPECT_NE(rows[0].error.find("timezone"), std::string::npos);
  EXPECT_EQ(rows[1].error, "id is required");
  EXPECT_EQ(rows[2].error.rfind("id ", 0), 0u);
}

TEST(CustomerCsv, TextThatIsNotUtf8IsARowError) {
  const auto rows = parse("id,phone,first_name\nu1,+12,Ren\xE9\nu2,+13,Zo\xC3\xAB\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].error.rfind("first_name ", 0), 0u) << rows[0].error;
  EXPECT_EQ(rows[1].error, "");
  EXPECT_EQ(rows[1].customer["first_name"], "Zoë");
}

TEST(CustomerCsv, AHeaderOnlyFileHasNoRows) {
  EXPECT_TRUE(parse("id,phone\n").empty());
  EXPECT_TRUE(parse("id,phone").empty());
}

TEST(CustomerCsv, FileErrors) {
  EXPECT_EQ(file_error_of(""), "no header row");
  EXPECT_EQ(file_error_of("\xEF\xBB\xBF\n\r\n"), "no header row");
  EXPECT_EQ(file_error_of("id,first_name\nu1,Ann\n"), "the header has no phone column");
  EXPECT_EQ(file_error_of("phone\n+12\n"), "the header has no id column");
  EXPECT_EQ(file_error_of("id,phone,Phone\n"), "column 3: phone appears twice");
  EXPECT_EQ(file_error_of("id,phone,tier,tier\n"), "column 4: tier appears twice");
  EXPECT_EQ(file_error_of("id,phone,\n"), "column 3 has no name");
  EXPECT_EQ(file_error_of("id,phone,\"tier\n"), "header: a quoted field is not closed");
  EXPECT_NE(file_error_of("id,phone," + std::string(65, 'a') + "\n").find("1 to 64"),
            std::string::npos);
}

TEST(CustomerCsv, AtMost50AttributeColumns) {
  std::string header = "id,phone";
  for (int i = 0; i < 50; ++i) header += ",a" + std::to_string(i);
  EXPECT_TRUE(parse(header + "\n").empty());
  EXPECT_EQ(file_error_of(header + ",one_more\n"), "at most 50 attribute columns");
}

TEST(CustomerCsv, AtMost10000Rows) {
  std::string text = "id,phone\n";
  for (int i = 0; i < 10'000; ++i) text += "u" + std::to_string(i) + ",+254712345001\n";
  EXPECT_EQ(parse(text).size(), 10'000u);
  text += "one_more,+12\n";
  EXPECT_EQ(file_error_of(text), "more than 10000 rows");
}

TEST(CustomerCsv, TheFileErrorIsClearedOnSuccess) {
  std::string file_error = "left over";
  EXPECT_EQ(parse_customer_csv("id,phone\nu1,+12\n", &file_error).size(), 1u);
  EXPECT_EQ(file_error, "");
}

}  // namespace
