// Exports finished spans over OTLP/HTTP with the JSON encoding
// (POST {endpoint}/v1/traces), the way OpenTelemetry's batch span processor
// does: record() only appends to a bounded queue; one exporter thread sends
// a batch when it is full or when the schedule delay has passed. When the
// queue is full a span is dropped and counted; when the collector is down or
// slow a batch fails after its timeout and its spans are dropped and
// counted. Nothing here ever waits on the collector in record(), so a
// collector outage has no effect on workflows.
//
// Metrics: otel_spans_exported_total, otel_spans_dropped_total{reason}
// (queue_full, export_failed).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "observability/trace.h"

namespace orch::observability {

class Metrics;

// Defaults follow the OpenTelemetry SDK's batch span processor, except the
// schedule delay (1 s instead of 5 s, so a campaign shows up promptly) and
// the export timeout (5 s instead of 30 s, so a black-holed collector costs
// little at shutdown).
struct OtlpExporterOptions {
  std::string endpoint;  // base URL, e.g. "http://tempo:4318"; "" = tracing off
  std::size_t max_queue_size = 2048;
  std::size_t max_export_batch_size = 512;
  std::chrono::milliseconds schedule_delay{1000};
  std::chrono::milliseconds export_timeout{5000};
  std::string service_name = "campaign-orchestrator";
};

// Sends one request body to the collector's /v1/traces and waits at most
// `timeout`. Returns "" when the collector accepted it (2xx), else why not.
// Called only on the exporter thread.
using OtlpPost =
    std::function<std::string(const std::string& body, std::chrono::milliseconds timeout)>;

// The ExportTraceServiceRequest for `spans`, in OTLP's JSON encoding.
std::string otlp_json(const std::vector<Span>& spans, const std::string& service_name);

class OtlpExporter final : public SpanSink {
 public:
  struct Counters {
    std::uint64_t exported = 0;
    std::uint64_t dropped_queue_full = 0;
    std::uint64_t dropped_export_failed = 0;
    std::uint64_t failed_exports = 0;  // requests, not spans
  };

  // `metrics` may be null; otherwise it must outlive the exporter.
  OtlpExporter(OtlpExporterOptions options, OtlpPost post, Metrics* metrics);
  // Sends what is still queued (stopping at the first failed batch), then
  // joins the exporter thread.
  ~OtlpExporter() override;
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Never blocks on I/O: queues the span, or drops and counts it.
  void record(Span span) override;
  // Sends everything recorded before the call now, and returns once each of
  // those spans was exported or dropped.
  void flush();
  Counters counters() const;

 private:
  void run();
  // Sends `batch`; updates counters. Called without `mu_` held.
  bool send(std::vector<Span>& batch);

  // Constant after construction.
  const OtlpExporterOptions options_;
  const OtlpPost post_;
  Metrics* const metrics_;

  mutable std::mutex mu_;
  std::condition_variable wake_;      // the exporter thread waits on it
  std::condition_variable progress_;  // flush() waits on it
  std::deque<Span> queue_;            // GUARDED_BY(mu_)
  std::uint64_t queued_total_ = 0;    // GUARDED_BY(mu_): spans ever queued
  std::uint64_t settled_total_ = 0;   // GUARDED_BY(mu_): of those, exported or dropped
  std::uint64_t flush_until_ = 0;     // GUARDED_BY(mu_): flush requested up to here
  bool stopping_ = false;             // GUARDED_BY(mu_)
  bool collector_down_ = false;       // exporter thread only: for logging transitions
  Counters counters_;                 // GUARDED_BY(mu_)
  std::thread thread_;                // last: starts after everything above exists
};

}  // namespace orch::observability
