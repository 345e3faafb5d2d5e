// Traces: a campaign is one OpenTelemetry trace, exported over OTLP/HTTP
// (JSON) to a collector. A receiver in the test (a MockHttpServer answering
// POST /v1/traces) collects the spans and the tests check the tree: one
// trace id, consistent parent ids, phases under the workflow, steps under
// their phase, compensations, HTTP CLIENT spans after the semantic
// conventions, and the sandbox seeing the traceparent of each HTTP span.
// Also: a caller's traceparent continues into the campaign; a collector
// that is down changes nothing for the workflow (spans are counted as
// dropped); a workflow resumed after a restart continues its trace under
// the same workflow span; and the exporter's queue is bounded.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapters/sandbox/sandbox.h"
#include "observability/log.h"
#include "observability/metrics.h"
#include "observability/otlp_exporter.h"
#include "observability/trace.h"
#include "tests/support/mock_http_server.h"
#include "tests/support/orchestrator_fixture.h"
#include "tests/support/otlp_receiver.h"
#include "tests/support/sandbox_fixture.h"

namespace orch::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kKindClient = 3;
constexpr const char* kPlantedToken = "SG.planted-secret-token-4d2e1b";
constexpr int kStatusError = 2;

int status_code(const json& span) { return span.value("status", json::object()).value("code", 0); }

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

auto workflow_span_of(const std::string& workflow_id) {
  return [workflow_id](const json& s) {
    return starts_with(s.value("name", ""), "workflow ") && attr(s, "workflow.id") == workflow_id;
  };
}

api::AppConfig traced_config(const TempDir& dir, const std::string& endpoint) {
  api::AppConfig config = test_config(dir.path);
  config.otlp.endpoint = endpoint;
  config.otlp.schedule_delay = 50ms;
  config.otlp.export_timeout = 2s;
  return config;
}

