// OpenAI-compatible language model (LanguageModel):
// POST /v1/chat/completions {"model","messages"}; Bearer API key when
// configured; model from setting "model" (default campaign-writer), optional
// setting "temperature".
#pragma once

#include "adapters/service_adapter.h"

namespace orch::adapters {

class OpenAiAdapter final : public phases::LanguageModel, public ServiceAdapter {
 public:
  OpenAiAdapter(http::HttpTransport& transport, ServiceEndpoint endpoint);
  // value: {"text","model","tokens_used"}
  void complete(const phases::CallContext& ctx, const std::string& system_prompt,
                const std::string& user_prompt, phases::ServiceCallback done) override;
};

}  // namespace orch::adapters
