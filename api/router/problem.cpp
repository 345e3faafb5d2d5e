#include "api/router/problem.h"

#include "adapters/http/problem_details.h"

namespace orch::api {

http::Response problem(int status, const std::string& type, const std::string& title,
                       const std::string& detail, const std::string& instance,
                       const std::vector<phases::FieldError>& errors) {
  const std::string type_uri = "https://campaign-orchestrator.dev/problems/" + type;
  http::ProblemDetails details{status, type_uri, title, detail, instance, {}};
  details.errors.reserve(errors.size());
  for (const auto& e : errors) details.errors.emplace_back(e.field, e.message);
  return http::problem_response(details);
}

}  // namespace orch::api
