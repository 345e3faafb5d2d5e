// Rewards (store credit): POST /v1/credits, paid once per Idempotency-Key,
// and GET /sandbox/credits, the credits applied and their totals.
//
// The key's bookkeeping is the ledger's (sandbox.cpp): the first 2xx answer
// applies the credit and becomes its ledger entry; a repeat reaches
// rewards_replay(), which answers the first credit again (200, "replayed":
// true) when the body is the same and refuses it (422, as Stripe does)
// when it is not. Each credit is a small record (its id derives from its
// index, its key is its ledger entry's), and every total is kept as it
// changes, so the summary costs one lookup at 10,000 credits a second.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/sandbox/fake_services.h"
#include "adapters/sandbox/sandbox_control.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using http::Response;
using nlohmann::json;

namespace {

constexpr uint64_t kCreditIdSalt = 0xc4ed17;

std::string credit_id(std::size_t index) { return "cr_" + hex_id(index + 1, 24, kCreditIdSalt); }

// A credit request's fields, checked.
struct CreditRequest {
  std::string customer_id;
  double amount = 0.0;
  std::string currency;
};

bool is_currency_code(const std::string& c) {
  if (c.size() != 3) return false;
  for (char ch : c)
    if (ch < 'A' || ch > 'Z') return false;
  return true;
}

// Reads `body` into `out`, or answers why it cannot: 400 for a missing or
// mistyped field, 422 for a value out of range.
std::optional<Response> read_credit(const json& body, CreditRequest& out) {
  const json* customer = obj_of(body, "customer_id");
  if (!customer || !customer->is_string() || customer->get_ref<const std::string&>().empty())
    return rewards_error(400, "customer_id must be a non-empty string", "customer_id");
  const json* amount = obj_of(body, "amount");
  if (!amount || !amount->is_number())
    return rewards_error(400, "amount must be a number", "amount");
  const json* currency = obj_of(body, "currency");
  if (!currency || !currency->is_string())
    return rewards_error(400, "currency must be a string", "currency");
  out.amount = amount->get<double>();
  if (!(out.amount > 0.0)) return rewards_error(422, "amount must be greater than 0", "amount");
  out.currency = currency->get<std::string>();
  if (!is_currency_code(out.currency))
    return rewards_error(422, "currency must be an ISO 4217 code (3 upper-case letters)",
                         "currency");
  out.customer_id = customer->get<std::string>();
  return std::nullopt;
}

// The members of credit `index` every view shares, keys in order.
void write_credit_fields(JsonWriter& w, std::size_t index, const Sandbox::State::Credit& c) {
  w.key("amount").value(json(c.amount)).key("created_at").number(c.created_at);
  w.key("credit_id").string(credit_id(index)).key("currency").string(c.currency);
  w.key("customer_id").string(c.customer->first);
}

Response credit_answer(int status, std::size_t index, const Sandbox::State::Credit& c,
                       bool replayed) {
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  write_credit_fields(w, index, c);
  if (replayed) w.key("replayed").boolean(true);
  w.end_object();
  return Response::json(status, std::move(body));
}

void write_totals(JsonWriter& w, const Sandbox::State::CreditTotals& t) {
  w.key("count").number(static_cast<int64_t>(t.count));
  w.key("replays").number(static_cast<int64_t>(t.replays));
  w.key("total_amount").value(json(t.amount));
}

}  // namespace

Response rewards_error(int status, const std::string& message, const std::string& param) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("error").begin_object().key("message").string(message);
  if (!param.empty()) w.key("param").string(param);
  w.end_object().end_object();
  return Response::json(status, std::move(body));
}

Response rewards_credit(Sandbox::State& s, Call& c) {
  const auto key = c.req.header("Idempotency-Key");
  if (!key || key->empty())
    return rewards_error(400,
                         "an Idempotency-Key header is required: a credit is paid once per key");
  CreditRequest r;
  if (auto refused = read_credit(c.body, r)) return std::move(*refused);

  const std::size_t index = s.credits.size();
  Sandbox::State::CustomerNode& customer = *s.credits_by_customer.try_emplace(r.customer_id).first;
  Sandbox::State::Credit credit;
  credit.customer = &customer;
  credit.entry = s.ledger.size();  // the entry this 2xx answer becomes (fake_services.h)
  credit.amount = r.amount;
  credit.currency = std::move(r.currency);
  credit.created_at = unix_now();
  Response answer = credit_answer(201, index, credit, false);

  customer.second.credits.push_back(index);
  for (Sandbox::State::CreditTotals* t : {&customer.second.totals, &s.credit_totals}) {
    ++t->count;
    t->amount += credit.amount;
  }
  s.credits.push_back(std::move(credit));
  c.record = index;
  c.recipient = std::move(r.customer_id);
  return answer;
}

Response rewards_replay(Sandbox::State& s, const Call& c, const LedgerEntry& applied) {
  if (applied.record >= s.credits.size())
    return rewards_error(500, "sandbox: no credit for this Idempotency-Key");
  const Sandbox::State::Credit& credit = s.credits[applied.record];
  CreditRequest r;
  const bool same = !read_credit(c.body, r) && r.customer_id == credit.customer->first &&
                    r.amount == credit.amount && r.currency == credit.currency;
  if (!same)
    return rewards_error(422,
                         "Keys for idempotent requests can only be used with the same "
                         "parameters they were first used with. Try using a key other "
                         "than '" +
                             applied.idempotency_key +
                             "' if you meant to execute a different request.");
  ++credit.customer->second.totals.replays;
  ++s.credit_totals.replays;
  return credit_answer(200, applied.record, credit, true);
}

std::string rewards_credits_text(const Sandbox::State& s, const std::string& customer_id,
                                 bool summary) {
  static const Sandbox::State::CustomerCredits kNone;
  const Sandbox::State::CustomerCredits* one = nullptr;
  if (!customer_id.empty()) {
    auto it = s.credits_by_customer.find(customer_id);
    one = it == s.credits_by_customer.end() ? &kNone : &it->second;
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  write_totals(w, one ? one->totals : s.credit_totals);
  if (!customer_id.empty()) w.key("customer_id").string(customer_id);
  if (!summary) {
    w.key("credits").begin_array();
    auto write = [&](std::size_t index) {
      const Sandbox::State::Credit& c = s.credits[index];
      const LedgerEntry& e = s.ledger[c.entry];
      w.begin_object();
      write_credit_fields(w, index, c);
      w.key("idempotency_key").string(e.idempotency_key);
      w.key("replays").number(static_cast<int64_t>(e.replays));
      w.end_object();
    };
    if (one) {
      for (std::size_t index : one->credits) write(index);
    } else {
      for (std::size_t index = 0; index < s.credits.size(); ++index) write(index);
    }
    w.end_array();
  }
  w.end_object();
  return body;
}

Response rewards_credits_control(Sandbox::State& s, const http::Request& req,
                                 const std::vector<std::string>& seg) {
  if (seg.size() != 2) return problem(404, "unknown sandbox endpoint");
  if (req.method != "GET") return detail::method_not_allowed("GET");
  const std::string customer_id = req.query_param("customer_id").value_or("");
  const std::optional<std::string> summary = req.query_param("summary");
  return Response::json(200, rewards_credits_text(s, customer_id, summary && *summary == "true"));
}

}  // namespace orch::sandbox
