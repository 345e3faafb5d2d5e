// Rewards (RewardsService): the store-credit service that pays a reward for
// a customer event ("$10 credit for every purchase over $50"), exactly once.
//   credit: POST /v1/credits, "Authorization: Bearer <token>", JSON
//           {"amount":number,"currency":"USD","customer_id":str} and the
//           Idempotency-Key header (required: a credit without one could be
//           paid twice, so the call fails at once, nothing sent);
//           answer 201 {"credit_id","customer_id","amount","currency",
//           "created_at"} for a new credit, and for a repeat of a key with
//           the same body the first credit again, 200 with
//           "Idempotent-Replayed: true" and "replayed":true (read either).
// Errors: {"error":{"message"}}; the step fails with "rewards: <message>"
// (e.g. "... HTTP 422: rewards: currency not supported"). 400, 422 (a bad
// body, or a key reused with another body) and other 4xx are permanent;
// 429 and 5xx retryable after Retry-After. No real public API: the default
// URL is the in-cluster http://rewards:8080 (adapter_config.h); the sandbox
// fakes it (adapters/sandbox/fake_rewards.cpp).
#pragma once

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class RewardsAdapter final : public phases::RewardsService, public ServiceAdapter {
 public:
  RewardsAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"credit_id","replayed"}. REQUIRES: ctx.idempotency_key non-empty
  // and `amount` finite (else a permanent failure without any I/O).
  void credit(const phases::CallContext& ctx, const std::string& customer_id, double amount,
              const std::string& currency, phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
