// The benchmark's report: the figures of the run worked out once, a table
// for people and one JSON line (CONTRACT.md), and whether the side effects
// were what the campaigns' ends imply.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "api/cli/bench_harness.h"

namespace orch::api::bench {

using nlohmann::json;

namespace {

// The standard input: one competitor URL and three channels.
constexpr long long kEffectsPerCompleted = 15;
// Failed in distribution: the email was refused, so it and analytics did not
// happen; social and blog (its parallel siblings) did and were compensated.
constexpr long long kEffectsPerFailedInDistribution = 13;
// Waiting at review: research 3, content 3, design 3, review 2.
constexpr long long kEffectsPerParked = 11;
// Failed in distribution: drafts, three renders, social and blog undone.
constexpr long long kCompensationsPerFailedInDistribution = 6;

}  // namespace

int Bench::report(const Driver::Result& r, const Driver::Result& resumed,
                  const ProcessSample& empty, const ProcessSample& before,
                  const ProcessSample& after, const JournalFigures& j0, const JournalFigures& j1,
                  const json& ledger, json parked) {
  const ProcessSample last = sample_process(orchestrator_);
  const Figures f = figures(r, resumed, j0, j1, ledger);
  json result = result_json(f, r, empty, before, after, j0, j1, last);
  if (!parked.is_null()) result["parked"] = std::move(parked);
  print_table(f, r, result, empty, before, after, last);
  std::printf("%s\n", result.dump().c_str());
  std::fflush(stdout);
  return f.correct ? 0 : 1;
}

Bench::Figures Bench::figures(const Driver::Result& r, const Driver::Result& resumed,
                              const JournalFigures& j0, const JournalFigures& j1,
                              const json& ledger) const {
  Figures f;
  f.seconds = r.seconds > 0 ? r.seconds : 1e-9;
  f.n = std::max(1, o_.workflows);
  f.records = j1.records - j0.records;
  f.commits = j1.commits - j0.commits;
  f.appends = j1.appends - j0.appends;
  f.side_effects = ledger.is_object() ? ledger.value("side_effects", 0LL) : -1;
  f.duplicates = ledger.is_object() ? ledger.value("replays", 0LL) : -1;
  f.compensations = ledger.is_object() ? ledger.value("compensations", 0LL) : -1;
  f.completed = r.completed + resumed.completed;
  f.failed = r.failed + resumed.failed;
  f.still_parked = o_.park_only ? o_.parked : 0;
  f.expected = kEffectsPerCompleted * f.completed +
               kEffectsPerFailedInDistribution * f.failed +
               kEffectsPerParked * f.still_parked;
  f.errors = r.errors + resumed.errors + r.cancelled + resumed.cancelled;
  // Poisoned campaigns: each failed and undid its completed steps; no
  // healthy one failed, none was left unfinished at the deadline.
  const bool poison_ok =
      o_.poison_rate == 0 ||
      (r.mismatched == 0 && f.compensations == kCompensationsPerFailedInDistribution * f.failed);
  f.correct = f.errors == 0 && f.duplicates == 0 && f.side_effects == f.expected &&
              r.unfinished == 0 && poison_ok &&
              f.completed + f.failed + f.still_parked ==
                  static_cast<long long>(o_.workflows) + o_.parked &&
              (o_.fail_rate > 0 || o_.poison_rate > 0 || f.failed == 0);
  return f;
}

json Bench::result_json(const Figures& f, const Driver::Result& r, const ProcessSample& empty,
                        const ProcessSample& before, const ProcessSample& after,
                        const JournalFigures& j0, const JournalFigures& j1,
                        const ProcessSample& last) const {
  const auto& lat = r.latencies_ms;
  return {
      {"workflows", o_.workflows},
      {"concurrency", o_.concurrency},
      {"sandbox_latency_ms", o_.latency_ms},
      {"sandbox_tls", o_.tls},
      {"fail_rate", o_.fail_rate},
      {"poison_rate", o_.poison_rate},
      {"mismatched", r.mismatched},
      {"unfinished", r.unfinished},
      {"completed", r.completed},
      {"failed", r.failed},
      {"errors", f.errors},
      {"seconds", r.seconds},
      {"campaigns_per_second", static_cast<double>(o_.workflows) / f.seconds},
      {"latency_ms",
       {{"p50", percentile(lat, 0.50)},
        {"p95", percentile(lat, 0.95)},
        {"p99", percentile(lat, 0.99)},
        {"max", lat.empty() ? 0.0 : *std::max_element(lat.begin(), lat.end())}}},
      {"journal",
       {{"records_per_second", f.records / f.seconds},
        {"fsyncs_per_second", f.commits / f.seconds},
        {"mean_batch_appends", f.commits > 0 ? f.appends / f.commits : 0.0},
        {"mean_batch_records", f.commits > 0 ? f.records / f.commits : 0.0},
        {"mean_commit_ms",
         f.commits > 0 ? 1000 * (j1.commit_seconds - j0.commit_seconds) / f.commits : 0.0}}},
      {"orchestrator_cpu_seconds_per_campaign", (after.cpu_seconds - before.cpu_seconds) / f.n},
      {"orchestrator_cpu_utilisation", (after.cpu_seconds - before.cpu_seconds) / f.seconds},
      {"sandbox_cpu_seconds_per_campaign", sandbox_cpu_ / f.n},
      {"client_cpu_seconds_per_campaign", client_cpu_ / f.n},
      {"orchestrator_rss_empty_bytes", empty.rss_bytes},
      {"side_effects", f.side_effects},
      {"expected_side_effects", f.expected},
      {"duplicates", f.duplicates},
      {"compensations", f.compensations},
      {"peak_rss_bytes", last.peak_rss_bytes},
      {"correct", f.correct},
      {"mode",
       "separate processes: orchestrator serve (SQLite, fsync on), sandbox, this client"}};
}

void Bench::print_table(const Figures& f, const Driver::Result& r, const json& result,
                        const ProcessSample& empty, const ProcessSample& before,
                        const ProcessSample& after, const ProcessSample& last) const {
  std::printf(
      "campaigns            %d (concurrency %d, sandbox latency %d ms, fail rate %.2f%s)\n",
      o_.workflows, o_.concurrency, o_.latency_ms, o_.fail_rate,
      o_.tls ? ", sandbox over HTTPS" : "");
  if (o_.workflows > 0) {
    std::printf("campaigns/s          %.1f  (%.2f s; %d completed, %d failed)\n",
                result["campaigns_per_second"].get<double>(), r.seconds, r.completed, r.failed);
    std::printf("latency ms           p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n",
                result["latency_ms"]["p50"].get<double>(),
                result["latency_ms"]["p95"].get<double>(),
                result["latency_ms"]["p99"].get<double>(),
                result["latency_ms"]["max"].get<double>());
    std::printf("journal              %.0f records/s, %.0f fsyncs/s, %.1f appends (%.1f records) "
                "per group commit of %.2f ms\n",
                f.records / f.seconds, f.commits / f.seconds,
                f.commits > 0 ? f.appends / f.commits : 0.0,
                f.commits > 0 ? f.records / f.commits : 0.0,
                result["journal"]["mean_commit_ms"].get<double>());
    std::printf("orchestrator cpu     %.3f ms per campaign (%.0f %% of one core)\n",
                1000 * (after.cpu_seconds - before.cpu_seconds) / f.n,
                100 * (after.cpu_seconds - before.cpu_seconds) / f.seconds);
    std::printf("sandbox, client cpu  %.3f, %.3f ms per campaign\n", 1000 * sandbox_cpu_ / f.n,
                1000 * client_cpu_ / f.n);
  }
  std::printf("orchestrator RSS     peak %.1f MiB (empty server %.1f MiB)\n",
              static_cast<double>(last.peak_rss_bytes) / (1 << 20),
              static_cast<double>(empty.rss_bytes) / (1 << 20));
  if (result.contains("parked")) {
    const json& p = result["parked"];
    std::printf("parked               %d at review in %.2f s: %.0f bytes RSS each (live, "
                "%lld in memory %.1f s later), %.0f bytes each after restart\n",
                o_.parked, p["park_seconds"].get<double>(),
                p["rss_per_parked_bytes"].get<double>(),
                p["resident_when_sampled"].get<long long>(), p["settle_seconds"].get<double>(),
                p["rss_recovered_per_parked_bytes"].get<double>());
    std::printf("restart and recover  %.3f s to ready; resumed and finished in %.2f s\n",
                p["recover_seconds"].get<double>(), p["resume_seconds"].get<double>());
  }
  std::printf("side effects         %lld of %lld expected, %lld duplicates, %lld compensations, "
              "%d errors\n",
              f.side_effects, f.expected, f.duplicates, f.compensations, f.errors);
  if (o_.poison_rate > 0 || r.unfinished > 0)
    std::printf("poisoned             %d ended otherwise than their input implies, %d not ended "
                "by the deadline\n",
                r.mismatched, r.unfinished);
}

}  // namespace orch::api::bench
