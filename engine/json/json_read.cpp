#include "engine/json/json_read.h"

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <memory>

// Why simdjson's DOM parser, and not its On-Demand one, a hand-written
// reader or Boost.JSON: tests/bench/json_read_bench.cpp over the texts
// captured from `orchestrator bench` (tests/bench/json_samples/), each
// reader building the same nlohmann::json. Instructions per document
// (callgrind, under which simdjson runs its AVX2 kernel; GCC 12 -O3):
//
//                                 answers  requests  journal  answers projected
//   this file (simdjson DOM)       18,991    17,193    7,437             12,829
//   the hand-written reader it     19,041    17,804    6,825             13,216
//     replaced (json_read_bench at commit 190f6b2)
//   simdjson On-Demand             19,518    17,434    7,619             13,618
//   Boost.JSON                     26,208    22,974    8,792                  -
//   nlohmann json::parse           59,956    57,298   19,765                  -
//
// CPU time per pass over each file on this machine (Xeon, simdjson's
// AVX-512 kernel; two interleaved runs of three, medians, busy machine),
// hand-written -> simdjson DOM: answers 12.5-12.7 -> 13.1-13.2 us, request
// bodies 14.4-14.6 -> 15.1-15.3 us, journal 12.9-13.2 -> 14.4-14.7 us,
// answers projected 8.9-9.0 -> 8.5-8.8 us.
//
// Three quarters of every reader's cost is building the nlohmann value, so
// the readers differ by a few per cent. simdjson is faster where the
// orchestrator reads most (the projected service answers, 14 of the 17
// texts it reads per campaign), 4-5 % slower in time (not in instructions)
// on whole answers and request bodies, and 9-11 % slower on the short
// journal payloads that only recovery and read-backs parse: its two stages
// cost a fixed 1,400 instructions a text. The hand-written reader was not
// kept for those: the standard benchmark did not slow (orchestrator CPU per
// campaign 0.597 -> 0.588 ms, medians of three), and one reader less is
// one grammar, UTF-8 check and number parser less to maintain.
// On-Demand is slower here because Debian builds its header-only second
// stage for plain x86-64 (the fallback kernel), and it does not check the
// values it skips, which a projection must reject as json::parse does.
//
// Where simdjson's tape cannot say what nlohmann builds, nlohmann's parser
// reads the text instead: integers beyond 64 bits (simdjson rejects them,
// nlohmann makes them doubles) and "-0" (the tape holds the integer 0, to
// nlohmann it is a signed 0 where "0" is an unsigned one). Neither occurs in
// a text nlohmann wrote.

