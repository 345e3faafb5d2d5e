// Microbenchmarks of SHA-256 as the orchestrator uses it (Google Benchmark;
// not part of the CTest run). Build and run (README "Performance"):
//   cmake --build build --target digest_bench && ./build/tests/bench/digest_bench
//
// Two inputs: an API token (43 characters, 32 random bytes in base64url),
// hashed on every authenticated request, and the canonical text of the
// benchmark's campaign input (the start body in
// tests/bench/json_samples/request_bodies.jsonl), hashed on every start.
// BM_Sha256/<how>/<input>:
//   evp         orch::sha256_hex: OpenSSL EVP, the SHA-256 implementation
//               fetched once, a context reused per thread
//   evp_digest  EVP_Digest(..., EVP_sha256(), ...): a context allocated and
//               the implementation looked up again on every call
//   fnv1a       the 64-bit FNV-1a the engine's input hash used before
//               (not collision resistant; for scale only)
// The hand-written api/sha256.cpp these replaced is measured by this file
// at commit a3e0cb3 (BM_Sha256/hand_written).
//
// Instructions per call: `digest_bench --calls N HOW INPUT` under
//   valgrind --tool=callgrind --toggle-collect='*hash_calls*'
// the collected total divided by N.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/common/digest.h"
#include "engine/json/json_text.h"

namespace {

const std::string kToken = "kq3F8vR0xYb2LmN7pQs9TuV1wXz4Ac6Ed8Gh0Jk2Mn4";

std::string campaign_input() {
  std::ifstream in(std::string(ORCH_JSON_SAMPLES_DIR) + "/request_bodies.jsonl");
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json body = nlohmann::json::parse(line, nullptr, false);
    if (body.is_object() && body.contains("competitor_urls")) return orch::dump_json(body);
  }
  throw std::runtime_error("request_bodies.jsonl holds no campaign input");
}

std::string evp_digest(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (unsigned int i = 0; i < size; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return out;
}

std::string fnv1a(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

using Hash = std::string (*)(std::string_view);
struct Named {
  const char* name;
  Hash hash;
};
const Named kHashes[] = {{"evp", orch::sha256_hex}, {"evp_digest", evp_digest}, {"fnv1a", fnv1a}};

__attribute__((noinline)) std::size_t hash_calls(Hash hash, const std::string& data, int n) {
  std::size_t size = 0;
  for (int i = 0; i < n; ++i) {
    std::string h = hash(data);
    benchmark::DoNotOptimize(h);
    size += h.size();
  }
  return size;
}

void BM_Sha256(benchmark::State& state, Hash hash, const std::string* data) {
  for (auto _ : state) benchmark::DoNotOptimize(hash_calls(hash, *data, 1));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data->size()));
}

const std::string& input(std::string_view name) {
  static const std::string campaign = campaign_input();
  return name == "token" ? kToken : campaign;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string_view(argv[1]) == "--calls") {
    for (const Named& h : kHashes)
      if (std::string_view(argv[3]) == h.name)
        return hash_calls(h.hash, input(argv[4]), std::atoi(argv[2])) > 0 ? 0 : 1;
    return 2;
  }
  if (orch::sha256_hex("abc") != evp_digest("abc")) return 1;
  for (const Named& h : kHashes)
    for (const char* in : {"token", "campaign_input"})
      benchmark::RegisterBenchmark(
          (std::string("BM_Sha256/") + h.name + "/" + in).c_str(),
          [hash = h.hash, data = &input(in)](benchmark::State& s) { BM_Sha256(s, hash, data); });
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
