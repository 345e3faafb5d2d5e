#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing need; does
# nothing when they are all present. Uses sudo when not run as root.
set -euo pipefail
# prometheus provides the server and promtool the deploy/ tests run;
# libbenchmark-dev (Google Benchmark) the microbenchmarks in tests/bench/;
# libsimdjson-dev (simdjson) reads JSON text (engine/json_read.cpp);
# libssl-dev (OpenSSL's libcrypto) computes SHA-256 (engine/digest.cpp);
# python3 and python3-jsonschema validate responses against the OpenAPI
# document (openapi_test), chromium renders GET /docs (docs_page_test);
# clang and libclang-rt-14-dev (libFuzzer's runtime for clang 14) build the
# fuzz targets in tests/fuzz/; jq and curl run the documentation's shell blocks
# (tests/docs/run_page.py); libhowardhinnant-date-dev and tzdata the user
# actors' calendar windows in IANA time zones; libssl-dev is also TLS (OpenSSL
# 3) for the outbound client and the REST API; libboost-url1.81-dev is
# Boost.URL's compiled part (not among libboost1.81-all-dev's dependencies).
packages=(build-essential cmake libboost1.81-all-dev libboost-url1.81-dev nlohmann-json3-dev
          prometheus-cpp-dev libgtest-dev libsqlite3-dev prometheus libbenchmark-dev
          libsimdjson-dev libssl-dev python3 python3-jsonschema chromium clang
          libclang-rt-14-dev jq curl libhowardhinnant-date-dev tzdata)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