namespace orch {

using nlohmann::json;
namespace dom = simdjson::dom;

namespace {

// A parser or buffer grown past this by a large text is given back.
constexpr std::size_t kKeptCapacity = 64 * 1024;
constexpr std::size_t kInitialCapacity = 4 * 1024;

bool json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The text as nlohmann's lexer reads it: after a UTF-8 byte order mark, up
// to a NUL byte (a NUL inside a string is an error to both, and cutting
// there leaves the string unclosed).
std::string_view as_nlohmann_reads(std::string_view text) {
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);
  if (const void* nul = std::memchr(text.data(), '\0', text.size()))
    text = text.substr(0, static_cast<std::size_t>(static_cast<const char*>(nul) - text.data()));
  return text;
}

// simdjson's DOM of `text`, valid until the next call on this thread.
simdjson::error_code dom_parse(std::string_view text, dom::element& root) {
  thread_local std::unique_ptr<dom::parser> parser;
  thread_local std::string padded;  // simdjson reads up to SIMDJSON_PADDING bytes past the text
  if (!parser || (parser->capacity() > kKeptCapacity && text.size() <= kKeptCapacity)) {
    parser = std::make_unique<dom::parser>();
    // The depth stays as the parser grows for a larger text.
    if (auto error = parser->allocate(kInitialCapacity, kMaxJsonNesting)) return error;
  }
  if (padded.capacity() > kKeptCapacity && text.size() <= kKeptCapacity) std::string().swap(padded);
  padded.assign(text);
  padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  return parser->parse(padded.data(), text.size(), /*realloc_if_needed=*/false).get(root);
}

// json::parse with simdjson's nesting limit, for the texts simdjson's tape
// cannot give the value of. `depth` is the number of arrays and objects
// around the value that starts (a key's counts its object too).
bool nlohmann_parse(std::string_view text, json& out) {
  bool too_deep = false;
  const json::parser_callback_t limit = [&too_deep](int depth, json::parse_event_t event, json&) {
    if (event != json::parse_event_t::key && depth >= kMaxJsonNesting) too_deep = true;
    return !too_deep;  // past the limit nothing more is built
  };
  out = json::parse(text, limit, false);
  if (too_deep) out = json(json::value_t::discarded);
  return !out.is_discarded();
}

// Whether a number token "-0" may be in `text`: "-0" where a value can
// start, not followed by a fraction or an exponent. A string holding such
// bytes answers yes too, which only costs a slower parse.
bool may_hold_minus_zero(std::string_view text) {
  for (std::size_t i = text.find("-0"); i != std::string_view::npos; i = text.find("-0", i + 1)) {
    const char before = i == 0 ? ' ' : text[i - 1];
    if (before != '[' && before != ',' && before != ':' && !json_space(before)) continue;
    const char after = i + 2 < text.size() ? text[i + 2] : ' ';
    if (after != '.' && after != 'e' && after != 'E') return true;
  }
  return false;
}

// The object or array an element of that type is (a copy of the tape
// position: ranging over a member of the temporary result would dangle).
dom::object object_of(dom::element e) { return e.get_object().value_unsafe(); }
dom::array array_of(dom::element e) { return e.get_array().value_unsafe(); }

// Builds nlohmann values from simdjson's DOM of `text`.
class Builder {
 public:
  explicit Builder(std::string_view text) : text_(text) {}

  // False when the value may differ from what nlohmann builds (an integer 0
  // where the text may say "-0"): then nlohmann must read the text.
  bool build(dom::element e, json& out) {
    switch (e.type()) {
      case dom::element_type::OBJECT: {
        // Of two equal keys the last wins: its value replaces the first's.
        auto& members = *(out = json::object()).get_ptr<json::object_t*>();
        for (dom::key_value_pair field : object_of(e))
          if (!build(field.value, members[std::string(field.key)])) return false;
        return true;
      }
      case dom::element_type::ARRAY: {
        auto& elements = *(out = json::array()).get_ptr<json::array_t*>();
        for (dom::element element : array_of(e))
          if (!build(element, elements.emplace_back())) return false;
        return true;
      }
      case dom::element_type::STRING:
        out = std::string(e.get_string().value_unsafe());
        return true;
      case dom::element_type::INT64: {  // as nlohmann: unsigned unless negative
        const std::int64_t i = e.get_int64().value_unsafe();
        if (i == 0 && !zero_is_unsigned()) return false;
        if (i >= 0)
          out = static_cast<std::uint64_t>(i);
        else
          out = i;
        return true;
      }
      case dom::element_type::UINT64:
        out = e.get_uint64().value_unsafe();
        return true;
      case dom::element_type::DOUBLE:
        out = e.get_double().value_unsafe();
        return true;
      case dom::element_type::BOOL:
        out = e.get_bool().value_unsafe();
        return true;
      case dom::element_type::NULL_VALUE:
        out = nullptr;
        return true;
    }
    return false;
  }

 private:
  bool zero_is_unsigned() {
    if (minus_zero_ < 0) minus_zero_ = may_hold_minus_zero(text_) ? 1 : 0;
    return minus_zero_ == 0;
  }

