// libFuzzer target: arbitrary bytes through the server's request parser
// (DirectParser with ServerLimits' defaults), read the way a session reads
// them: into a read buffer capped by read_buffer_limit(), a piece at a time,
// the header first and then the body, request after request on one
// connection, as long as the parser accepts them.
//
// Besides crashes and sanitizer reports, it fails (traps) when a request the
// parser accepted is over a limit: more fields, header bytes or body bytes
// than ServerLimits allows, or a framing the server must refuse (a
// Transfer-Encoding with a Content-Length, or an HTTP/1.1 request without
// exactly one Host).
//
// The first input byte chooses the read size: 1 to 128 bytes, so the same
// request is also cut at every awkward place, or a power of two up to
// 8 KiB (a session's read). Long inputs are read in at most kMaxReads
// pieces, so they stay quick to run.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>

#include "adapters/http/http_parser.h"
#include "adapters/http/http_server.h"

namespace {

using orch::http::Request;
using orch::http::detail::RequestParser;
namespace bhttp = boost::beast::http;

// Requests per connection, and reads per input: plenty for coverage; more
// only slow a run.
constexpr int kMaxRequests = 8;
constexpr std::size_t kMaxReads = 256;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// What the server relies on for every request the parser hands it.
void check_accepted(const Request& req, const orch::http::detail::MessageLimits& limits,
                    unsigned version) {
  check(req.body.size() <= limits.body);
  check(req.headers.size() <= limits.fields);
  std::size_t header_bytes = req.method.size() + req.target.size() + 12;
  int hosts = 0;
  bool content_length = false, transfer_encoding = false;
  for (const auto& [name, value] : req.headers) {
    check(name.size() + value.size() <= limits.field);
    header_bytes += name.size() + value.size() + 4;
    hosts += orch::http::syntax::iequals(name, "host");
    content_length |= orch::http::syntax::iequals(name, "content-length");
    transfer_encoding |= orch::http::syntax::iequals(name, "transfer-encoding");
  }
  check(header_bytes <= limits.header);
  check(!(content_length && transfer_encoding));
  check(hosts <= 1 && (version < 11 || hosts == 1));
  check(!transfer_encoding || version >= 11);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece =
      std::max(data[0] < 0x80 ? std::size_t{data[0]} + 1 : std::size_t{1} << (data[0] % 14),
               size / kMaxReads);
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  const orch::http::ServerLimits server;
  const auto limits = orch::http::detail::request_limits(server);
  boost::beast::flat_buffer buffer(orch::http::detail::read_buffer_limit(limits));

  for (int n = 0; n < kMaxRequests; ++n) {
    Request req;
    std::optional<RequestParser> parser;
    parser.emplace(req, limits);
    parser->eager(false);
    bool body = false;
    for (;;) {
      boost::system::error_code ec;
      if (buffer.size() > 0) {
        const std::size_t used = parser->put(buffer.data(), ec);
        buffer.consume(used);
        if (ec && ec != bhttp::error::need_more) {
          ec = parser->refine(ec);
          check(ec.failed());
          return 0;  // the server answers and closes
        }
        if (!ec && (body ? parser->is_done() : parser->is_header_done())) {
          if (parser->is_done()) break;
          body = true;  // as Session::read_body
          parser->eager(true);
          continue;
        }
        if (!ec && used > 0 && buffer.size() > 0) continue;
      }
      // A read: what the buffer has room for, at most a piece.
      if (input.empty()) return 0;  // the peer is silent: a timeout closes
      const std::size_t room = buffer.max_size() - buffer.size();
      if (room == 0) {
        check(parser->refine(bhttp::error::buffer_overflow).failed());
        return 0;
      }
      const std::size_t n_read = std::min({piece, room, input.size()});
      auto dst = buffer.prepare(n_read);
      std::memcpy(dst.data(), input.data(), n_read);
      buffer.commit(n_read);
      input.remove_prefix(n_read);
    }
    check_accepted(req, limits, parser->version());
    if (!parser->message_keep_alive()) return 0;
  }
  return 0;
}
