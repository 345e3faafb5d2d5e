// Microbenchmarks of reading JSON text into nlohmann::json (Google Benchmark;
// not part of the CTest run). Build and run (README "Performance"):
//   cmake --build build --target json_read_bench && ./build/tests/bench/json_read_bench
//
// The inputs are the texts the orchestrator reads under the standard
// benchmark, captured from `orchestrator bench` with the sandbox and kept in
// tests/bench/json_samples/ (one document a line):
//   service_answers.jsonl  one answer of each kind the adapters read
//   request_bodies.jsonl   the bodies the orchestrator sends the services
//                          (as the sandbox reads them) and the API's start
//                          and approve bodies
//   journal_replay.jsonl   every record payload of one campaign, in order
//                          (what recovery and a read-back parse)
//
// Every reader must build the same nlohmann::json as json::parse (checked
// before timing), since the engine works on nlohmann values: orch::parse_json
// (engine/json/json_read.cpp, simdjson's DOM parser), nlohmann's own parser,
// simdjson On-Demand and Boost.JSON (header-only, in this benchmark only).
// The numbers, and those of the hand-written reader parse_json replaced
// (this file at commit 190f6b2 measures it), are in engine/json_read.cpp.
// BM_Parse/<reader>/<file>: one pass over every document of the file;
//   items/s is documents, bytes/s their bytes.
// BM_Project_*: the service answers read with the members each adapter
//   keeps (adapters/*_adapter.cpp kFields), the rest checked and dropped.
//
// Instructions per pass: `json_read_bench --passes N READER FILE` under
//   valgrind --tool=callgrind --toggle-collect='*parse_file*'
// (or '*project_file*'), the collected total divided by N.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <boost/json.hpp>
#include <boost/json/src.hpp>  // Boost.JSON header-only, this benchmark only
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "adapters/services/json_projection.h"
#include "engine/json/json_read.h"

namespace {

using nlohmann::json;

std::vector<std::string> load(const std::string& name) {
  std::ifstream in(std::string(ORCH_JSON_SAMPLES_DIR) + "/" + name);
  if (!in) throw std::runtime_error("cannot read " + name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

const char* const kFiles[] = {"service_answers.jsonl", "request_bodies.jsonl",
                              "journal_replay.jsonl"};

// ------------------------------------------------------------- simdjson

namespace od = simdjson::ondemand;

constexpr int kMaxDepth = 512;

template <class V>
bool sj_number(V& v, json* out) {
  od::number n;
  if (v.get_number().get(n) != simdjson::SUCCESS) {
    // Integers beyond 64 bits: a double to nlohmann.
    std::string_view token;
    auto raw = v.raw_json_token();  // a string_view from a value, a result from a document
    if constexpr (std::is_same_v<decltype(raw), std::string_view>)
      token = raw;
    else if (std::move(raw).get(token))
      return false;
    while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                              token.back() == '\t'))
      token.remove_suffix(1);
    std::size_t i = token.size() > 0 && token[0] == '-' ? 1 : 0;
    if (i == token.size() || token[i] == '0') return false;
    for (std::size_t k = i; k < token.size(); ++k)
      if (token[k] < '0' || token[k] > '9') return false;
    double d = 0;
    auto r = std::from_chars(token.data(), token.data() + token.size(), d);
    if (r.ec != std::errc() || !std::isfinite(d)) return false;
    if (out) *out = d;
    return true;
  }
  if (!out) return true;
  switch (n.get_number_type()) {
    case od::number_type::signed_integer: {
      const std::int64_t i = n.get_int64();
      if (i > 0 || (i == 0 && !v.is_negative()))
        *out = static_cast<std::uint64_t>(i);
      else
        *out = i;
      return true;
    }
    case od::number_type::unsigned_integer:
      *out = n.get_uint64();
      return true;
    case od::number_type::floating_point_number:
      *out = n.get_double();
      return true;
  }
  return false;
}

template <class V>
bool sj_scalar(V& v, od::json_type type, json* out) {
  switch (type) {
    case od::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      if (out) *out = std::string(s);
      return true;
    }
    case od::json_type::boolean: {
      bool b;
      if (v.get_bool().get(b)) return false;
      if (out) *out = b;
      return true;
    }
    case od::json_type::null: {
      bool null;
      if (v.is_null().get(null) || !null) return false;
      if (out) *out = nullptr;
      return true;
    }
    case od::json_type::number:
      return sj_number(v, out);
    default:
      return false;
  }
}

