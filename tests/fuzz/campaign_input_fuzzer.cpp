// libFuzzer target: arbitrary bytes as the body of POST /v1/campaigns,
// parsed and validated as POST /v1/campaigns does (api/routes/campaign_routes.cpp:
// parse_object, then validate_campaign_input, then the 422 problem listing the errors).
//
// Besides crashes and sanitizer reports, it fails (traps) when the
// validation accepts a schedule_time the engine cannot schedule
// (engine::parse_time): the campaign would start at once instead.
#include <cstddef>
#include <cstdint>
#include <string>

#include "adapters/http/http_message.h"
#include "api/router/problem.h"
#include "api/router/request_body.h"
#include "engine/time/time_format.h"
#include "phases/campaign/campaign_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  orch::http::Request request;
  request.method = "POST";
  request.target = "/v1/campaigns";
  request.headers.emplace_back("Content-Type", "application/json");
  request.body.assign(reinterpret_cast<const char*>(data), size);

  orch::http::Response error;
  auto body = orch::api::parse_object(request, /*allow_empty=*/false, &error);
  if (!body) {
    if (error.status != 400 && error.status != 415) __builtin_trap();
    return 0;
  }
  const auto errors = orch::phases::validate_campaign_input(*body);
  if (!errors.empty()) {
    auto reply = orch::api::problem(422, "validation-error", "Invalid Request",
                                    "the CampaignInput is invalid",
                                    std::string(request.path()), errors);
    if (reply.body.empty()) __builtin_trap();
    return 0;
  }
  if (auto it = body->find("schedule_time"); it != body->end()) {
    if (!orch::engine::parse_time(it->get<std::string>())) __builtin_trap();
  }
  return 0;
}
