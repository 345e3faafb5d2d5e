#include "observability/otlp_exporter.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "observability/log.h"
#include "observability/metrics.h"

namespace orch::observability {

using nlohmann::json;

namespace {

json encode_value(const std::variant<std::string, std::int64_t, double, bool>& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return {{"stringValue", *s}};
  // proto3's JSON mapping writes 64-bit integers as strings.
  if (const auto* i = std::get_if<std::int64_t>(&v)) return {{"intValue", std::to_string(*i)}};
  if (const auto* d = std::get_if<double>(&v)) return {{"doubleValue", *d}};
  return {{"boolValue", std::get<bool>(v)}};
}

json encode_span(const Span& s) {
  json attributes = json::array();
  for (const SpanAttribute& a : s.attributes)
    attributes.push_back({{"key", a.key}, {"value", encode_value(a.value)}});
  json out = {{"traceId", s.trace_id},
              {"spanId", s.span_id},
              {"name", s.name},
              {"kind", static_cast<int>(s.kind)},
              {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
              {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
              {"attributes", std::move(attributes)}};
  if (!s.parent_span_id.empty()) out["parentSpanId"] = s.parent_span_id;
  json status = {{"code", static_cast<int>(s.status)}};
  if (s.status == SpanStatusCode::error && !s.status_message.empty())
    status["message"] = s.status_message;
  out["status"] = std::move(status);
  return out;
}

}  // namespace

std::string otlp_json(const std::vector<Span>& spans, const std::string& service_name) {
  json encoded = json::array();
  for (const Span& s : spans) encoded.push_back(encode_span(s));
  json body = {
      {"resourceSpans",
       json::array({{{"resource",
                      {{"attributes", json::array({{{"key", "service.name"},
                                                    {"value", {{"stringValue", service_name}}}},
                                                   {{"key", "telemetry.sdk.language"},
                                                    {"value", {{"stringValue", "cpp"}}}}})}}},
                     {"scopeSpans", json::array({{{"scope", {{"name", "campaign-orchestrator"}}},
                                                  {"spans", std::move(encoded)}}})}}})}};
  // Error messages come from services: never let bad UTF-8 stop an export.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

OtlpExporter::OtlpExporter(OtlpExporterOptions options, OtlpPost post, Metrics* metrics)
    : options_(std::move(options)),
      post_(std::move(post)),
      metrics_(metrics),
      thread_([this] { run(); }) {}

OtlpExporter::~OtlpExporter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void OtlpExporter::record(Span span) {
  bool full_batch = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue_size) {
      ++counters_.dropped_queue_full;
      if (metrics_) metrics_->spans_dropped("queue_full", 1);
      return;
    }
    queue_.push_back(std::move(span));
    ++queued_total_;
    full_batch = queue_.size() >= options_.max_export_batch_size;
  }
  if (full_batch) wake_.notify_one();
}

void OtlpExporter::flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = queued_total_;
  flush_until_ = std::max(flush_until_, target);
  wake_.notify_one();
  progress_.wait(lock, [&] { return settled_total_ >= target || stopping_; });
}

OtlpExporter::Counters OtlpExporter::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void OtlpExporter::run() {
  std::unique_lock lock(mu_);
  while (true) {
    const auto deadline = std::chrono::steady_clock::now() + options_.schedule_delay;
    wake_.wait_until(lock, deadline, [&] {
      return stopping_ || queue_.size() >= options_.max_export_batch_size ||
             flush_until_ > settled_total_;
    });
    if (stopping_) break;
    // Send full batches back to back, then whatever is left (the delay passed
    // or a flush asked for it).
    while (!queue_.empty() && !stopping_) {
      std::vector<Span> batch;
      const std::size_t n = std::min(queue_.size(), options_.max_export_batch_size);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lock.unlock();
      send(batch);
      lock.lock();
      settled_total_ += n;
      progress_.notify_all();
      if (queue_.size() < options_.max_export_batch_size && flush_until_ <= settled_total_) break;
    }
  }
  // Shutting down: one try for what is left; after a failure drop the rest
  // rather than wait a timeout per batch.
  bool ok = true;
  while (!queue_.empty()) {
    std::vector<Span> batch;
    const std::size_t n = std::min(queue_.size(), options_.max_export_batch_size);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (ok) {
      lock.unlock();
      ok = send(batch);
      lock.lock();
    } else {
      counters_.dropped_export_failed += n;
      if (metrics_) metrics_->spans_dropped("export_failed", static_cast<double>(n));
    }
    settled_total_ += n;
  }
  progress_.notify_all();
}

bool OtlpExporter::send(std::vector<Span>& batch) {
  if (batch.empty()) return true;
  const std::string error = post_(otlp_json(batch, options_.service_name), options_.export_timeout);
  const double n = static_cast<double>(batch.size());
  {
    std::lock_guard lock(mu_);
    if (error.empty()) {
      counters_.exported += batch.size();
    } else {
      counters_.dropped_export_failed += batch.size();
      ++counters_.failed_exports;
    }
  }
  if (metrics_) {
    if (error.empty())
      metrics_->spans_exported(n);
    else
      metrics_->spans_dropped("export_failed", n);
  }
  // Log the transitions only: a collector that stays down must not flood
  // the logs with one line per batch.
  if (!error.empty() && !collector_down_)
    log(LogLevel::warn, "trace export failed; spans are dropped until the collector answers",
        {{"endpoint", options_.endpoint}, {"error", error}, {"spans", batch.size()}});
  else if (error.empty() && collector_down_)
    log(LogLevel::info, "trace export recovered", {{"endpoint", options_.endpoint}});
  collector_down_ = !error.empty();
  return error.empty();
}

}  // namespace orch::observability