// The value of one Prometheus sample, or -1 when absent.
double sample(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(TraceContextTest, ParsesFormatsAndDerives) {
  auto ctx =
      observability::parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ctx->parent_span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(ctx->sampled);
  EXPECT_FALSE(
      observability::parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(
      observability::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  EXPECT_FALSE(
      observability::parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(observability::parse_traceparent("00-abc-def-01"));
  EXPECT_FALSE(observability::parse_traceparent(
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_TRUE(observability::parse_traceparent(
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_EQ(
      observability::format_traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  const std::string a = observability::derive_span_id("t", "wf/phase:research");
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, observability::derive_span_id("t", "wf/phase:research"));
  EXPECT_NE(a, observability::derive_span_id("t", "wf/phase:content"));
  EXPECT_NE(a, observability::derive_span_id("u", "wf/phase:research"));
  // The key given in pieces is the key joined: ids stay those of earlier runs.
  EXPECT_EQ(a, observability::derive_span_id("t", {"wf", "/phase:", "research"}));
  EXPECT_EQ(a, observability::derive_span_id("t", {"", "wf/phase:research", ""}));
  EXPECT_NE(a, observability::derive_span_id("t", {"wf", "/phase:", "content"}));
  // The value before the pieces form existed: a change would break the
  // traces of workflows running across an upgrade.
  EXPECT_EQ(a, "5cbecadbc9fd7850");
  // A seed of the key's first pieces derives the same ids from the rest.
  const observability::SpanIdSeed seed("t", {"wf", "/"});
  EXPECT_EQ(seed.derive({"phase:research"}), "5cbecadbc9fd7850");
  EXPECT_EQ(seed.derive({"phase:", "research"}), a);
  EXPECT_EQ(observability::SpanIdSeed("t", {}).derive({"wf/phase:research"}), a);
  EXPECT_NE(seed.derive({"phase:content"}), a);
  EXPECT_NE(observability::SpanIdSeed("u", {"wf", "/"}).derive({"phase:research"}), a);
  EXPECT_NE(observability::random_span_id(), observability::random_span_id());
}

// The exporter never blocks record(): with the collector stuck, the queue
// fills to its bound and further spans are dropped and counted; once the
// collector answers, what was queued is delivered as OTLP JSON.
TEST(OtlpExporterTest, BoundedQueueDropsAndCountsWhileTheCollectorIsStuck) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::promise<void> first_call;
  bool first = true;
  std::vector<std::string> bodies;
  auto post = [&](const std::string& body, std::chrono::milliseconds) {
    std::unique_lock lock(mu);
    bodies.push_back(body);
    if (first) {
      first = false;
      first_call.set_value();
    }
    cv.wait(lock, [&] { return release; });
    return std::string();
  };
  observability::Metrics metrics;
  observability::OtlpExporterOptions options;
  options.endpoint = "http://collector.invalid";
  options.max_queue_size = 4;
  options.max_export_batch_size = 2;
  options.schedule_delay = 10s;  // only full batches and flushes send
  observability::OtlpExporter exporter(options, post, &metrics);
  auto span = [](int i) {
    observability::Span s;
    s.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    s.span_id = observability::derive_span_id(s.trace_id, std::to_string(i));
    s.name = "span " + std::to_string(i);
    s.start_unix_ns = 1'700'000'000'000'000'000 + i;
    s.end_unix_ns = s.start_unix_ns + 1000;
    s.attr("i", i).attr("odd", i % 2 == 1);
    if (i == 1) s.fail("boom");
    return s;
  };
  exporter.record(span(0));
  exporter.record(span(1));  // a full batch: the exporter sends it and gets stuck
  first_call.get_future().wait();
  for (int i = 2; i < 8; ++i) exporter.record(span(i));  // 4 fit, 2 are dropped
  EXPECT_EQ(exporter.counters().dropped_queue_full, 2u);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  exporter.flush();
  const auto counters = exporter.counters();
  EXPECT_EQ(counters.exported, 6u);
  EXPECT_EQ(counters.dropped_export_failed, 0u);
  const std::string text = metrics.serialize();
  EXPECT_EQ(sample(text, "otel_spans_exported_total"), 6);
  EXPECT_EQ(sample(text, "otel_spans_dropped_total{reason=\"queue_full\"}"), 2);

  std::lock_guard lock(mu);
  ASSERT_EQ(bodies.size(), 3u);
  const json first_body = json::parse(bodies[0]);
  const json& s1 = first_body["resourceSpans"][0]["scopeSpans"][0]["spans"][1];
  EXPECT_EQ(s1["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(s1["spanId"].get<std::string>().size(), 16u);
  EXPECT_FALSE(s1.contains("parentSpanId"));
  EXPECT_EQ(s1["startTimeUnixNano"], "1700000000000000001");
  EXPECT_EQ(s1["kind"], 1);
  EXPECT_EQ(s1["status"]["code"], kStatusError);
  EXPECT_EQ(s1["status"]["message"], "boom");
  EXPECT_EQ(attr(s1, "i"), 1);
  EXPECT_EQ(attr(s1, "odd"), true);
}

// The acceptance test: a campaign that fails in distribution, as a tree.
TEST(OtlpTracesTest, FailedCampaignIsOneConsistentTree) {
  std::mutex log_mu;
  std::vector<json> logs;
  observability::set_log_sink([&](const std::string& line) {
    std::lock_guard lock(log_mu);
    logs.push_back(json::parse(line, nullptr, false));
  });
  OtlpReceiver collector;
  TestSandbox sb({}, /*record_requests=*/true);
  TempDir dir;
  api::AppConfig config = traced_config(dir, collector.endpoint());
  config.sandbox = false;
  config.log_level = "debug";
  config.adapters = adapters::AdapterConfig::pointing_at(sb.base_url());
  config.adapters.services["sendgrid"].token = kPlantedToken;
  api::OrchestratorApp app(config);
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  ApiClient sandbox(sb.base_url());

  const std::string id = "campaign-traced-failure";
  ASSERT_EQ(sandbox
                .post("/sandbox/faults",
                      {{"path_prefix", "/v3/mail/send"}, {"status", 400}, {"workflow_ids", {id}}})
                .status,
            201);
  json input = sample_campaign("traced");
  input["workflow_id"] = id;
  ASSERT_EQ(client.post("/v1/campaigns", input).status, 201);
  client.wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status,
            202);
  const json state = client.wait_for_status(id, "failed");
  const std::string trace_id = state.value("trace_id", "");
  ASSERT_EQ(trace_id.size(), 32u);

  const std::vector<json> spans = collector.wait_for(workflow_span_of(id));
  observability::set_log_sink(nullptr);
  observability::set_log_level(observability::LogLevel::info);

  // One trace; unique ids; one root; every parent is in the trace.
  std::map<std::string, json> by_id;
  for (const json& s : spans) {
    EXPECT_EQ(s["traceId"], trace_id) << s.dump();
    EXPECT_TRUE(by_id.emplace(s["spanId"].get<std::string>(), s).second)
        << "duplicate " << s.dump();
    EXPECT_LE(std::stoll(s["startTimeUnixNano"].get<std::string>()),
              std::stoll(s["endTimeUnixNano"].get<std::string>()))
        << s.dump();
  }
  std::string root;
  for (const json& s : spans) {
    const std::string parent = s.value("parentSpanId", "");
    if (parent.empty()) {
      EXPECT_TRUE(root.empty()) << "second root " << s.dump();
      root = s["spanId"];
      continue;
    }
    EXPECT_TRUE(by_id.count(parent)) << "parent not exported: " << s.dump();
  }
  ASSERT_FALSE(root.empty());
  const json& workflow = by_id[root];
  EXPECT_EQ(workflow["name"], "workflow marketing_campaign");
  EXPECT_EQ(attr(workflow, "workflow.status"), "failed");
  EXPECT_EQ(status_code(workflow), kStatusError);

  // Phases under the workflow; the one that failed says so; analytics never ran.
  std::map<std::string, std::string> phase_ids;  // phase -> span id
  for (const json& s : spans)
    if (starts_with(s["name"], "phase ")) {
      EXPECT_EQ(s["parentSpanId"], root) << s.dump();
      phase_ids[attr(s, "workflow.phase").get<std::string>()] = s["spanId"];
    }
  EXPECT_EQ(phase_ids.size(), 5u);
  for (const char* phase : {"research", "content", "design", "review", "distribution"})
    EXPECT_TRUE(phase_ids.count(phase)) << phase;
  EXPECT_FALSE(phase_ids.count("analytics"));
  EXPECT_EQ(status_code(by_id[phase_ids["distribution"]]), kStatusError);
  EXPECT_EQ(status_code(by_id[phase_ids["research"]]), 0);

  // Step attempts under their phase; compensations under the workflow.
  std::set<std::string> attempt_ids, compensation_ids;
  std::set<std::string> compensated;
  bool email_failed = false;
  for (const json& s : spans) {
    const std::string name = s["name"];
    if (starts_with(name, "step ")) {
      attempt_ids.insert(s["spanId"].get<std::string>());
      EXPECT_EQ(s["parentSpanId"], phase_ids[attr(s, "workflow.phase").get<std::string>()])
          << s.dump();
      EXPECT_TRUE(attr(s, "workflow.attempt").is_number()) << s.dump();
      if (name == "step distribution.email") email_failed = status_code(s) == kStatusError;
    } else if (starts_with(name, "compensate ")) {
      compensation_ids.insert(s["spanId"].get<std::string>());
      EXPECT_EQ(s["parentSpanId"], root) << s.dump();
      EXPECT_EQ(status_code(s), 0) << s.dump();
      compensated.insert(attr(s, "workflow.step").get<std::string>());
    }
  }
  EXPECT_TRUE(email_failed);
  EXPECT_GE(attempt_ids.size(), 14u);
  // remember_drafts, three renders, and the siblings social and blog.
  EXPECT_EQ(compensated.size(), 6u);
  EXPECT_TRUE(compensated.count("distribution.social") &&
              compensated.count("content.remember_drafts"));

  // HTTP CLIENT spans under a step or compensation attempt, per semconv.
  std::map<std::string, json> http_spans;  // span id -> span
  bool saw_400 = false;
  for (const json& s : spans) {
    if (s.value("kind", 0) != kKindClient) continue;
    http_spans[s["spanId"]] = s;
    const std::string parent = s["parentSpanId"];
    EXPECT_TRUE(attempt_ids.count(parent) || compensation_ids.count(parent)) << s.dump();
    EXPECT_EQ(s["name"], attr(s, "http.request.method"));
    EXPECT_TRUE(starts_with(attr(s, "url.full").get<std::string>(), sb.base_url())) << s.dump();
    EXPECT_EQ(attr(s, "server.address"), "127.0.0.1");
    EXPECT_TRUE(attr(s, "server.port").is_number());
    ASSERT_TRUE(attr(s, "http.response.status_code").is_number()) << s.dump();
    const int code = attr(s, "http.response.status_code").get<int>();
    if (code >= 400) {
      EXPECT_EQ(status_code(s), kStatusError) << s.dump();
      EXPECT_EQ(attr(s, "error.type"), std::to_string(code));
    }
    if (code == 400 &&
        attr(s, "url.full").get<std::string>().find("/v3/mail/send") != std::string::npos)
      saw_400 = true;
  }
  EXPECT_TRUE(saw_400);
  EXPECT_GE(http_spans.size(), attempt_ids.size() + compensation_ids.size());

  // The sandbox saw, on every call, a traceparent naming that call's span.
  int traced_requests = 0;
  for (const http::Request& r : sb.requests()) {
    const auto header = r.header("traceparent");
    if (starts_with(r.target, "/sandbox/")) continue;
    ASSERT_TRUE(header) << r.method << " " << r.target;
    const auto ctx = observability::parse_traceparent(*header);
    ASSERT_TRUE(ctx) << *header;
    ++traced_requests;
    EXPECT_EQ(ctx->trace_id, trace_id);
    auto it = http_spans.find(ctx->parent_span_id);
    ASSERT_NE(it, http_spans.end()) << "no HTTP span for " << r.method << " " << r.target;
    EXPECT_EQ(attr(it->second, "url.full"), sb.base_url() + r.target);
    EXPECT_EQ(attr(it->second, "http.request.method"), r.method);
  }
  EXPECT_EQ(traced_requests, static_cast<int>(http_spans.size()));

  // Log lines about an attempt carry that attempt's span id.
  int attempt_lines = 0;
  {
    std::lock_guard lock(log_mu);
    for (const json& line : logs) {
      if (!line.is_object() || line.value("workflow_id", "") != id) continue;
      const std::string message = line.value("message", "");
      EXPECT_EQ(line.value("trace_id", ""), trace_id);
      if (message == "step_completed" || message == "step_failed") {
        ++attempt_lines;
        EXPECT_TRUE(attempt_ids.count(line.value("span_id", ""))) << line.dump();
      } else if (message == "compensation_completed") {
        EXPECT_TRUE(compensation_ids.count(line.value("span_id", ""))) << line.dump();
      }
    }
  }
  EXPECT_GE(attempt_lines, 14);

  // Secrets never appear in traces, even from the service that failed.
  for (const json& s : spans) EXPECT_EQ(s.dump().find(kPlantedToken), std::string::npos);

  // The exporter counts a batch once the collector has answered, which can
  // be just after the test read the spans the collector holds: flush first.
  ASSERT_NE(app.span_exporter(), nullptr);
  app.span_exporter()->flush();
  const std::string metrics = app.metrics().serialize();
  EXPECT_GE(sample(metrics, "otel_spans_exported_total"), static_cast<double>(spans.size()));
  EXPECT_EQ(sample(metrics, "otel_spans_dropped_total{reason=\"queue_full\"}"), 0);
  std::printf("exported %zu spans for one campaign failing in distribution (%zu HTTP)\n",
              spans.size(), http_spans.size());
}

TEST(OtlpTracesTest, CallersTraceparentContinuesIntoTheCampaign) {
  const std::string caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller_span = "00f067aa0ba902b7";
  OtlpReceiver collector;
  TempDir dir;
  api::OrchestratorApp app(traced_config(dir, collector.endpoint()));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  HttpReply started =
      client.post("/v1/campaigns", sample_campaign("continued"),
                  {{"traceparent", "00-" + caller_trace + "-" + caller_span + "-01"}});
  ASSERT_EQ(started.status, 201) << started.raw;
  const std::string id = started.body["workflow_id"];
  EXPECT_EQ(client.wait_for_status(id, "awaiting_approval")["trace_id"], caller_trace);
  ASSERT_EQ(client.post("/v1/workflows/" + id + "/cancel", {{"reason", "enough"}}).status, 202);
  client.wait_for_status(id, "cancelled");

  const std::vector<json> spans = collector.wait_for(workflow_span_of(id));
  int roots_under_caller = 0;
  for (const json& s : spans) {
    EXPECT_EQ(s["traceId"], caller_trace) << s.dump();
    if (workflow_span_of(id)(s)) {
      EXPECT_EQ(s.value("parentSpanId", ""), caller_span);
      EXPECT_EQ(attr(s, "workflow.status"), "cancelled");
      ++roots_under_caller;
    }
  }
  EXPECT_EQ(roots_under_caller, 1);
}

TEST(OtlpTracesTest, CollectorDownHasNoEffectOnTheWorkflow) {
  std::string closed;
  {
    MockHttpServer gone;  // a port that was just free; nothing listens on it now
    closed = gone.base_url();
  }
  TempDir dir;
  api::OrchestratorApp app(traced_config(dir, closed));
  ASSERT_EQ(app.start(), "");
  ApiClient client(app.base_url());
  const std::string id =
      client.post("/v1/campaigns", sample_campaign("untraced")).body["workflow_id"];
  client.wait_for_status(id, "awaiting_approval");
  ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status,
            202);
  const json state = client.wait_for_status(id, "completed");
  EXPECT_EQ(state["progress_percentage"], 100);
  EXPECT_EQ(app.sandbox()->ledger_for(id)["side_effects"].size(), 15u);

  ASSERT_NE(app.span_exporter(), nullptr);
  app.span_exporter()->flush();
  const auto counters = app.span_exporter()->counters();
  EXPECT_EQ(counters.exported, 0u);
  EXPECT_GT(counters.dropped_export_failed, 20u);
  EXPECT_GE(counters.failed_exports, 1u);
  const std::string metrics = app.metrics().serialize();
  EXPECT_EQ(sample(metrics, "otel_spans_dropped_total{reason=\"export_failed\"}"),
            static_cast<double>(counters.dropped_export_failed));
  EXPECT_EQ(sample(metrics, "otel_spans_exported_total"), 0);
}

TEST(OtlpTracesTest, ResumedWorkflowContinuesItsTraceAfterARestart) {
  OtlpReceiver collector;
  TempDir dir;
  std::string id, trace_id;
  {
    api::OrchestratorApp before(traced_config(dir, collector.endpoint()));
    ASSERT_EQ(before.start(), "");
    ApiClient client(before.base_url());
    id = client.post("/v1/campaigns", sample_campaign("restarted")).body["workflow_id"];
    trace_id = client.wait_for_status(id, "awaiting_approval")["trace_id"];
  }  // stopped mid-approval-wait; stopping sends the queued spans
  std::vector<json> first = collector.spans();
  std::string workflow_span;
  std::set<std::string> first_ids;
  for (const json& s : first) {
    first_ids.insert(s["spanId"].get<std::string>());
    if (s["name"] == "phase research") workflow_span = s["parentSpanId"];
  }
  ASSERT_FALSE(workflow_span.empty()) << first.size() << " spans before the restart";
  const auto restarted_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();

  api::OrchestratorApp after(traced_config(dir, collector.endpoint()));
  ASSERT_EQ(after.start(), "");
  EXPECT_EQ(after.recovered_workflows(), 1u);
  ApiClient client(after.base_url());
  ASSERT_EQ(client.post("/v1/workflows/" + id + "/signals/approve", {{"reviewer", "alice"}}).status,
            202);
  client.wait_for_status(id, "completed");
  const std::vector<json> all = collector.wait_for(workflow_span_of(id));

  std::map<std::string, json> by_id;
  for (const json& s : all) by_id[s["spanId"]] = s;
  ASSERT_TRUE(by_id.count(workflow_span)) << "the workflow span after the restart has another id";
  const json& workflow = by_id[workflow_span];
  EXPECT_TRUE(workflow_span_of(id)(workflow));
  EXPECT_EQ(workflow["traceId"], trace_id);
  EXPECT_EQ(attr(workflow, "workflow.status"), "completed");
  int after_restart = 0;
  for (const json& s : all) {
    EXPECT_EQ(s["traceId"], trace_id) << s.dump();
    const std::string parent = s.value("parentSpanId", "");
    if (!parent.empty()) {
      EXPECT_TRUE(by_id.count(parent)) << "orphan " << s.dump();
    }
    if (first_ids.count(s["spanId"].get<std::string>())) continue;
    ++after_restart;
  }
  EXPECT_GT(after_restart, 10);
  // The review phase began before the restart and ended after it: one span,
  // dated from the journal, parent of the review steps exported before.
  bool review_spans_restart = false;
  for (const json& s : all)
    if (s["name"] == "phase review") {
      EXPECT_EQ(s["parentSpanId"], workflow_span);
      EXPECT_LT(std::stoll(s["startTimeUnixNano"].get<std::string>()), restarted_ns);
      EXPECT_GT(std::stoll(s["endTimeUnixNano"].get<std::string>()), restarted_ns);
      for (const json& step : first)
        if (step["name"] == "step review.pull_request")
          review_spans_restart = step["parentSpanId"] == s["spanId"];
    }
  EXPECT_TRUE(review_spans_restart);
}

}  // namespace
}  // namespace orch::testing
