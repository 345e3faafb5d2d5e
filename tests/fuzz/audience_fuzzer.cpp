// libFuzzer target: what customers and broadcasts take from a client, by the
// first byte: 0, a CSV upload (parse_customer_csv); 1, a message template
// (check_template, then compile and render); 2, a customer body, checked as a
// new customer and as a patch (check_customer, apply_patch).
//
// Besides crashes and sanitizer reports, it traps when the pieces disagree:
// a CSV row reported good that check_customer refuses, a template
// check_template accepts that does not compile (or the other way round), or
// a valid patch of a valid customer that makes an invalid one without the
// check saying so is fine (the route checks again) but must not crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "phases/audience/customer_csv.h"
#include "phases/audience/customer_record.h"
#include "phases/audience/message_template.h"

namespace audience = orch::phases::audience;
using nlohmann::json;

namespace {

const json& sample_customer() {
  static const json c = {{"id", "c1"},          {"phone", "+254712345001"},
                         {"first_name", "Ann"}, {"location", "Nairobi"},
                         {"attributes", {{"tier", "gold"}, {"visits", 3}}}};
  return c;
}

void fuzz_csv(std::string_view text) {
  std::string file_error;
  const auto rows = audience::parse_customer_csv(text, &file_error);
  if (!file_error.empty() && !rows.empty()) __builtin_trap();
  for (const audience::CsvRow& row : rows)
    if (row.error.empty() &&
        !audience::check_customer(row.customer, audience::CustomerCheck::create).empty())
      __builtin_trap();
}

void fuzz_template(std::string_view text) {
  audience::TemplateError error;
  const bool ok = audience::check_template(text, &error);
  auto compiled = audience::MessageTemplate::compile(text, nullptr);
  if (ok != compiled.has_value()) __builtin_trap();
  if (compiled) {
    const std::string out = compiled->render(sample_customer());
    if (out != audience::render_template(text, sample_customer())) __builtin_trap();
  }
  (void)audience::template_placeholders(text);
}

void fuzz_customer(std::string_view text) {
  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return;
  (void)audience::check_customer(body, audience::CustomerCheck::create);
  if (body.is_object() && audience::check_customer(body, audience::CustomerCheck::patch).empty()) {
    const json patched = audience::apply_patch(sample_customer(), body);
    (void)audience::check_customer(patched, audience::CustomerCheck::create);
    for (const char* field : {"first_name", "phone", "attributes.tier", "attributes.visits"})
      (void)audience::customer_field(patched, field);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: fuzz_csv(text); break;
    case 1: fuzz_template(text); break;
    default: fuzz_customer(text); break;
  }
  return 0;
}
