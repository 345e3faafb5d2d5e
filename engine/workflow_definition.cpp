#include "engine/workflow_definition.h"

#include <algorithm>
#include <cmath>

namespace orch::engine {

bool RetryPolicy::retryable(int http_status, const std::string& error) const {
  if (http_status != 0 && std::find(non_retryable_statuses.begin(), non_retryable_statuses.end(),
                                    http_status) != non_retryable_statuses.end())
    return false;
  for (const std::string& fragment : non_retryable_errors)
    if (!fragment.empty() && error.find(fragment) != std::string::npos) return false;
  return true;
}

milliseconds RetryPolicy::delay_after(int attempt) const {
  const double factor = std::pow(backoff_coefficient, std::max(0, attempt - 1));
  const double ms = static_cast<double>(initial_interval.count()) * factor;
  const double cap = static_cast<double>(max_interval.count());
  return milliseconds(static_cast<std::int64_t>(std::min(ms, cap)));
}

namespace {
const nlohmann::json* at_pointer(const nlohmann::json& input, const std::string& pointer) {
  try {
    nlohmann::json::json_pointer p(pointer);
    if (!input.contains(p)) return nullptr;
    return &input.at(p);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}
}  // namespace

WorkflowPlan expand_plan(const WorkflowDefinition& definition, const nlohmann::json& input) {
  WorkflowPlan plan;
  for (std::size_t p = 0; p < definition.phases.size(); ++p) {
    const PhaseDefinition& phase = definition.phases[p];
    const std::size_t begin = plan.steps.size();
    for (const StepDefinition& step : phase.steps) {
      if (!step.when_contains_pointer.empty()) {
        const nlohmann::json* arr = at_pointer(input, step.when_contains_pointer);
        if (!arr || !arr->is_array() ||
            std::find(arr->begin(), arr->end(), step.when_contains_value) == arr->end())
          continue;
      }
      const std::string base = phase.name + "." + step.name;
      if (step.for_each.empty()) {
        plan.steps.push_back(PlannedStep{base, p, &step, nullptr});
        continue;
      }
      const nlohmann::json* arr = at_pointer(input, step.for_each);
      if (!arr || !arr->is_array()) continue;
      for (std::size_t i = 0; i < arr->size(); ++i)
        plan.steps.push_back(
            PlannedStep{base + "[" + std::to_string(i) + "]", p, &step, (*arr)[i]});
    }
    plan.phase_ranges.emplace_back(begin, plan.steps.size());
  }
  return plan;
}

}  // namespace orch::engine
