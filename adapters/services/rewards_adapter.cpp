#include "adapters/services/rewards_adapter.h"

#include <cmath>
#include <utility>

#include "engine/json/json_writer.h"

namespace orch::adapters {

using nlohmann::json;

RewardsAdapter::RewardsAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint)
    : ServiceAdapter(transport, "rewards", std::move(endpoint)) {}

void RewardsAdapter::credit(const phases::CallContext& ctx, const std::string& customer_id,
                            double amount, const std::string& currency,
                            phases::ServiceCallback done) {
  if (ctx.idempotency_key.empty())
    return fail_now("a credit needs an Idempotency-Key (it could be paid twice)", done);
  if (!std::isfinite(amount)) return fail_now("amount is not a finite number", done);
  Exchange ex;
  ex.method = "POST";
  ex.target = "/v1/credits";
  // Keys in order, as dump_json writes them (the same text on every retry).
  JsonWriter(ex.body)
      .begin_object()
      .key("amount")
      .value(json(amount))
      .key("currency")
      .string(currency)
      .key("customer_id")
      .string(customer_id)
      .end_object();
  add_bearer(ex.headers);
  execute(
      ctx, std::move(ex),
      [](const http::Response& res, phases::ServiceResult& out) {
        json b;
        static const JsonProjection kFields{"credit_id", "replayed"};
        if (!parse_object(res, kFields, b, out)) return;
        std::string id = json_string(b, "credit_id");
        if (id.empty()) return reject(out, "unusable response body: no credit_id");
        auto header = res.header("Idempotent-Replayed");
        auto field = b.find("replayed");
        const bool replayed = (header && *header == "true") ||
                              (field != b.end() && field->is_boolean() && field->get<bool>());
        out.value = {{"credit_id", std::move(id)}, {"replayed", replayed}};
      },
      std::move(done));
}

}  // namespace orch::adapters
