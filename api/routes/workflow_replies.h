// The problems of a request about one workflow: why a query found nothing to
// show, why a signal or command was refused.
#pragma once

#include <string>

#include "adapters/http/http_message.h"
#include "engine/workflow/workflow_engine.h"

namespace orch::api {

// 404 workflow-not-found, 500 workflow-damaged or 503 journal-unavailable.
http::Response query_problem(const std::string& instance, const engine::QueryResult& result);
// 200 with the view, or the problem.
http::Response query_answer(const http::Request& request, const engine::QueryResult& result);
// The problem of a refused signal or command.
http::Response signal_problem(const http::Request& request, const engine::SignalResult& result);

}  // namespace orch::api
