// OpenAI-compatible language model (LanguageModel, service "slm"): Chat
// Completions.
//   POST /v1/chat/completions, "Authorization: Bearer <API key>" when one is
//   configured, JSON {"messages":[{"content","role":"system"|"user"}],
//   "model","temperature"?}; answer 200 {"id","object":"chat.completion",
//   "choices":[{"index","message":{"role","content"},"finish_reason"}],
//   "model","usage":{"prompt_tokens","completion_tokens","total_tokens"}}:
//   reads choices[0].message.content (null, as with a refusal, fails the
//   step), model, usage.total_tokens.
//   https://platform.openai.com/docs/api-reference/chat/create
//   (OpenAPI: openai/openai-openapi, operation createChatCompletion)
// Errors: {"error":{"message","type","param","code"}}; the step fails with
// "slm: <message>". 429 and 5xx are retryable.
// Model from setting "model" (default campaign-writer), optional setting
// "temperature".
#pragma once

#include "adapters/services/service_adapter.h"

namespace orch::adapters {

class OpenAiAdapter final : public phases::LanguageModel, public ServiceAdapter {
 public:
  OpenAiAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"text","model","tokens_used"}
  void complete(const phases::CallContext& ctx, const std::string& system_prompt,
                const std::string& user_prompt, phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
