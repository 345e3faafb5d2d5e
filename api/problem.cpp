#include "api/problem.h"

#include <nlohmann/json.hpp>

namespace orch::api {

http::Response problem(int status, const std::string& type, const std::string& title,
                       const std::string& detail, const std::string& instance,
                       const std::vector<phases::FieldError>& errors) {
  nlohmann::json body = {{"type", "https://campaign-orchestrator.dev/problems/" + type},
                         {"title", title},
                         {"status", status},
                         {"detail", detail}};
  if (!instance.empty()) body["instance"] = instance;
  if (!errors.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : errors) list.push_back({{"field", e.field}, {"message", e.message}});
    body["errors"] = std::move(list);
  }
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/problem+json");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace orch::api
