#include "api/routes/workflow_view_fields.h"

#include <map>
#include <string>

#include "phases/campaign/campaign_definition.h"
#include "phases/campaign/recipient_report.h"

namespace orch::api {

using nlohmann::json;

void add_kind_fields(const engine::QueryResult& full, engine::QueryResult* view) {
  if (!full.found() || !view->found()) return;
  const json& body = full.body;
  if (body.value("workflow", "") != phases::kCampaignWorkflow) return;
  auto input = body.find("input");
  if (input == body.end() || !input->contains("target_user_ids")) return;
  // The completed distribution steps' outputs, by step id, from the view.
  std::map<std::string, json> outputs;
  for (const json& phase : body.value("phases", json::array()))
    if (phase.value("name", "") == "distribution")
      for (const json& step : phase.value("steps", json::array()))
        if (auto out = step.find("output"); out != step.end())
          outputs.emplace(step.value("id", ""), *out);
  json fields = phases::recipient_report(*input, outputs);
  for (auto& [key, value] : fields.items()) view->body[key] = std::move(value);
}

}  // namespace orch::api