bool sj_value(od::value v, json* out, int depth) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type == od::json_type::object) {
    if (depth >= kMaxDepth) return false;
    od::object object;
    if (v.get_object().get(object)) return false;
    json::object_t* members = nullptr;
    if (out) members = (*out = json::object()).get_ptr<json::object_t*>();
    for (auto field : object) {
      std::string_view key;
      od::value member;
      if (field.unescaped_key().get(key) || field.value().get(member)) return false;
      if (!sj_value(member, members ? &(*members)[std::string(key)] : nullptr, depth + 1))
        return false;
    }
    return true;
  }
  if (type == od::json_type::array) {
    if (depth >= kMaxDepth) return false;
    od::array array;
    if (v.get_array().get(array)) return false;
    json::array_t* elements = nullptr;
    if (out) elements = (*out = json::array()).get_ptr<json::array_t*>();
    for (auto element : array) {
      od::value e;
      if (element.get(e)) return false;
      if (!sj_value(e, elements ? &elements->emplace_back() : nullptr, depth + 1)) return false;
    }
    return true;
  }
  return sj_scalar(v, type, out);
}

bool json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && json_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && json_space(s.back())) s.remove_suffix(1);
  return s;
}

bool sj_parse(std::string_view text, json& out) {
  thread_local od::parser parser;
  thread_local std::string padded;
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);
  if (auto nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
  padded.assign(text);
  padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  od::document doc;
  od::json_type type;
  bool ok =
      parser.iterate(padded.data(), text.size(), padded.size()).get(doc) == simdjson::SUCCESS &&
      doc.type().get(type) == simdjson::SUCCESS;
  if (ok) {
    if (type == od::json_type::object || type == od::json_type::array) {
      od::value root;
      ok = doc.get_value().get(root) == simdjson::SUCCESS && sj_value(root, &out, 0);
      const char* at;
      ok = ok && doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;  // nothing after
    } else if (type == od::json_type::boolean || type == od::json_type::null) {
      // simdjson 3.0.1 takes "falsey" for false at the root: compare whole.
      const std::string_view word = trim(text);
      ok = word == "true" || word == "false" || word == "null";
      if (ok) out = word == "null" ? json(nullptr) : json(word == "true");
    } else {
      ok = sj_scalar(doc, type, &out);
      const char* at;
      ok = ok && doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
    }
  }
  if (!ok) out = json(json::value_t::discarded);
  return ok;
}

// ------------------------------------------------------------- Boost.JSON

void boost_value(const boost::json::value& v, json& out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      auto& members = *(out = json::object()).get_ptr<json::object_t*>();
      for (const auto& m : v.get_object()) boost_value(m.value(), members[std::string(m.key())]);
      return;
    }
    case boost::json::kind::array: {
      auto& elements = *(out = json::array()).get_ptr<json::array_t*>();
      for (const auto& e : v.get_array()) boost_value(e, elements.emplace_back());
      return;
    }
    case boost::json::kind::string:
      out = std::string(v.get_string());
      return;
    case boost::json::kind::int64: {
      const std::int64_t i = v.get_int64();
      if (i >= 0)
        out = static_cast<std::uint64_t>(i);
      else
        out = i;
      return;
    }
    case boost::json::kind::uint64:
      out = v.get_uint64();
      return;
    case boost::json::kind::double_:
      out = v.get_double();
      return;
    case boost::json::kind::bool_:
      out = v.get_bool();
      return;
    case boost::json::kind::null:
      out = nullptr;
      return;
  }
}

bool boost_parse(std::string_view text, json& out) {
  thread_local unsigned char scratch[4096];
  boost::json::monotonic_resource memory(scratch, sizeof scratch);
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec, &memory, options);
  if (ec) {
    out = json(json::value_t::discarded);
    return false;
  }
  boost_value(v, out);
  return true;
}

// ------------------------------------------------------------- readers

bool nlohmann_parse(std::string_view text, json& out) {
  out = json::parse(text, nullptr, false);
  return !out.is_discarded();
}

using Reader = bool (*)(std::string_view, json&);

struct Named {
  const char* name;
  Reader read;
};
const Named kReaders[] = {{"parse_json", orch::parse_json},
                          {"nlohmann", nlohmann_parse},
                          {"simdjson_ondemand", sj_parse},
                          {"boost_json", boost_parse}};

// Equal values of equal kinds (json's == takes 1u and 1 for equal).
bool same(const json& a, const json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
      if (ia.key() != ib.key() || !same(*ia, *ib)) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i])) return false;
    return true;
  }
  return a == b;
}

__attribute__((noinline)) std::size_t parse_file(Reader read,
                                                 const std::vector<std::string>& docs) {
  std::size_t ok = 0;
  json out;
  for (const std::string& d : docs) {
    ok += read(d, out);
    benchmark::DoNotOptimize(out);
  }
  return ok;
}

