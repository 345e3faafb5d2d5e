#include "phases/campaign/campaign_activities.h"

#include <functional>
#include <string>

#include "engine/json/json_object.h"
#include "engine/json/json_writer.h"
#include "engine/json/json_read.h"
#include "phases/campaign/audience_broadcast.h"
#include "phases/campaign/campaign_definition.h"
#include "phases/campaign/recipient_sends.h"
#include "engine/json/json_text.h"

namespace orch::phases {

using engine::ActivityDone;
using engine::ActivityOutcome;
using engine::ActivityOutcomeKind;
using engine::ActivityRequest;
using nlohmann::json;

namespace {

using Body = std::function<void(const ActivityRequest&, ActivityDone)>;

class FunctionActivity final : public engine::Activity {
 public:
  explicit FunctionActivity(Body body) : body_(std::move(body)) {}
  void run(const ActivityRequest& request, ActivityDone done) override {
    body_(request, std::move(done));
  }

 private:
  Body body_;
};

CallContext context_of(const ActivityRequest& r) {
  return CallContext{r.idempotency_key, r.timeout, r.traceparent, -1, ""};
}

// Maps a port's answer to the step's outcome; `shape` builds the output from
// the answer, which it is given to keep (most steps keep it as it is).
ServiceCallback finish(ActivityDone done, std::function<json(json)> shape) {
  return [done = std::move(done), shape = std::move(shape)](ServiceResult result) {
    switch (result.outcome) {
      case ServiceOutcome::ok:
        done(ActivityOutcome::success(shape(std::move(result.value))));
        return;
      case ServiceOutcome::retryable:
        done(ActivityOutcome::failure(ActivityOutcomeKind::retryable, result.error,
                                      result.retry_after, result.http_status));
        return;
      case ServiceOutcome::permanent:
        done(ActivityOutcome::failure(ActivityOutcomeKind::permanent, result.error, {},
                                      result.http_status));
        return;
      case ServiceOutcome::unavailable:
        done(ActivityOutcome::failure(ActivityOutcomeKind::unavailable, result.error,
                                      result.retry_after));
        return;
    }
  };
}

json value_as_is(json v) { return v; }

std::string input_string(const ActivityRequest& r, const char* field) {
  return r.input.contains(field) && r.input[field].is_string() ? r.input[field].get<std::string>()
                                                               : std::string();
}

std::vector<std::string> input_strings(const ActivityRequest& r, const char* field) {
  std::vector<std::string> out;
  if (r.input.contains(field) && r.input[field].is_array())
    for (const json& v : r.input[field])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The generated content pieces with any update_content patch applied. Without
// a patch this is the step's output itself, not a copy (most steps of the
// design, review and distribution phases read it); with one, the patched
// copy is built in `merged`.
const json& content_pieces(const ActivityRequest& r, json& merged) {
  static const json kNone = json::object();
  const json* base = &kNone;
  if (auto it = r.outputs.find("content.generate"); it != r.outputs.end()) {
    if (auto p = it->second.find("content_pieces"); p != it->second.end()) base = &*p;
  }
  if (!r.patches.contains("update_content")) return *base;
  merged = *base;
  for (const auto& [k, v] : r.patches["update_content"].items()) merged[k] = v;
  return merged;
}

std::string piece(const json& pieces, const char* name) {
  return pieces.contains(name) && pieces[name].is_string() ? pieces[name].get<std::string>()
                                                           : std::string();
}

// The rendered asset of a channel, if design made one.
std::string asset_url(const ActivityRequest& r, const std::string& channel) {
  for (const auto& [step, out] : r.outputs)
    if (step.rfind("design.render[", 0) == 0 && out.value("type", "") == channel)
      return out.value("url", "");
  return "";
}

// The language model's user prompt: the campaign and what research found,
// as one JSON object written in place, keys in order (engine/json/json_writer.h),
// so the research outputs are not copied into a tree first.
std::string user_prompt(const ActivityRequest& r) {
  auto strings = [&](JsonWriter& w, const char* field) {
    w.begin_array();
    if (auto it = r.input.find(field); it != r.input.end() && it->is_array())
      for (const json& v : *it)
        if (v.is_string()) w.string(v.get_ref<const std::string&>());
    w.end_array();
  };
  std::string text;
  JsonWriter w(text);
  w.begin_object();
  w.key("campaign_goals");
  strings(w, "campaign_goals");
  w.key("campaign_name").string(input_string(r, "campaign_name"));
  w.key("channels");
  strings(w, "channels");
  w.key("research_findings").begin_array();
  for (const auto& [step, out] : r.outputs)
    if (step.rfind("research.", 0) == 0)
      w.begin_object().key("data").value(out).key("source").string(step).end_object();
  w.end_array();
  w.key("target_audience").string(input_string(r, "target_audience"));
  w.end_object();
  return text;
}

const char* template_for(const std::string& channel) {
  if (channel == "email") return "email_banner";
  if (channel == "social") return "social_post_image";
  if (channel == "blog") return "blog_header";
  if (channel == "push" || channel == "in_app") return "notification_card";
  return "message_card";
}

std::string drafts_key(const ActivityRequest& r) { return "campaign-drafts/" + r.workflow_id; }

// Grafana uids are at most 40 characters.
std::string dashboard_uid(const std::string& workflow_id) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : workflow_id) h = (h ^ c) * 1099511628211ULL;
  char buf[32];
  std::snprintf(buf, sizeof buf, "campaign-%016llx", static_cast<unsigned long long>(h));
  return buf;
}

json parse_content(const std::string& text) {
  json parsed;
  parse_json(text, parsed);
  json pieces = json::object();
  for (const std::string& name : content_piece_names()) {
    if (parsed.is_object() && parsed.contains(name) && parsed[name].is_string())
      pieces[name] = parsed[name];
  }
  if (pieces.empty()) {
    // A model that ignored the JSON instruction: keep its text usable.
    pieces["headline"] = text.substr(0, text.find('\n'));
    pieces["email_subject"] = pieces["headline"];
    pieces["email_body"] = text;
    pieces["social_post"] = text.substr(0, 280);
    pieces["blog_outline"] = text;
    pieces["tagline"] = pieces["headline"];
  }
  return pieces;
}

}  // namespace

