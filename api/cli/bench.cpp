// `orchestrator bench`: its command line, then one run of the campaign
// benchmark (bench_harness.h), of the reservation one
// (bench_reservations.h), the broadcast one (bench_broadcasts.h) or the
// events one (bench_events.h).
#include "api/cli/bench.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "api/cli/bench_broadcasts.h"
#include "api/cli/bench_events.h"
#include "api/cli/bench_harness.h"
#include "api/cli/bench_reservations.h"

namespace orch::api {

namespace {

using bench::Bench;
using bench::BenchOptions;

bool parse_int(const std::string& s, int min, int* out) {
  if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  *out = std::stoi(s);
  return *out >= min;
}

bool parse_rate(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0' && *out >= 0.0 && *out <= 1.0;
}

int bench_usage() {
  std::fprintf(stderr,
               "usage: orchestrator bench --workflows N --concurrency C [--parked M] "
               "[--park-only] [--fail-rate R] [--poison-rate R] [--deadline SECONDS] "
               "[--latency MS] [--outbound-io-thread] [--tls] [--keep]\n"
               "       orchestrator bench --reservations N --users U [--concurrency C] "
               "[--idle-users M] [--keep]\n"
               "       orchestrator bench --broadcast N [--broadcasts K] [--latency MS] "
               "[--concurrency C] [--keep]\n"
               "       orchestrator bench --events N [--customers C] [--batch B] [--rate R] "
               "[--rate-seconds S] [--backlog M] [--concurrency A] [--latency MS] [--keep]\n");
  return 2;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  BenchOptions o;
  ReservationBenchOptions users;
  bool reservations = false;
  BroadcastBenchOptions broadcast;
  bool broadcasting = false;
  EventBenchOptions events;
  bool eventing = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool has = i + 1 < args.size();
    bool ok = has;
    if (args[i] == "--reservations" && has) {
      ok = parse_int(args[++i], 1, &users.reservations);
      reservations = true;
    } else if (args[i] == "--broadcast" && has) {
      ok = parse_int(args[++i], 1, &broadcast.customers);
      broadcasting = true;
    } else if (args[i] == "--events" && has) {
      ok = parse_int(args[++i], 1, &events.events);
      eventing = true;
    } else if (args[i] == "--customers" && has) ok = parse_int(args[++i], 1, &events.customers);
    else if (args[i] == "--batch" && has) ok = parse_int(args[++i], 1, &events.batch) && events.batch <= 1000;
    else if (args[i] == "--rate" && has) ok = parse_int(args[++i], 0, &events.rate);
    else if (args[i] == "--rate-seconds" && has) ok = parse_int(args[++i], 0, &events.rate_seconds);
    else if (args[i] == "--backlog" && has) ok = parse_int(args[++i], 0, &events.backlog);
    else if (args[i] == "--broadcasts" && has) ok = parse_int(args[++i], 1, &broadcast.broadcasts);
    else if (args[i] == "--users" && has) ok = parse_int(args[++i], 1, &users.users);
    else if (args[i] == "--idle-users" && has) ok = parse_int(args[++i], 0, &users.idle_users);
    else if (args[i] == "--workflows" && has) ok = parse_int(args[++i], 0, &o.workflows);
    else if (args[i] == "--concurrency" && has) ok = parse_int(args[++i], 1, &o.concurrency);
    else if (args[i] == "--parked" && has) ok = parse_int(args[++i], 0, &o.parked);
    else if (args[i] == "--fail-rate" && has) ok = parse_rate(args[++i], &o.fail_rate);
    else if (args[i] == "--poison-rate" && has) ok = parse_rate(args[++i], &o.poison_rate);
    else if (args[i] == "--deadline" && has) ok = parse_int(args[++i], 1, &o.deadline_seconds);
    else if (args[i] == "--latency" && has) ok = parse_int(args[++i], 0, &o.latency_ms);
    else if (args[i] == "--keep") ok = (o.keep = true);
    else if (args[i] == "--park-only") ok = (o.park_only = true);
    else if (args[i] == "--outbound-io-thread") ok = (o.outbound_io_thread = true);
    else if (args[i] == "--tls") ok = (o.tls = true);
    else ok = false;
    if (!ok) return bench_usage();
  }
  if (eventing) {
    if (std::find(args.begin(), args.end(), "--concurrency") != args.end())
      events.action_concurrency = o.concurrency;
    events.latency_ms = o.latency_ms;
    events.keep = o.keep;
    return run_event_bench(events);
  }
  if (broadcasting) {
    // 512 messages in flight in all unless told: more only grows the
    // connection pool (10 x 512 held ~550 MiB and slowed other requests).
    broadcast.concurrency = std::find(args.begin(), args.end(), "--concurrency") != args.end()
                                ? o.concurrency
                                : std::max(32, 512 / broadcast.broadcasts);
    broadcast.latency_ms = o.latency_ms;
    broadcast.keep = o.keep;
    return run_broadcast_bench(broadcast);
  }
  if (reservations) {
    if (std::find(args.begin(), args.end(), "--concurrency") != args.end())
      users.concurrency = o.concurrency;
    users.keep = o.keep;
    return run_reservation_bench(users);
  }
  if (o.workflows == 0 && o.parked == 0) return bench_usage();
  Bench bench(o);
  return bench.run();
}

}  // namespace orch::api