void BM_Parse(benchmark::State& state, Reader read, const char* file) {
  const std::vector<std::string> docs = load(file);
  std::int64_t bytes = 0;
  for (const std::string& d : docs) {
    json got;
    if (!read(d, got) || !same(got, json::parse(d))) {
      state.SkipWithError(("differs from json::parse on " + d.substr(0, 60)).c_str());
      return;
    }
    bytes += static_cast<std::int64_t>(d.size());
  }
  for (auto _ : state) benchmark::DoNotOptimize(parse_file(read, docs));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(docs.size()));
  state.SetBytesProcessed(state.iterations() * bytes);
}

// ------------------------------------------------------------- projection

// The paths each adapter keeps, in the order of service_answers.jsonl.
const std::vector<std::vector<std::string_view>> kAnswerPaths = {
    {"results/*/id", "results/*/url", "results/*/properties", "results/*/title"},  // Notion
    {"text", "status_code", "url", "title"},                                       // scrape
    {"memories/*/key", "memories/*/value"},                                        // memory search
    {"choices/*/message/content", "model", "usage/total_tokens"},                  // chat
    {},                                      // the model's JSON content (parse_content)
    {"key"},                                 // memory store
    {"err", "images"},                       // Figma
    {"number", "html_url"},                  // GitHub pull request
    {"ok", "error", "ts", "channel"},        // Slack
    {"success", "message", "updates/*/id"},  // Buffer
    {"content/sha", "content/path", "content/html_url", "commit/sha"},  // GitHub contents
    {"status", "uid", "url"}};                                          // Grafana

__attribute__((noinline)) std::size_t project_answers(
    const std::vector<orch::adapters::JsonProjection>& projections,
    const std::vector<std::string>& docs) {
  std::size_t ok = 0;
  json out;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    ok += projections[i].parse(docs[i], out);
    benchmark::DoNotOptimize(out);
  }
  return ok;
}

// The same projection as JsonProjection over simdjson: members no path
// names are still read through (built into nothing), so that a text
// json::parse rejects is rejected here too.
using Paths = std::vector<std::vector<std::string>>;

Paths split(const std::vector<std::string_view>& paths) {
  Paths out;
  for (std::string_view p : paths) {
    std::vector<std::string> segments;
    for (std::size_t start = 0;;) {
      const std::size_t slash = p.find('/', start);
      segments.emplace_back(p.substr(start, slash - start));
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
    out.push_back(std::move(segments));
  }
  return out;
}

// Which paths continue below a member (`below`) and whether one ends on it.
bool route(const Paths& paths, std::uint32_t alive, std::size_t depth, const std::string_view* key,
           std::uint32_t& below) {
  bool whole = false;
  below = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if ((alive & (1u << i)) == 0) continue;
    const std::string& segment = paths[i][depth];
    if (segment != "*" && (key == nullptr || segment != *key)) continue;
    if (paths[i].size() == depth + 1)
      whole = true;
    else
      below |= 1u << i;
  }
  return whole;
}

bool sj_partial(const Paths& paths, od::value v, json& node, std::uint32_t alive,
                std::size_t depth) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type != od::json_type::object && type != od::json_type::array)
    return sj_value(v, &node, static_cast<int>(depth));
  if (depth >= kMaxDepth) return false;
  auto member = [&](const std::string_view* key, od::value m, auto slot, auto left_out) {
    std::uint32_t below;
    if (route(paths, alive, depth, key, below))
      return sj_value(m, &slot(), static_cast<int>(depth) + 1);
    od::json_type t;
    if (m.type().get(t)) return false;
    if (below != 0 && (t == od::json_type::object || t == od::json_type::array))
      return sj_partial(paths, m, slot(), below, depth + 1);
    if (!sj_value(m, nullptr, static_cast<int>(depth) + 1)) return false;
    if (key == nullptr || below != 0) left_out();
    return true;
  };
  if (type == od::json_type::object) {
    od::object object;
    if (v.get_object().get(object)) return false;
    auto& members = *(node = json::object()).get_ptr<json::object_t*>();
    for (auto field : object) {
      std::string_view key;
      od::value m;
      if (field.unescaped_key().get(key) || field.value().get(m)) return false;
      if (!member(
              &key, m, [&]() -> json& { return members[std::string(key)]; },
              [&] { members.erase(std::string(key)); }))
        return false;
    }
    return true;
  }
  od::array array;
  if (v.get_array().get(array)) return false;
  auto& elements = *(node = json::array()).get_ptr<json::array_t*>();
  for (auto element : array) {
    od::value m;
    if (element.get(m)) return false;
    if (!member(
            nullptr, m, [&]() -> json& { return elements.emplace_back(); },
            [&] { elements.emplace_back(); }))
      return false;
  }
  return true;
}

