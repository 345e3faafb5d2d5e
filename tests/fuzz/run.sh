#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in a build directory of their own
# and runs each for a bounded number of inputs, starting from its committed
# seed corpus (tests/fuzz/corpus/<target>). Fails on any crash, sanitizer
# report, leak, timeout or out-of-memory: libFuzzer exits non-zero and leaves
# the input as crash-*, leak-*, timeout-* or oom-* in <build>/fuzz/<target>.out/.
#
#   tests/fuzz/run.sh                  # 200,000 runs each (the CI step)
#   ORCH_FUZZ_RUNS=5000000 tests/fuzz/run.sh
#   build-fuzz/fuzz/http_request_fuzzer <input>   # replay one input
#
# The targets run two at a time (one core each). New inputs libFuzzer
# finds stay in the build directory; the seed corpus is never written.
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${ORCH_FUZZ_BUILD_DIR:-build-fuzz}
runs=${ORCH_FUZZ_RUNS:-200000}
# A bound on the wall time too, in case a slow machine makes the runs crawl.
seconds=${ORCH_FUZZ_SECONDS:-180}

launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DORCH_FUZZ=ON -DORCH_BUILD_TESTS=OFF "${launcher[@]}" > /dev/null
cmake --build "$build" -j2 --target http_request_fuzzer campaign_input_fuzzer audience_fuzzer

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# run TARGET MAX_LEN: its output goes to <build>/fuzz/TARGET.out/log.
run() {
  local target=$1 max_len=$2
  local work="$build/fuzz/$target.out"
  rm -rf "$work" && mkdir -p "$work/corpus"
  "$build/fuzz/${target}" -runs="$runs" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
    "$work/corpus" "tests/fuzz/corpus/$target" > "$work/log" 2>&1
}

# report NAME PID: waits for the run and says how it went.
status=0
report() {
  local name=$1 pid=$2
  if wait "$pid"; then
    echo "$name: $(grep -E '^Done [0-9]+ runs' "$build/fuzz/$name.out/log")"
  else
    status=1
    echo "$name FAILED; the end of $build/fuzz/$name.out/log:"
    tail -n 40 "$build/fuzz/$name.out/log"
    ls "$build/fuzz/$name.out/" | grep -E '^(crash|leak|timeout|oom)-' || true
  fi
}

# The HTTP inputs reach past the read buffer (24 KiB) with room to spare.
run http_request_fuzzer 40960 & http_pid=$!
run campaign_input_fuzzer 8192 & json_pid=$!
report campaign_input_fuzzer "$json_pid"
run audience_fuzzer 8192 & audience_pid=$!
report http_request_fuzzer "$http_pid"
report audience_fuzzer "$audience_pid"
exit $status
