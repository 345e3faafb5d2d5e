// Customer events (phases/triggers/): POST /v1/events takes one event or a
// batch of up to 1,000, CloudEvents or the seed's short form, checked whole
// before anything is recorded, and answers once they are durable: each
// accepted, a duplicate of one accepted before, or a conflict (its id was
// accepted with another payload). GET /v1/events/{id}?source= shows what
// became of one.
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "observability/metrics.h"
#include "phases/triggers/event_triggers.h"

namespace orch::api {

using http::Request;
using http::Response;
using nlohmann::json;
namespace tr = phases::triggers;

namespace {

constexpr std::size_t kMaxBatch = 1'000;

// The events of a body: an event, {"events": [...]} or an array; nullopt
// after answering when the batch's shape is wrong.
std::optional<std::vector<json>> batch_of(const json& body, const Call& c, bool* single) {
  *single = false;
  if (!body.is_object() && !body.is_array()) {
    c.respond(problem(400, "malformed-body", "Malformed Request Body",
                      "the body must be an event, an array of events or {\"events\": [...]}",
                      std::string(c.request.path())));
    return std::nullopt;
  }
  const json* list = &body;
  if (body.is_object()) {
    if (!body.contains("events")) {
      *single = true;
      return std::vector<json>{body};
    }
    list = &body["events"];
    if (body.size() != 1 || !list->is_array()) {
      c.respond(invalid(c.request, "invalid batch",
                        {{"events", "a batch is {\"events\": [...]} and nothing else"}}));
      return std::nullopt;
    }
  }
  const std::string size = "a batch holds 1 to " + std::to_string(kMaxBatch) + " events, not " +
                           std::to_string(list->size());
  if (list->empty()) {
    c.respond(invalid(c.request, "invalid batch", {{"events", size}}));
    return std::nullopt;
  }
  if (list->size() > kMaxBatch) {
    c.respond(problem(413, "batch-too-large", "Payload Too Large", size, std::string(c.request.path())));
    return std::nullopt;
  }
  return std::vector<json>(list->begin(), list->end());
}

void post_events(ApiContext& ctx, const Call& c) {
  Response error;
  auto body = parse_json_body(c.request, false, &error);
  if (!body) return c.respond(std::move(error));
  bool single = false;
  auto batch = batch_of(*body, c, &single);
  if (!batch) return;
  const std::string traceparent(c.request.header("traceparent").value_or(""));
  std::vector<tr::Event> events;
  std::vector<phases::FieldError> errors;
  json bad = json::array();
  for (std::size_t i = 0; i < batch->size(); ++i) {
    const std::size_t before = errors.size();
    auto e = tr::read_event((*batch)[i], single ? "" : "events[" + std::to_string(i) + "].",
                            traceparent, &errors);
    if (e) events.push_back(std::move(*e));
    if (errors.size() != before) bad.push_back(i);
  }
  if (!errors.empty()) {
    ctx.metrics.events_received("invalid", bad.size());
    Response p = invalid(c.request, std::to_string(bad.size()) + " of " +
                                        std::to_string(batch->size()) +
                                        " events are invalid; none was recorded",
                         errors);
    json b = json::parse(p.body);
    b["invalid_events"] = bad;
    p.body = b.dump();
    return c.respond(std::move(p));
  }
  std::vector<std::pair<std::string, std::string>> ids;
  for (const tr::Event& e : events) ids.emplace_back(e.id, e.source);
  ctx.triggers->accept(
      std::move(events), [ids = std::move(ids), single, r = c.request, respond = c.respond](
                             const Status& s, const std::vector<tr::Delivery>& answers) {
        if (!s) return respond(unavailable(r, s));
        json results = json::array();
        std::size_t counts[3] = {0, 0, 0};
        for (std::size_t i = 0; i < answers.size(); ++i) {
          json one = {{"index", i}, {"id", ids[i].first}, {"source", ids[i].second},
                      {"status", tr::to_string(answers[i])}};
          if (answers[i] == tr::Delivery::conflict) {
            one["error"] = {{"status", 409},
                            {"detail", "event '" + ids[i].first + "' from '" + ids[i].second +
                                           "' was accepted before with another payload"}};
          }
          ++counts[static_cast<int>(answers[i])];
          results.push_back(std::move(one));
        }
        if (single && answers[0] == tr::Delivery::conflict)
          return respond(problem(409, "event-conflict", "Conflict",
                                 results[0]["error"]["detail"].get<std::string>(),
                                 std::string(r.path())));
        respond(ok_json(202, {{"accepted", counts[0]},
                              {"duplicates", counts[1]},
                              {"conflicts", counts[2]},
                              {"results", std::move(results)}}));
      });
}

void get_event(ApiContext& ctx, const Call& c) {
  std::vector<phases::FieldError> errors;
  check_query_names(c.request, {"source"}, &errors);
  if (!errors.empty()) return c.respond(bad_query(c.request, errors));
  const std::string source = c.request.query_param("source").value_or(tr::kDefaultSource);
  json view;
  Status error;
  if (ctx.triggers->event_view(source, c.params[0], &view, &error))
    return c.respond(ok_json(200, view));
  c.respond(error ? not_found(c.request, "no event '" + c.params[0] + "' from source '" + source + "'")
                  : unavailable(c.request, error));
}

void get_queue(ApiContext& ctx, const Call& c) { c.respond(ok_json(200, ctx.triggers->queue())); }

}  // namespace

std::vector<Route> event_routes() {
  return {{{"POST", "/v1/events", Permission::operate}, post_events},
          {{"GET", "/v1/events/{id}", Permission::read}, get_event},
          {{"GET", "/v1/event-queue", Permission::read}, get_queue}};
}

}  // namespace orch::api
