// RFC 9457 problem details (application/problem+json), the body of every
// error reply: the HTTP server's own (a request it cannot take, with type
// "about:blank") and the REST API's (api/router/problem.h, a type per problem).
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "adapters/http/http_message.h"

namespace orch::http {

struct ProblemDetails {
  int status = 500;
  std::string_view type = "about:blank";
  std::string_view title;
  std::string_view detail;
  std::string_view instance;  // omitted when empty
  // "errors": [{"field", "message"}], omitted when empty.
  std::vector<std::pair<std::string_view, std::string_view>> errors;
};

// A response with `problem.status`, Content-Type application/problem+json
// and the members in the order RFC 9457 lists them. Text that is not valid
// UTF-8 (a request's path, say) is written with U+FFFD in its place.
Response problem_response(const ProblemDetails& problem);

}  // namespace orch::http
