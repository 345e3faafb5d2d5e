#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing need; does
# nothing when they are all present. Uses sudo when not run as root.
set -euo pipefail
# prometheus provides the server and promtool the deploy/ tests run;
# libbenchmark-dev (Google Benchmark) the microbenchmarks in tests/bench/;
# python3 and python3-jsonschema validate responses against the OpenAPI
# document (openapi_test), chromium renders GET /docs (docs_page_test);
# clang and libclang-rt-14-dev (libFuzzer's runtime for clang 14) build the
# fuzz targets in tests/fuzz/. libssl-dev: TLS (OpenSSL 3) for the outbound
# client and the REST API; libboost-url1.81-dev: Boost.URL's compiled part
# (it is not among libboost1.81-all-dev's dependencies).
packages=(build-essential cmake libboost1.81-all-dev libboost-url1.81-dev libssl-dev
          nlohmann-json3-dev prometheus-cpp-dev libgtest-dev libsqlite3-dev prometheus
          libbenchmark-dev python3 python3-jsonschema chromium clang libclang-rt-14-dev)
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
