// Per-recipient message templates (phases/audience/message_template.h).
#include "phases/audience/message_template.h"

#include <gtest/gtest.h>

#include <string>

#include "phases/audience/customer_record.h"

namespace {

using nlohmann::json;
using namespace orch::phases::audience;
using Names = std::vector<std::string>;

TemplateError error_of(std::string_view text) {
  TemplateError error;
  EXPECT_FALSE(check_template(text, &error)) << text;
  return error;
}

// --- rendering ---

TEST(RenderTemplate, TheSeedExample) {
  EXPECT_EQ(render_template("Hi {first_name}, check {preferred_product}!",
                            {{"first_name", "Alice"}, {"preferred_product", "Shoes"}}),
            "Hi Alice, check Shoes!");
}

TEST(RenderTemplate, AMissingFieldIsEmpty) {
  EXPECT_EQ(render_template("Hi {first_name}, check {preferred_product}!", {{"first_name", "Al"}}),
            "Hi Al, check !");
  EXPECT_EQ(render_template("Hi {first_name}!", json::object()), "Hi !");
  EXPECT_EQ(render_template("Hi {first_name}!", {{"first_name", nullptr}}), "Hi !");
}

TEST(RenderTemplate, TheDefaultStandsInForAnAbsentOrEmptyField) {
  const std::string text = "Hi {first_name|there}, see {location|our stores}";
  EXPECT_EQ(render_template(text, json::object()), "Hi there, see our stores");
  EXPECT_EQ(render_template(text, {{"first_name", ""}, {"location", ""}}),
            "Hi there, see our stores");
  EXPECT_EQ(render_template(text, {{"first_name", "Bo"}, {"location", "Nakuru"}}),
            "Hi Bo, see Nakuru");
  // A space is data, not absence.
  EXPECT_EQ(render_template("[{first_name|x}]", {{"first_name", " "}}), "[ ]");
  EXPECT_EQ(render_template("Hi {first_name|}!", json::object()), "Hi !");
}

TEST(RenderTemplate, DefaultsMayHoldSpacesPunctuationAndBars) {
  EXPECT_EQ(render_template("{first_name|dear friend, and|or family}!", json::object()),
            "dear friend, and|or family!");
}

TEST(RenderTemplate, EveryFieldPlaceholder) {
  const json c = {{"id", "cust-001"},
                  {"phone", "+254712345001"},
                  {"first_name", "Alice"},
                  {"last_name", "Wanjiru"},
                  {"location", "Nairobi"},
                  {"preferred_product", "Shoes"},
                  {"email", "alice@example.co.ke"}};
  EXPECT_EQ(render_template("{first_name} {last_name} ({email}, {phone}) in {location}: "
                            "{preferred_product}",
                            c),
            "Alice Wanjiru (alice@example.co.ke, +254712345001) in Nairobi: Shoes");
}

TEST(RenderTemplate, Attributes) {
  const json c = {{"attributes",
                   {{"tier", "gold"}, {"points", 120}, {"vip", true}, {"ratio", 0.5}, {"e", ""}}}};
  EXPECT_EQ(render_template("{attributes.tier}/{attributes.points}/{attributes.vip}/"
                            "{attributes.ratio}",
                            c),
            "gold/120/true/0.5");
  EXPECT_EQ(render_template("[{attributes.missing|none}][{attributes.e|blank}][{attributes.x}]", c),
            "[none][blank][]");
  EXPECT_EQ(render_template("{attributes.tier|member}", json::object()), "member");
}

TEST(RenderTemplate, DoubledBracesAreLiteral) {
  EXPECT_EQ(render_template("{{first_name}} is {first_name}", {{"first_name", "Al"}}),
            "{first_name} is Al");
  EXPECT_EQ(render_template("a }} b {{ c", json::object()), "a } b { c");
  EXPECT_EQ(render_template("{{{first_name}}}", {{"first_name", "Al"}}), "{Al}");
}

TEST(RenderTemplate, PlainTextAndUtf8PassThrough) {
  EXPECT_EQ(render_template("Habari! 50% off — leo tu.", json::object()),
            "Habari! 50% off — leo tu.");
  EXPECT_EQ(render_template("{first_name} 👋", {{"first_name", "Zoë"}}), "Zoë 👋");
}

TEST(RenderTemplate, AnInvalidTemplateIsReturnedAsItIs) {
  EXPECT_EQ(render_template("Hi {nickname}", {{"nickname", "Al"}}), "Hi {nickname}");
  EXPECT_EQ(render_template("Hi {first_name", {{"first_name", "Al"}}), "Hi {first_name");
}

TEST(RenderTemplate, ReadsWhatCustomerFieldReads) {
  const json c = {{"first_name", "Alice"}, {"attributes", {{"n", 3}, {"ok", false}}}};
  for (const char* name : {"first_name", "attributes.n", "attributes.ok", "location"})
    EXPECT_EQ(render_template(std::string("{") + name + "}", c), customer_field(c, name)) << name;
}

// --- MessageTemplate ---

TEST(MessageTemplate, CompiledOnceRenderedForMany) {
  TemplateError error;
  const auto compiled = MessageTemplate::compile("Hi {first_name|there}, {{promo}}", &error);
  ASSERT_TRUE(compiled.has_value());
  EXPECT_EQ(compiled->render({{"first_name", "Ann"}}), "Hi Ann, {promo}");
  EXPECT_EQ(compiled->render({{"first_name", "Ben"}}), "Hi Ben, {promo}");
  EXPECT_EQ(compiled->render(json::object()), "Hi there, {promo}");
  EXPECT_EQ(compiled->render(json::array()), "Hi there, {promo}");
  EXPECT_EQ(compiled->placeholders(), Names{"first_name"});
}

TEST(MessageTemplate, CompileRefusesWhatCheckRefuses) {
  TemplateError error;
  EXPECT_FALSE(MessageTemplate::compile("Hi {nickname} {first_name", &error).has_value());
  EXPECT_EQ(error.unknown, Names{"nickname"});
  EXPECT_NE(error.syntax, "");
  EXPECT_FALSE(MessageTemplate::compile("", nullptr).has_value());
}

// --- check_template ---

TEST(CheckTemplate, ValidTemplates) {
  TemplateError error;
  for (const char* text :
       {"Hi", "Hi {first_name}", "{first_name|there}{last_name}", "{attributes.tier_2}", "{{}}",
        "{phone} {email} {location} {preferred_product}"}) {
    EXPECT_TRUE(check_template(text, &error)) << text << ": " << error.syntax;
    EXPECT_TRUE(error.unknown.empty());
    EXPECT_EQ(error.syntax, "");
  }
  EXPECT_TRUE(check_template("Hi", nullptr));
}

TEST(CheckTemplate, UnknownPlaceholdersAreListedInOrderOnce) {
  const TemplateError error =
      error_of("{nickname} {first_name} {city} {nickname|x} {id} {FIRST_NAME} {first_name }");
  EXPECT_EQ(error.unknown, (Names{"nickname", "city", "id", "FIRST_NAME", "first_name "}));
  EXPECT_EQ(error.syntax, "");
}

TEST(CheckTemplate, AttributeKeys) {
  EXPECT_TRUE(check_template("{attributes." + std::string(64, 'k') + "}", nullptr));
  const std::string long_key = "attributes." + std::string(65, 'k');
  EXPECT_EQ(error_of("{" + long_key + "}").unknown, Names{long_key});
  EXPECT_EQ(error_of("{attributes.}").unknown, Names{"attributes."});
  EXPECT_EQ(error_of("{attributes.loyalty tier}").unknown, Names{"attributes.loyalty tier"});
  EXPECT_EQ(error_of("{attributes.a.b}").unknown, Names{"attributes.a.b"});
  EXPECT_EQ(error_of("{attributes}").unknown, Names{"attributes"});
}

TEST(CheckTemplate, SyntaxErrors) {
  EXPECT_EQ(error_of("Hi {first_name").syntax,
            "the { at byte 4 is not closed (write {{ for a brace)");
  EXPECT_EQ(error_of("Hi {first_{name}}").syntax,
            "the { at byte 4 is not closed (write {{ for a brace)");
  EXPECT_EQ(error_of("Hi } there").syntax, "the } at byte 4 closes nothing (write }} for a brace)");
  EXPECT_EQ(error_of("Hi {}").syntax, "the placeholder at byte 4 has no name");
  EXPECT_EQ(error_of("Hi {|friend}").syntax, "the placeholder at byte 4 has no name");
  EXPECT_EQ(error_of("").syntax, "the template is empty");
  EXPECT_EQ(error_of("{").syntax, "the { at byte 1 is not closed (write {{ for a brace)");
  EXPECT_EQ(error_of("}").syntax, "the } at byte 1 closes nothing (write }} for a brace)");
}

TEST(CheckTemplate, UnknownNamesBeforeASyntaxErrorAreListedToo) {
  const TemplateError error = error_of("{nickname} and {first_name");
  EXPECT_EQ(error.unknown, Names{"nickname"});
  EXPECT_NE(error.syntax, "");
}

TEST(CheckTemplate, AtMost1600Bytes) {
  EXPECT_TRUE(check_template(std::string(1600, 'x'), nullptr));
  EXPECT_EQ(error_of(std::string(1601, 'x')).syntax, "the template is longer than 1600 bytes");
}

// --- template_placeholders ---

TEST(TemplatePlaceholders, InOrderOnceKnownOrNot) {
  EXPECT_EQ(template_placeholders("{location} {first_name|x} {nickname} {location} {{id}}"),
            (Names{"location", "first_name", "nickname"}));
  EXPECT_EQ(template_placeholders("no placeholders"), Names{});
  EXPECT_EQ(template_placeholders(""), Names{});
  EXPECT_EQ(template_placeholders("{first_name} then {broken"), Names{"first_name"});
}

}  // namespace