  std::string_view text_;
  int minus_zero_ = -1;  // not looked for yet
};

// ---------------------------------------------------------------- projection

using Paths = std::vector<std::vector<std::string>>;

// The projection reads simdjson's DOM, or the value nlohmann built when the
// DOM cannot give it: the same walk over either.
bool is_object(dom::element e) { return e.type() == dom::element_type::OBJECT; }
bool is_array(dom::element e) { return e.type() == dom::element_type::ARRAY; }
bool is_object(const json& j) { return j.is_object(); }
bool is_array(const json& j) { return j.is_array(); }

template <class Visit>
bool each_member(dom::element e, Visit visit) {
  for (dom::key_value_pair field : object_of(e))
    if (!visit(field.key, field.value)) return false;
  return true;
}
template <class Visit>
bool each_member(const json& j, Visit visit) {
  for (const auto& [key, value] : j.get_ref<const json::object_t&>())
    if (!visit(std::string_view(key), value)) return false;
  return true;
}
template <class Visit>
bool each_element(dom::element e, Visit visit) {
  for (dom::element element : array_of(e))
    if (!visit(element)) return false;
  return true;
}
template <class Visit>
bool each_element(const json& j, Visit visit) {
  for (const json& element : j.get_ref<const json::array_t&>())
    if (!visit(element)) return false;
  return true;
}

template <class Node>
class Projector {
 public:
  Projector(const Paths& paths, Builder* builder) : paths_(paths), builder_(builder) {}

  // `node` into `out`, keeping only what the paths alive below it (a bit
  // per path) lead to; `depth` path segments lie between the root and it.
  bool partial(Node node, json& out, std::uint32_t alive, std::size_t depth) {
    if (is_object(node)) {
      out = json::object();
      auto& members = *out.get_ptr<json::object_t*>();
      return each_member(node, [&](std::string_view key, Node value) {
        return member(
            &key, value, alive, depth, [&]() -> json& { return members[std::string(key)]; },
            [&] {  // of two equal keys the last wins
              if (auto it = members.find(key); it != members.end()) members.erase(it);
            });
      });
    }
    if (is_array(node)) {
      out = json::array();
      auto& elements = *out.get_ptr<json::array_t*>();
      return each_element(node, [&](Node value) {
        // An element left out leaves a null, so positions and sizes stay.
        return member(
            nullptr, value, alive, depth, [&]() -> json& { return elements.emplace_back(); },
            [&] { elements.emplace_back(); });
      });
    }
    return whole(node, out);  // a scalar root
  }

 private:
  bool whole(dom::element e, json& out) { return builder_->build(e, out); }
  bool whole(const json& j, json& out) {
    out = j;
    return true;
  }

  // One member (key != nullptr) or element of a container kept in part.
  template <class Slot, class LeftOut>
  bool member(const std::string_view* key, Node value, std::uint32_t alive, std::size_t depth,
              Slot slot, LeftOut left_out) {
    bool kept_whole = false;
    std::uint32_t below = 0;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      if ((alive & (1u << i)) == 0) continue;
      const std::string& segment = paths_[i][depth];
      if (segment != "*" && (key == nullptr || segment != *key)) continue;
      if (paths_[i].size() == depth + 1)
        kept_whole = true;
      else
        below |= 1u << i;
    }
    if (kept_whole) return whole(value, slot());
    if (below != 0 && (is_object(value) || is_array(value)))
      return partial(value, slot(), below, depth + 1);
    if (key == nullptr || below != 0) left_out();
    return true;
  }

  const Paths& paths_;
  Builder* builder_;  // null over nlohmann values
};

std::uint32_t all_paths(const Paths& paths) {
  return paths.size() >= 32 ? ~0u : (1u << paths.size()) - 1;
}

bool discard(json& out) {
  out = json(json::value_t::discarded);
  return false;
}

}  // namespace

bool parse_json(std::string_view text, json& out) {
  text = as_nlohmann_reads(text);
  dom::element root;
  if (const auto error = dom_parse(text, root); error == simdjson::SUCCESS) {
    if (Builder(text).build(root, out)) return true;
  } else if (error != simdjson::NUMBER_ERROR) {
    return discard(out);
  }
  return nlohmann_parse(text, out);
}

bool parse_json_projected(std::string_view text, const Paths& paths, json& out) {
  if (paths.empty()) return parse_json(text, out);
  text = as_nlohmann_reads(text);
  dom::element root;
  if (const auto error = dom_parse(text, root); error == simdjson::SUCCESS) {
    Builder builder(text);
    if (Projector<dom::element>(paths, &builder).partial(root, out, all_paths(paths), 0))
      return true;
  } else if (error != simdjson::NUMBER_ERROR) {
    return discard(out);
  }
  json whole;
  if (!nlohmann_parse(text, whole)) return discard(out);
  Projector<const json&>(paths, nullptr).partial(whole, out, all_paths(paths), 0);
  return true;
}

}  // namespace orch