CampaignActivities::CampaignActivities(CampaignServices services, RecipientGate* recipients,
                                       broadcast::Broadcasts* broadcasts)
    : services_(services), recipients_(recipients), broadcasts_(broadcasts) {}
CampaignActivities::~CampaignActivities() = default;

void CampaignActivities::register_all(engine::ActivityRegistry& registry) {
  CampaignServices s = services_;
  auto add = [&](const char* name, Body body) {
    owned_.push_back(std::make_unique<FunctionActivity>(std::move(body)));
    registry.add(name, owned_.back().get());
  };

  // ---- research (read-only)
  add("notion.search", [s](const ActivityRequest& r, ActivityDone done) {
    const std::string query = input_string(r, "campaign_name") + " " +
                              input_string(r, "target_audience");
    s.knowledge->search(context_of(r), query, finish(std::move(done), [](const json& v) {
      return json_object("source", "notion", "results", v.value("results", json::array()));
    }));
  });
  add("tool.scrape", [s](const ActivityRequest& r, ActivityDone done) {
    s.scraper->scrape(context_of(r), r.item.get<std::string>(),
                      finish(std::move(done), [](const json& v) {
                        return json_object("source", "web", "url", v.value("url", ""),
                                           "title", v.value("title", ""), "summary",
                                           v.value("text", "").substr(0, 500));
                      }));
  });
  add("memory.recall", [s](const ActivityRequest& r, ActivityDone done) {
    s.memory->recall(context_of(r), "research " + input_string(r, "campaign_name"),
                     finish(std::move(done), [](const json& v) {
                       return json_object("source", "memory", "memories",
                                          v.value("memories", json::array()));
                     }));
  });

  // ---- content
  add("memory.brand_voice", [s](const ActivityRequest& r, ActivityDone done) {
    std::string voice = input_string(r, "brand_voice_id");
    if (voice.empty()) voice = "default";
    s.memory->recall(context_of(r), "brand-voice/" + voice,
                     finish(std::move(done), [voice](const json& v) {
                       return json_object("brand_voice_id", voice, "memories",
                                          v.value("memories", json::array()));
                     }));
  });
  add("slm.generate", [s](const ActivityRequest& r, ActivityDone done) {
    std::string system =
        "You write marketing campaigns. Answer with one JSON object with the string fields "
        "headline, tagline, email_subject, email_body, social_post, blog_outline. Tone: " +
        input_string(r, "tone") + ". Brand voice: ";
    if (auto voice = r.outputs.find("content.brand_voice"); voice != r.outputs.end())
      append_json(system, voice->second);
    else
      system += "{}";
    const std::string user = user_prompt(r);
    s.language_model->complete(context_of(r), system, user,
                               finish(std::move(done), [](const json& v) {
                                 return json_object("content_pieces",
                                                    parse_content(v.value("text", "")),
                                                    "model_used", v.value("model", ""),
                                                    "tokens_used", v.value("tokens_used", 0));
                               }));
  });
  add("memory.remember_drafts", [s](const ActivityRequest& r, ActivityDone done) {
    const std::string key = drafts_key(r);
    json merged;
    s.memory->remember(context_of(r), key, content_pieces(r, merged),
                       finish(std::move(done), [key](const json&) {
                         return json_object("memory_key", key);
                       }));
  });
  add("memory.delete_drafts", [s](const ActivityRequest& r, ActivityDone done) {
    s.memory->forget(context_of(r), r.forward_output.value("memory_key", drafts_key(r)),
                     finish(std::move(done), value_as_is));
  });

  // ---- design
  add("figma.render", [s](const ActivityRequest& r, ActivityDone done) {
    const std::string channel = r.item.get<std::string>();
    json merged;
    const json& pieces = content_pieces(r, merged);
    json variables = json_object("headline", piece(pieces, "headline"),
                                 "tagline", piece(pieces, "tagline"), "channel", channel,
                                 "campaign_name", input_string(r, "campaign_name"));
    s.design->render(context_of(r), template_for(channel), variables,
                     finish(std::move(done), [channel](const json& v) {
                       return json_object("type", channel, "asset_id", v.value("asset_id", ""),
                                          "url", v.value("url", ""), "format",
                                          v.value("format", "png"));
                     }));
  });
  add("figma.delete_asset", [s](const ActivityRequest& r, ActivityDone done) {
    s.design->remove(context_of(r), r.forward_output.value("asset_id", ""),
                     finish(std::move(done), value_as_is));
  });

  // ---- review
  add("github.review_pr", [s](const ActivityRequest& r, ActivityDone done) {
    json merged;
    const json& pieces = content_pieces(r, merged);
    std::string body = "## Campaign: " + input_string(r, "campaign_name") + "\n\n";
    for (const auto& [k, v] : pieces.items())
      body += "### " + k + "\n" + (v.is_string() ? v.get<std::string>() : v.dump()) + "\n\n";
    for (const std::string& ch : input_strings(r, "channels"))
      body += "- " + ch + " asset: " + asset_url(r, ch) + "\n";
    body += "\nReviewers: " + join(input_strings(r, "reviewers"), ", ") + "\n";
    s.code_host->open_pull_request(
        context_of(r), "Campaign review: " + input_string(r, "campaign_name"), body,
        "campaign/" + r.workflow_id, finish(std::move(done), [](const json& v) {
          return json_object("github_pr_url", v.value("url", ""), "number", v.value("number", 0));
        }));
  });
  add("slack.notify", [s](const ActivityRequest& r, ActivityDone done) {
    const auto reviewers = input_strings(r, "reviewers");
    std::string mentions;
    for (const auto& rv : reviewers) mentions += "<@" + rv + "> ";
    std::string pr;
    if (auto it = r.outputs.find("review.pull_request"); it != r.outputs.end())
      pr = it->second.value("github_pr_url", "");
    const std::string text = mentions + "please review campaign \"" +
                             input_string(r, "campaign_name") + "\": " + pr +
                             " (approve or reject workflow " + r.workflow_id + ")";
    const std::size_t count = reviewers.size();
    s.chat->post_message(context_of(r), "#campaign-reviews", text,
                         finish(std::move(done), [count](const json& v) {
                           return json_object("slack_message_ts", v.value("ts", ""), "channel",
                                              v.value("channel", ""), "reviewers_notified",
                                              count);
                         }));
  });

  // ---- distribution
  add("sendgrid.send", [s](const ActivityRequest& r, ActivityDone done) {
    json merged;
    const json& pieces = content_pieces(r, merged);
    EmailMessage m;
    m.subject = piece(pieces, "email_subject");
    m.html = "<img src=\"" + asset_url(r, "email") + "\"/><p>" + piece(pieces, "email_body") +
             "</p>";
    m.batch_id = "batch-" + r.workflow_id;
    s.email->send(context_of(r), m, finish(std::move(done), [](const json& v) {
      return json_object("status", "sent", "message_id", v.value("message_id", ""), "batch_id",
                         v.value("batch_id", ""));
    }));
  });
  add("sendgrid.cancel", [s](const ActivityRequest& r, ActivityDone done) {
    s.email->cancel(context_of(r), r.forward_output.value("batch_id", "batch-" + r.workflow_id),
                    finish(std::move(done), value_as_is));
  });
  add("buffer.schedule", [s](const ActivityRequest& r, ActivityDone done) {
    json merged;
    const json& pieces = content_pieces(r, merged);
    s.social->create_update(context_of(r), piece(pieces, "social_post"), asset_url(r, "social"),
                            finish(std::move(done), [](const json& v) {
                              return json_object("status", "scheduled", "update_id",
                                                 v.value("update_id", ""));
                            }));
  });
  add("buffer.destroy", [s](const ActivityRequest& r, ActivityDone done) {
    s.social->destroy_update(context_of(r), r.forward_output.value("update_id", ""),
                             finish(std::move(done), value_as_is));
  });
  add("pages.publish", [s](const ActivityRequest& r, ActivityDone done) {
    json merged;
    const json& pieces = content_pieces(r, merged);
    const std::string path = "_posts/" + r.workflow_id + ".md";
    const std::string md = "---\ntitle: \"" + piece(pieces, "headline") + "\"\nimage: " +
                           asset_url(r, "blog") + "\n---\n\n" + piece(pieces, "blog_outline") +
                           "\n";
    s.pages->publish_file(context_of(r), path, md,
                          "Publish campaign " + input_string(r, "campaign_name"),
                          finish(std::move(done), [](const json& v) {
                            return json_object("status", "published", "path",
                                               v.value("path", ""), "sha", v.value("sha", ""),
                                               "commit_sha", v.value("commit_sha", ""), "url",
                                               v.value("url", ""));
                          }));
  });
  add("pages.unpublish", [s](const ActivityRequest& r, ActivityDone done) {
    s.pages->delete_file(context_of(r), r.forward_output.value("path", ""),
                         r.forward_output.value("sha", ""),
                         "Roll back campaign " + input_string(r, "campaign_name"),
                         finish(std::move(done), value_as_is));
  });
  add("messaging.send", [s, gate = recipients_, broadcasts = broadcasts_](
                            const ActivityRequest& r, ActivityDone done) {
    json merged;
    const json& pieces = content_pieces(r, merged);
    // The step id is "distribution.<channel>".
    const std::string channel = r.step_id.substr(r.step_id.find('.') + 1);
    const std::string body = piece(pieces, "headline") + " " + piece(pieces, "tagline");
    if (has_audience(r.input) && (channel == "sms" || channel == "whatsapp"))
      return send_to_audience(r, channel, body, broadcasts, std::move(done));
    if (has_target_users(r.input)) {
      if (!gate)
        return done(ActivityOutcome::failure(ActivityOutcomeKind::permanent,
                                             "target_user_ids need the user actors"));
      return send_to_recipients(r, channel, body, *s.messaging, *gate, std::move(done));
    }
    s.messaging->send(context_of(r), channel, input_string(r, "target_audience"), body,
                      finish(std::move(done), [channel](const json& v) {
                        return json_object("status", "sent", "channel", channel, "message_id",
                                           v.value("message_id", ""));
                      }));
  });
  add("messaging.cancel", [s](const ActivityRequest& r, ActivityDone done) {
    if (r.forward_output.contains("recipients"))
      return done(ActivityOutcome::success(kept_recipients(r.forward_output)));
    if (r.forward_output.contains("broadcast_id"))
      return done(ActivityOutcome::success(kept_broadcast(r.forward_output)));
    s.messaging->cancel(context_of(r), r.forward_output.value("channel", ""),
                        r.forward_output.value("message_id", ""),
                        finish(std::move(done), value_as_is));
  });

  // ---- analytics
  add("grafana.create_dashboard", [s](const ActivityRequest& r, ActivityDone done) {
    std::vector<std::string> metrics = input_strings(r, "metrics");
    if (metrics.empty()) metrics = {"views", "clicks", "conversions"};
    s.dashboards->create_dashboard(
        context_of(r), dashboard_uid(r.workflow_id),
        "Campaign: " + input_string(r, "campaign_name"), metrics,
        finish(std::move(done), [metrics](const json& v) {
          return json_object("dashboard_url", v.value("url", ""), "uid", v.value("uid", ""),
                             "metrics_tracked", metrics);
        }));
  });
  add("grafana.delete_dashboard", [s](const ActivityRequest& r, ActivityDone done) {
    s.dashboards->delete_dashboard(context_of(r),
                                   r.forward_output.value("uid", dashboard_uid(r.workflow_id)),
                                   finish(std::move(done), value_as_is));
  });
}

}  // namespace orch::phases
