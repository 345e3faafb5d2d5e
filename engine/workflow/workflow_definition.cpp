#include "engine/workflow/workflow_definition.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

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

// An array index token as RFC 6901 and nlohmann's json_pointer read it:
// "0", or digits without a leading zero.
bool array_index(std::string_view token, std::size_t* index) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  std::size_t n = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    if (n > (std::numeric_limits<std::size_t>::max() - 9) / 10) return false;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  *index = n;
  return true;
}

}  // namespace

const nlohmann::json* at_pointer(const nlohmann::json& input, std::string_view pointer) {
  // Walked in place: building a json_pointer (a vector of unescaped
  // tokens) and looking it up twice (contains, then at) cost about 3k
  // instructions per pointer, and every campaign's plan reads two.
  if (!pointer.empty() && pointer[0] != '/') return nullptr;
  const nlohmann::json* node = &input;
  std::string token;
  std::size_t at = 0;
  while (at < pointer.size()) {
    const std::size_t end = std::min(pointer.find('/', at + 1), pointer.size());
    token.clear();
    for (std::size_t i = at + 1; i < end; ++i) {
      if (pointer[i] != '~') {
        token += pointer[i];
        continue;
      }
      if (i + 1 >= end || (pointer[i + 1] != '0' && pointer[i + 1] != '1')) return nullptr;
      token += pointer[++i] == '0' ? '~' : '/';
    }
    at = end;
    if (node->is_object()) {
      auto it = node->find(token);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      std::size_t index = 0;
      if (!array_index(token, &index) || index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

WorkflowPlan expand_plan(const WorkflowDefinition& definition, const nlohmann::json& input) {
  WorkflowPlan plan;
  std::size_t defined_steps = 0;
  for (const PhaseDefinition& phase : definition.phases) defined_steps += phase.steps.size();
  plan.steps.reserve(defined_steps);  // for_each steps may add more
  plan.phase_ranges.reserve(definition.phases.size());
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
