#include "phases/campaign/campaign_definition.h"

#include <memory>

#include "phases/campaign/approval_chain.h"
#include "phases/campaign/recipient_report.h"

namespace orch::phases {

using engine::GateDefinition;
using engine::PhaseDefinition;
using engine::PhaseMode;
using engine::RetryPolicy;
using engine::StepDefinition;
using std::chrono::milliseconds;
using std::chrono::minutes;

const std::vector<std::string>& content_piece_names() {
  static const std::vector<std::string> names = {"headline",   "tagline",     "email_subject",
                                                 "email_body", "social_post", "blog_outline"};
  return names;
}

namespace {
StepDefinition step(std::string name, std::string activity, std::string compensation,
                    RetryPolicy retry, milliseconds timeout) {
  StepDefinition s;
  s.name = std::move(name);
  s.activity = std::move(activity);
  s.compensation = std::move(compensation);
  s.retry = retry;
  s.timeout = timeout;
  return s;
}

StepDefinition for_channel(StepDefinition s, const std::string& channel) {
  s.when_contains_pointer = "/channels";
  s.when_contains_value = channel;
  return s;
}
}  // namespace

engine::WorkflowDefinition campaign_definition(const CampaignTuning& tuning) {
  auto retries = [&](int attempts) {
    return RetryPolicy{attempts,
                       tuning.retry_initial_interval,
                       2.0,
                       tuning.retry_max_interval,
                       tuning.retry_full_jitter,
                       tuning.non_retryable_statuses,
                       tuning.non_retryable_errors};
  };
  engine::WorkflowDefinition def;
  def.name = kCampaignWorkflow;
  def.version = 1;

  // 1. Research: read-only, parallel, 3 attempts, 5 minutes.
  PhaseDefinition research{"research", PhaseMode::parallel, {}, std::nullopt};
  research.steps.push_back(step("notion_search", "notion.search", "", retries(3), minutes(5)));
  StepDefinition scrape = step("scrape", "tool.scrape", "", retries(3), minutes(5));
  scrape.for_each = "/competitor_urls";
  research.steps.push_back(scrape);
  research.steps.push_back(step("memory_recall", "memory.recall", "", retries(3), minutes(5)));

  // 2. Content: sequential, 2 attempts (model calls are expensive), 15 minutes.
  PhaseDefinition content{"content", PhaseMode::sequential, {}, std::nullopt};
  content.steps.push_back(step("brand_voice", "memory.brand_voice", "", retries(2), minutes(15)));
  content.steps.push_back(step("generate", "slm.generate", "", retries(2), minutes(15)));
  content.steps.push_back(step("remember_drafts", "memory.remember_drafts",
                               "memory.delete_drafts", retries(2), minutes(15)));

  // 3. Design: one asset per channel, parallel, 3 attempts, 10 minutes.
  PhaseDefinition design{"design", PhaseMode::parallel, {}, std::nullopt};
  StepDefinition render =
      step("render", "figma.render", "figma.delete_asset", retries(3), minutes(10));
  render.for_each = "/channels";
  design.steps.push_back(render);

  // 4. Review: pull request, Slack notice, then wait for a human decision.
  PhaseDefinition review{"review", PhaseMode::sequential, {}, GateDefinition{}};
  review.steps.push_back(step("pull_request", "github.review_pr", "", retries(3), minutes(5)));
  review.steps.push_back(step("notify", "slack.notify", "", retries(3), minutes(5)));
  review.gate->approve_signal = "approve";
  review.gate->reject_signal = "reject";
  review.gate->default_timeout = tuning.approval_timeout;
  review.gate->timeout_input_field = "approval_timeout_seconds";
  review.gate->escalation_reviewers_pointer = "/escalation_reviewers";
  review.gate->rules =
      std::make_shared<ApprovalChainRules>(review.gate->escalation_reviewers_pointer);

  // 5. Distribution: one step per selected channel, parallel, 2 attempts.
  PhaseDefinition distribution{"distribution", PhaseMode::parallel, {}, std::nullopt};
  const milliseconds ten = minutes(10);
  distribution.steps.push_back(for_channel(
      step("email", "sendgrid.send", "sendgrid.cancel", retries(2), ten), "email"));
  distribution.steps.push_back(for_channel(
      step("social", "buffer.schedule", "buffer.destroy", retries(2), ten), "social"));
  distribution.steps.push_back(for_channel(
      step("blog", "pages.publish", "pages.unpublish", retries(2), ten), "blog"));
  for (const char* channel : {"sms", "whatsapp", "push", "in_app"})
    distribution.steps.push_back(for_channel(
        step(channel, "messaging.send", "messaging.cancel", retries(2), ten), channel));

  // 6. Analytics: a Grafana dashboard, 3 attempts, 2 minutes.
  PhaseDefinition analytics{"analytics", PhaseMode::sequential, {}, std::nullopt};
  analytics.steps.push_back(step("dashboard", "grafana.create_dashboard",
                                 "grafana.delete_dashboard", retries(3), minutes(2)));

  def.phases = {research, content, design, review, distribution, analytics};
  for (PhaseDefinition& phase : def.phases)
    for (StepDefinition& s : phase.steps) {
      s.schedule_to_close = tuning.schedule_to_close;
      for (const std::string& prefix : tuning.pause_on_exhausted)
        if ((phase.name + "." + s.name).rfind(prefix, 0) == 0)
          s.on_exhausted = engine::OnExhausted::pause;
    }
  def.start_at_input_field = "schedule_time";
  // An edit during review withdraws the approvals given so far.
  def.patch_signals.push_back({"update_content", "content_id", "new_content", "distribution",
                               content_piece_names(), /*withdraws_decisions=*/true,
                               "content_updated"});
  def.pausable_before_phase = "distribution";
  def.submitter_input_field = "submitted_by";
  def.view_fields = recipient_report;
  return def;
}

}  // namespace orch::phases