bool sj_project(const Paths& paths, std::string_view text, json& out) {
  if (paths.empty()) return sj_parse(text, out);
  thread_local od::parser parser;
  thread_local std::string padded;
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);
  if (auto nul = text.find('\0'); nul != std::string_view::npos) text = text.substr(0, nul);
  padded.assign(text);
  padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  od::document doc;
  od::json_type type;
  bool ok =
      parser.iterate(padded.data(), text.size(), padded.size()).get(doc) == simdjson::SUCCESS &&
      doc.type().get(type) == simdjson::SUCCESS;
  if (ok && (type == od::json_type::object || type == od::json_type::array)) {
    od::value root;
    const char* at;
    ok = doc.get_value().get(root) == simdjson::SUCCESS &&
         sj_partial(paths, root, out, (1u << paths.size()) - 1, 0) &&
         doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
  } else if (ok) {
    return sj_parse(text, out);  // a scalar root: nothing to project
  }
  if (!ok) out = json(json::value_t::discarded);
  return ok;
}

template <bool (*project)(const Paths&, std::string_view, json&)>
void BM_Project_simdjson(benchmark::State& state) {
  const std::vector<std::string> docs = load("service_answers.jsonl");
  std::vector<Paths> paths;
  std::vector<orch::adapters::JsonProjection> projections;
  for (const auto& p : kAnswerPaths) {
    paths.push_back(split(p));
    projections.emplace_back(p);
  }
  for (std::size_t i = 0; i < docs.size(); ++i) {
    json want, got;
    projections[i].parse(docs[i], want);
    if (!project(paths[i], docs[i], got) || !same(got, want)) {
      state.SkipWithError(("differs from JsonProjection on " + docs[i].substr(0, 60)).c_str());
      return;
    }
  }
  for (auto _ : state) {
    json out;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      benchmark::DoNotOptimize(project(paths[i], docs[i], out));
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(docs.size()));
}
BENCHMARK_TEMPLATE(BM_Project_simdjson, sj_project)->Name("BM_Project_simdjson_ondemand");

void BM_Project_parse_json(benchmark::State& state) {
  const std::vector<std::string> docs = load("service_answers.jsonl");
  if (docs.size() != kAnswerPaths.size()) {
    state.SkipWithError("service_answers.jsonl and kAnswerPaths differ in length");
    return;
  }
  std::vector<orch::adapters::JsonProjection> projections;
  for (const auto& paths : kAnswerPaths) projections.emplace_back(paths);
  for (auto _ : state) benchmark::DoNotOptimize(project_answers(projections, docs));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(docs.size()));
}
BENCHMARK(BM_Project_parse_json);

void register_all() {
  for (const Named& reader : kReaders)
    for (const char* file : kFiles)
      benchmark::RegisterBenchmark(
          (std::string("BM_Parse/") + reader.name + "/" + file).c_str(),
          [read = reader.read, file](benchmark::State& s) { BM_Parse(s, read, file); });
}

// `json_read_bench --passes N READER FILE`: N calls of parse_file (or of
// project_file, READER project_parse_json or project_simdjson_ondemand,
// FILE service_answers.jsonl) and no timing, for counting instructions
// under callgrind.
__attribute__((noinline)) std::size_t project_file(
    std::string_view reader, const std::vector<std::string>& docs, const std::vector<Paths>& paths,
    const std::vector<orch::adapters::JsonProjection>& projections) {
  std::size_t ok = 0;
  json out;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    if (reader == "project_parse_json")
      ok += projections[i].parse(docs[i], out);
    else
      ok += sj_project(paths[i], docs[i], out);
    benchmark::DoNotOptimize(out);
  }
  return ok;
}

int passes(int n, std::string_view reader, const char* file) {
  if (reader.substr(0, 8) == "project_") {
    const std::vector<std::string> docs = load(file);
    std::vector<Paths> paths;
    std::vector<orch::adapters::JsonProjection> projections;
    for (const auto& p : kAnswerPaths) {
      paths.push_back(split(p));
      projections.emplace_back(p);
    }
    std::size_t ok = 0;
    for (int i = 0; i < n; ++i) ok += project_file(reader, docs, paths, projections);
    return ok == static_cast<std::size_t>(n) * docs.size() ? 0 : 1;
  }
  for (const Named& r : kReaders) {
    if (reader != r.name) continue;
    const std::vector<std::string> docs = load(file);
    std::size_t ok = 0;
    for (int i = 0; i < n; ++i) ok += parse_file(r.read, docs);
    return ok == static_cast<std::size_t>(n) * docs.size() ? 0 : 1;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string_view(argv[1]) == "--passes")
    return passes(std::atoi(argv[2]), argv[3], argv[4]);
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
