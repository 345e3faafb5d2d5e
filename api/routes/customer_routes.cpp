// Customers (phases/audience/): one, a JSON batch of up to 10,000 or a CSV
// upload, each row reported as created, updated, unchanged or refused (a
// refused row changes nothing; the others are written in one transaction);
// read, merge-patched, deleted, listed by location newest first with a
// cursor. A customer's id is its user actor's key.
#include "api/router/problem.h"
#include "api/router/replies.h"
#include "api/router/request_body.h"
#include "api/routes/api_routes.h"
#include "api/routes/list_pages.h"
#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "phases/audience/customer_csv.h"
#include "phases/audience/customer_directory.h"
#include "phases/audience/customer_record.h"
#include "phases/triggers/event_triggers.h"

namespace orch::api {

using http::Request;
using http::Response;
using nlohmann::json;
namespace audience = phases::audience;

namespace {

constexpr std::size_t kMaxBatch = 10'000;

const char* write_name(engine::DocumentWrite w) {
  switch (w) {
    case engine::DocumentWrite::inserted: return "created";
    case engine::DocumentWrite::updated: return "updated";
    case engine::DocumentWrite::unchanged: return "unchanged";
    default: return "deleted";
  }
}

json errors_json(const std::vector<phases::FieldError>& errors) {
  json out = json::array();
  for (const auto& e : errors) out.push_back({{"field", e.field}, {"message", e.message}});
  return out;
}

// A row of an import: its place in the upload and the customer or its errors.
struct ImportRow {
  json place;  // {"index": i} or {"line": n}
  json customer;
  json errors;  // null when the row is good
};

// Writes the good rows in one transaction and answers the per-row report
// (or, for a single object, the customer itself: 201 new, 200 replaced).
void import(ApiContext& ctx, const Call& c, std::vector<ImportRow> rows, bool single) {
  std::vector<engine::Document> documents;
  const engine::TimeMs now = ctx.clock.now_ms();
  for (const ImportRow& row : rows)
    if (row.errors.is_null()) documents.push_back(audience::customer_document(row.customer, now));
  auto writes = std::make_shared<std::vector<engine::DocumentWrite>>();
  ctx.journal->run_on_writer(
      [documents, writes](engine::JournalStore& store) {
        return store.documents().put_documents(documents, writes.get());
      },
      [&ctx, respond = c.respond, r = c.request, rows = std::move(rows), writes,
       single, documents](const Status& s) {
        if (!s) return respond(unavailable(r, s));
        // Events parked for customers that did not exist yet are matched now.
        std::vector<std::string> created;
        for (std::size_t i = 0; i < writes->size(); ++i)
          if ((*writes)[i] == engine::DocumentWrite::inserted) created.push_back(documents[i].id);
        if (ctx.triggers && !created.empty()) ctx.triggers->customers_added(created);
        if (single) {
          engine::Document d;
          bool found = false;
          const std::string id = rows.front().customer.value("id", "");
          if (Status g = ctx.store.documents().get_document(audience::kCustomers, id, &d, &found);
              !g || !found)
            return respond(unavailable(r, g));
          const bool created = writes->front() == engine::DocumentWrite::inserted;
          return respond(ok_json(created ? 201 : 200, audience::customer_view(d)));
        }
        json report = json::array();
        std::map<std::string, std::size_t> totals{
            {"created", 0}, {"updated", 0}, {"unchanged", 0}, {"refused", 0}};
        std::size_t next = 0;
        for (const ImportRow& row : rows) {
          json line = row.place;
          line["id"] = row.customer.is_object() ? row.customer.value("id", "") : "";
          if (!row.errors.is_null()) {
            line["result"] = "refused";
            line["errors"] = row.errors;
          } else {
            line["result"] = write_name((*writes)[next++]);
          }
          ++totals[line["result"].get<std::string>()];
          report.push_back(std::move(line));
        }
        json body = totals;
        body["rows"] = std::move(report);
        respond(ok_json(200, body));
      });
}

void post_csv(ApiContext& ctx, const Call& c) {
  std::string file_error;
  std::vector<audience::CsvRow> parsed = audience::parse_customer_csv(c.request.body, &file_error);
  if (!file_error.empty())
    return c.respond(invalid(c.request, "the CSV file cannot be read", {{"body", file_error}}));
  std::vector<ImportRow> rows;
  for (audience::CsvRow& row : parsed) {
    ImportRow r{{{"line", row.line}}, std::move(row.customer), nullptr};
    if (!row.error.empty()) r.errors = json::array({{{"field", "row"}, {"message", row.error}}});
    rows.push_back(std::move(r));
  }
  import(ctx, c, std::move(rows), false);
}

void post_customers(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  auto type = r.header("Content-Type");
  if (type && type->substr(0, 8) == "text/csv") return post_csv(ctx, c);
  Response error;
  auto body = parse_json_body(r, false, &error);
  if (!body) return c.respond(std::move(error));
  if (body->is_object()) {
    auto errors = audience::check_customer(*body, audience::CustomerCheck::create);
    if (!errors.empty()) return c.respond(invalid(r, "invalid customer", errors));
    return import(ctx, c, {{json::object(), std::move(*body), nullptr}}, true);
  }
  if (!body->is_array() || body->empty())
    return c.respond(problem(400, "malformed-body", "Malformed Request Body",
                             "the body must be a customer object or a non-empty array of them",
                             std::string(r.path())));
  if (body->size() > kMaxBatch)
    return c.respond(problem(413, "batch-too-large", "Payload Too Large",
                             "at most 10,000 customers a request", std::string(r.path())));
  std::vector<ImportRow> rows;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < body->size(); ++i) {
    json& customer = (*body)[i];
    auto errors = customer.is_object()
                      ? audience::check_customer(customer, audience::CustomerCheck::create)
                      : std::vector<phases::FieldError>{{"", "must be a customer object"}};
    if (errors.empty() && !seen.insert(customer.value("id", "")).second)
      errors.push_back({"id", "appears twice in this batch"});
    rows.push_back({{{"index", i}},
                    std::move(customer),
                    errors.empty() ? json(nullptr) : errors_json(errors)});
  }
  import(ctx, c, std::move(rows), false);
}

// The customer of the path, or false after answering 404 or 503.
bool find_customer(ApiContext& ctx, const Call& c, engine::Document* out) {
  bool found = false;
  if (Status s = ctx.store.documents().get_document(audience::kCustomers, c.params[0], out, &found);
      !s) {
    c.respond(unavailable(c.request, s));
    return false;
  }
  if (!found) c.respond(not_found(c.request, "no customer '" + c.params[0] + "'"));
  return found;
}

void get_customer(ApiContext& ctx, const Call& c) {
  engine::Document d;
  if (find_customer(ctx, c, &d)) c.respond(ok_json(200, audience::customer_view(d)));
}

void patch_customer(ApiContext& ctx, const Call& c) {
  Response error;
  auto patch = parse_object(c.request, false, &error);
  if (!patch) return c.respond(std::move(error));
  if (auto errors = audience::check_customer(*patch, audience::CustomerCheck::patch); !errors.empty())
    return c.respond(invalid(c.request, "invalid customer patch", errors));
  engine::Document d;
  if (!find_customer(ctx, c, &d)) return;
  json customer = audience::apply_patch(audience::customer_fields(d), *patch);
  if (auto errors = audience::check_customer(customer, audience::CustomerCheck::create);
      !errors.empty())
    return c.respond(invalid(c.request, "the patched customer would be invalid", errors));
  import(ctx, c, {{json::object(), std::move(customer), nullptr}}, true);
}

void delete_customer(ApiContext& ctx, const Call& c) {
  auto result = std::make_shared<engine::DocumentWrite>();
  ctx.journal->run_on_writer(
      [id = c.params[0], result](engine::JournalStore& store) {
        return store.documents().delete_document(audience::kCustomers, id, result.get());
      },
      [respond = c.respond, r = c.request, id = c.params[0], result](const Status& s) {
        if (!s) return respond(unavailable(r, s));
        if (*result != engine::DocumentWrite::deleted)
          return respond(not_found(r, "no customer '" + id + "'"));
        respond(Response{204, {}, ""});
      });
}

void list_customers(ApiContext& ctx, const Call& c) {
  const Request& r = c.request;
  std::vector<phases::FieldError> errors;
  check_query_names(r, {"location", "page_size", "cursor"}, &errors);
  engine::DocumentQuery q;
  q.collection = audience::kCustomers;
  q.index_a = std::string(r.query_param("location").value_or(""));
  query_number(r, "page_size", kDefaultListPage, kMaxListPage, &q.limit, &errors);
  read_cursor(r, &q.before_seq, &errors);
  if (!errors.empty()) return c.respond(bad_query(r, errors));
  std::vector<engine::Document> page;
  bool more = false;
  if (Status s = ctx.store.documents().list_documents(q, &page, &more); !s)
    return c.respond(unavailable(r, s));
  json data = json::array();
  for (const engine::Document& d : page) data.push_back(audience::customer_view(d));
  c.respond(ok_json(200, {{"data", std::move(data)},
                          {"pagination", cursor_pagination(q.limit, more, page)}}));
}

}  // namespace

std::vector<Route> customer_routes() {
  using P = Permission;
  return {
      {{"GET", "/v1/customers", P::read}, list_customers},
      {{"POST", "/v1/customers", P::operate}, post_customers},
      {{"GET", "/v1/customers/{id}", P::read}, get_customer},
      {{"PATCH", "/v1/customers/{id}", P::operate}, patch_customer},
      {{"DELETE", "/v1/customers/{id}", P::operate}, delete_customer},
  };
}

}  // namespace orch::api
