// A workflow's views: the list, one workflow, its progress (with a long
// poll), its journal history in pages, its approvals.
#include <algorithm>

#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/routes/api_routes.h"
#include "api/routes/workflow_replies.h"
#include "engine/time/time_format.h"
#include "engine/workflow/workflow_engine.h"

namespace orch::api {

using http::Request;
using http::Responder;
using http::Response;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxPageSize = 100;
constexpr std::size_t kDefaultPageSize = 20;
constexpr std::size_t kMaxHistoryPageSize = 1000;
// A history page ends early, saying so, once its records' payloads reach
// this many bytes: 1,000 records of 20 KB signals were 20 MB a page.
constexpr std::size_t kMaxHistoryPageBytes = 1 << 20;
constexpr std::size_t kDefaultWaitMs = 30'000;  // progress long poll
constexpr std::size_t kMaxWaitMs = 60'000;

const std::set<std::string> kStatuses = {"running",   "awaiting_approval", "paused", "compensating",
                                         "completed", "failed",            "cancelled", "corrupt"};

// Whether some registered workflow kind has a phase called `name`.
bool known_phase(ApiContext& ctx, const std::string& name) {
  bool known = false;
  ctx.workflows.definitions().for_each([&](const engine::WorkflowDefinition& def) {
    for (const auto& phase : def.phases) known = known || phase.name == name;
  });
  return known;
}

// Long poll: ?wait_for=STATUS[,STATUS...]&wait_ms=N answers as soon as the
// status is one of those, or after N ms (at most kMaxWaitMs) as it is.
void get_workflow(ApiContext& ctx, const Call& c) {
  c.respond(query_answer(c.request, ctx.workflows.describe(c.params[0])));
}

void get_progress(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  auto wait_for = r.query_param("wait_for");
  if (!wait_for)
    return c.respond(
        query_answer(r, ctx.workflows.progress(id)));
  std::vector<phases::FieldError> errors;
  std::vector<std::string> statuses;
  std::string_view list(*wait_for);
  while (!list.empty()) {
    const std::string status(list.substr(0, list.find(',')));
    if (!kStatuses.count(status)) errors.push_back({"wait_for", "unknown status " + status});
    statuses.push_back(status);
    list.remove_prefix(std::min(list.size(), status.size() + 1));
  }
  std::size_t wait_ms = 0;
  query_number(r, "wait_ms", kDefaultWaitMs, kMaxWaitMs, &wait_ms, &errors);
  if (!errors.empty()) return c.respond(invalid(r, "invalid long poll", errors));
  ctx.workflows.await_status(id, std::move(statuses), std::chrono::milliseconds(wait_ms),
                       [respond = c.respond, path = std::string(r.path())](engine::QueryResult p) {
                         if (!p.found()) return respond(query_problem(path, p));
                         respond(ok_json(200, p.body));
                       });
}

void list_workflows(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  const Responder& respond = c.respond;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"status", "phase", "page", "page_size"}, &errors);
  engine::ListQuery q;
  query_number(r, "page", 1, 1'000'000, &q.page, &errors);
  query_number(r, "page_size", kDefaultPageSize, kMaxPageSize, &q.page_size, &errors);
  if (auto s = r.query_param("status")) {
    if (!kStatuses.count(*s)) errors.push_back({"status", "must be one of the workflow statuses"});
    q.status = *s;
  }
  if (auto p = r.query_param("phase")) {
    if (!known_phase(ctx, *p)) errors.push_back({"phase", "must be one of the workflows' phases"});
    q.phase = *p;
  }
  if (!errors.empty()) return respond(bad_query(r, errors));
  engine::ListPage page = ctx.workflows.list(q);
  json data = json::array();
  for (const auto& row : page.rows)
    data.push_back({{"workflow_id", row.workflow_id},
                    {"run_id", row.run_id},
                    {"workflow", row.definition},
                    {"status", row.status},
                    {"current_phase", row.phase},
                    {"created_at", engine::format_time(row.created_ms)},
                    {"updated_at", engine::format_time(row.updated_ms)}});
  const std::size_t pages = (page.total_count + q.page_size - 1) / q.page_size;
  respond(ok_json(200, {{"data", std::move(data)},
                        {"pagination",
                         {{"page", q.page},
                          {"page_size", q.page_size},
                          {"total_count", page.total_count},
                          {"total_pages", pages}}}}));
}

// Pages by number (`page`, from 1) or from a cursor (`cursor`: the
// `next_cursor` of the page before). A page holds at most page_size records
// and ends early, with `byte_limited: true`, past kMaxHistoryPageBytes of
// payload; `next_cursor` then (and whenever records follow) says where the
// rest starts.
void get_history(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  const std::string& id = c.params[0];
  const Responder& respond = c.respond;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"page", "page_size", "cursor"}, &errors);
  std::size_t page = 1, page_size = 100, cursor = 0;
  query_number(r, "page", 1, 1'000'000, &page, &errors);
  query_number(r, "page_size", 100, kMaxHistoryPageSize, &page_size, &errors);
  query_number(r, "cursor", 0, 1'000'000'000, &cursor, &errors);
  if (r.query_param("page") && r.query_param("cursor"))
    errors.push_back({"cursor", "cannot be combined with page"});
  if (!errors.empty()) return respond(bad_query(r, errors));
  const std::uint64_t from = cursor ? cursor : (page - 1) * page_size + 1;
  engine::QueryResult h = ctx.workflows.history(id, from, page_size, kMaxHistoryPageBytes);
  if (!h.found()) return respond(query_problem(std::string(r.path()), h));
  const std::uint64_t total = h.body["total"].get<std::uint64_t>();
  json pagination = {{"page_size", page_size},
                     {"total_count", total},
                     {"byte_limited", h.body["byte_limited"]}};
  if (!cursor) {
    pagination["page"] = page;
    pagination["total_pages"] = (total + page_size - 1) / page_size;
  }
  if (const std::uint64_t next = h.body["next_seq"].get<std::uint64_t>())
    pagination["next_cursor"] = std::to_string(next);
  respond(ok_json(200, {{"workflow_id", id},
                        {"data", std::move(h.body["records"])},
                        {"pagination", std::move(pagination)}}));
}

}  // namespace

std::vector<Route> workflow_query_routes() {
  using P = Permission;
  return {
      {{"GET", "/v1/workflows", P::read}, list_workflows},
      {{"GET", "/v1/workflows/{id}", P::read}, get_workflow},
      {{"GET", "/v1/workflows/{id}/progress", P::read}, get_progress},
      {{"GET", "/v1/workflows/{id}/history", P::read}, get_history},
      {{"GET", "/v1/workflows/{id}/approvals", P::read},
       [](ApiContext& ctx, const Call& c) {
         c.respond(query_answer(c.request, ctx.workflows.approvals(c.params[0])));
       }},
  };
}

}  // namespace orch::api
