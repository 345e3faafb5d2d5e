// What the HTTP server and client share to read and write messages without
// Beast's intermediate message type: a parser that fills orch::http::Request
// or Response straight from Beast's own basic_parser (Beast's grammar, with a
// bound on every part of a message and the framing rules of RFC 9112 that
// Beast leaves to its user), and the small formatting helpers of the
// hand-built header blocks. Their stream and deadline types are in
// http_stream.h and http_deadline.h. Internal to the server
// (adapters/http/http_session*.cpp), the client (http_client*.cpp) and the
// parser's fuzz target (tests/fuzz/http_request_fuzzer.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/http/http_message.h"
#include "adapters/http/http_server.h"
#include "adapters/http/http_syntax.h"

namespace orch::http::detail {

constexpr std::size_t kMaxReadSize = 64 * 1024;  // as Beast's read_some_op

// How much to offer one read. Beast's read_size() offers the free capacity
// but at least 512 bytes, so a connection's buffer, drained after every
// message, never grew past 512: each message above that took two or three
// recv calls, the last of them often a failed speculative one (2.5 to 2.8
// recv per message, measured under the benchmark). At least kReadChunk lets
// one recv take a whole typical request or response. It is kept for the
// connection's life: 8 KiB per connection.
constexpr std::size_t kReadChunk = 8 * 1024;
inline std::size_t read_size(const boost::beast::flat_buffer& buffer) {
  std::size_t room = std::min(kMaxReadSize, buffer.max_size() - buffer.size());
  return std::max(boost::beast::read_size(buffer, kMaxReadSize), std::min(kReadChunk, room));
}

// Bounds on each part of one message. Beast 1.81 bounds only the bytes of
// the header section it has not yet consumed (fields it has handed on do not
// count, so a header trickled in field by field never reaches its limit) and
// the body; a chunk's size line with its extensions and the trailer section
// it searches without limit, in whatever buffer its caller keeps growing.
// DirectParser checks every part below, and read_buffer_limit() caps that
// buffer.
struct MessageLimits {
  std::size_t start_line = 8 * 1024;  // request line or status line, CRLF included
  std::size_t field = 8 * 1024;       // one field line: name and value
  std::size_t fields = 100;           // header fields
  std::size_t header = 16 * 1024;     // the header section, start line included
  std::size_t chunk_line = 4 * 1024;  // a chunk-size line with its extensions
  std::size_t trailer = 8 * 1024;     // the trailer section of a chunked body
  std::uint64_t body = 1 << 20;       // the body, without chunked framing
};

// The server's bounds on requests.
inline MessageLimits request_limits(const ServerLimits& l) {
  MessageLimits m;
  m.start_line = l.max_request_line_bytes;
  m.field = l.max_field_bytes;
  m.fields = l.max_header_fields;
  m.header = l.max_header_bytes;
  m.chunk_line = l.max_chunk_line_bytes;
  m.trailer = l.max_trailer_bytes;
  m.body = l.max_body_bytes;
  return m;
}

// The most a connection's read buffer may hold: the longest run of bytes
// the parser needs at once (the header section, or the last chunk's line
// with the trailer section after it), and one read more. A read that would
// go past it fails instead of growing the buffer.
inline std::size_t read_buffer_limit(const MessageLimits& limits) {
  constexpr std::size_t kCrlfs = 8;  // the chunk's CRLFs and the trailer's last
  return std::max(limits.header, limits.chunk_line + limits.trailer + kCrlfs) + kReadChunk;
}

// Why DirectParser refused a message, beyond Beast's own errors.
enum class MessageError {
  // A part over its limit (MessageLimits).
  start_line_too_long = 1,
  field_too_long,
  too_many_fields,
  header_too_large,
  chunk_line_too_long,
  trailer_too_large,
  chunk_framing_too_long,  // a chunk line or the trailer would overflow the read buffer
  // Framing that a recipient could read differently from the sender (RFC
  // 9112 6.1 and 6.3): answered 400 and the connection closed.
  unsupported_transfer_coding,  // anything but one "chunked"
  transfer_coding_in_http10,
  content_length_with_transfer_coding,
  // Host (RFC 9112 3.2), requests only.
  missing_host,
  repeated_host,
  bad_host,
};

class MessageErrorCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "orch.http.message"; }
  std::string message(int ev) const override {
    switch (static_cast<MessageError>(ev)) {
      case MessageError::start_line_too_long: return "start line too long";
      case MessageError::field_too_long: return "header field too long";
      case MessageError::too_many_fields: return "too many header fields";
      case MessageError::header_too_large: return "header section too large";
      case MessageError::chunk_line_too_long: return "chunk-size line too long";
      case MessageError::trailer_too_large: return "trailer section too large";
      case MessageError::chunk_framing_too_long:
        return "chunk-size line or trailer section too long";
      case MessageError::unsupported_transfer_coding:
        return "Transfer-Encoding other than one 'chunked'";
      case MessageError::transfer_coding_in_http10: return "Transfer-Encoding in HTTP/1.0";
      case MessageError::content_length_with_transfer_coding:
        return "both Content-Length and Transfer-Encoding";
      case MessageError::missing_host: return "HTTP/1.1 request without Host";
      case MessageError::repeated_host: return "more than one Host field";
      case MessageError::bad_host: return "invalid Host field value";
    }
    return "unknown message error";
  }
};

inline const boost::system::error_category& message_category() {
  static const MessageErrorCategory category;
  return category;
}

inline boost::system::error_code make_error_code(MessageError e) {
  return {static_cast<int>(e), message_category()};
}

inline bool is_message_error(const boost::system::error_code& ec) {
  return ec.category() == message_category();
}

// A part of the message over its limit (not a framing error).
inline bool is_limit_error(const boost::system::error_code& ec) {
  return is_message_error(ec) &&
         ec.value() <= static_cast<int>(MessageError::chunk_framing_too_long);
}

// A message whose length a recipient could read differently from its sender:
// a framing rule broken (by DirectParser's checks or Beast's own on
// Content-Length and Transfer-Encoding).
inline bool is_framing_error(const boost::system::error_code& ec) {
  namespace bhttp = boost::beast::http;
  if (is_message_error(ec)) return !is_limit_error(ec);
  return ec == bhttp::error::bad_transfer_encoding || ec == bhttp::error::bad_content_length ||
         ec == bhttp::error::multiple_content_length;
}

// Beast's fields trim optional whitespace around values; so do we.
inline std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

inline void append_decimal(std::string& out, std::uint64_t v) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

// Whether a Transfer-Encoding value is exactly the chunked coding: one
// non-empty element of the list, "chunked" in any case (empty elements are
// allowed by the list syntax, RFC 9110 5.6.1).
inline bool only_chunked(std::string_view v) {
  int codings = 0;
  bool chunked = false;
  while (!v.empty()) {
    const std::size_t comma = v.find(',');
    const std::string_view element = trim_ows(v.substr(0, comma));
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    if (element.empty()) continue;
    ++codings;
    chunked = syntax::iequals(element, "chunked");
  }
  return codings == 1 && chunked;
}

// Parses one message into `out` (a Request when isRequest, else a Response):
// Beast's grammar with the bounds of `limits` on every part, and the framing
// rules Beast leaves to its user: a Transfer-Encoding must be exactly
// "chunked" (nothing else can be decoded, and a coding list not ending in it
// leaves the length to guesswork), never in HTTP/1.0 and never beside a
// Content-Length; a request carries one valid Host (HTTP/1.1: exactly one).
// Trailer fields are counted against their limit and dropped, never merged
// into the headers (RFC 9110 6.5.1). One per message.
template <bool isRequest, class Message>
class DirectParser final : public boost::beast::http::basic_parser<isRequest> {
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

 public:
  DirectParser(Message& out, const MessageLimits& limits) : out_(out), limits_(limits) {
    this->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits.header, UINT32_MAX)));
    this->body_limit(limits.body);
  }

  unsigned version() const { return version_; }
  bool is_head() const { return head_; }
  // Value of the first Expect field ("" when absent).
  std::string_view expect() const { return expect_; }
  // message::keep_alive() of the parsed header: decided by the first
  // Connection field and the version.
  bool message_keep_alive() const {
    if (version_ < 11) return has_connection_ && token_list(connection_).exists("keep-alive");
    return !has_connection_ || !token_list(connection_).exists("close");
  }
  // message::need_eof() of a parsed response: whether the connection must be
  // closed after it.
  bool message_need_eof() const {
    if constexpr (isRequest) {
      return !message_keep_alive();
    } else {
      const int status = out_.status;
      if (status == 204 || status == 304 || (status >= 100 && status <= 199) ||
          has_content_length_ || this->chunked())
        return !message_keep_alive();
      return true;
    }
  }

  // The error to report for `ec`, from put() or from the read loop: Beast's
  // header_limit and the read buffer's overflow say which part was too long.
  error_code refine(error_code ec) const {
    namespace bhttp = boost::beast::http;
    if (ec == bhttp::error::header_limit) {
      return make_error_code(start_line_done_ ? MessageError::header_too_large
                                              : MessageError::start_line_too_long);
    }
    if (ec == bhttp::error::buffer_overflow) {
      if (!start_line_done_) return make_error_code(MessageError::start_line_too_long);
      return make_error_code(this->is_header_done() ? MessageError::chunk_framing_too_long
                                                    : MessageError::header_too_large);
    }
    return ec;
  }

 private:
  static boost::beast::http::token_list token_list(const std::string& s) {
    return boost::beast::http::token_list{s};
  }
  void on_request_impl(boost::beast::http::verb method, string_view method_str,
                       string_view target, int version, error_code& ec) override {
    if constexpr (isRequest) {
      out_.method.assign(method_str.data(), method_str.size());
      out_.target.assign(target.data(), target.size());
      version_ = static_cast<unsigned>(version);
      head_ = method == boost::beast::http::verb::head;
      out_.headers.reserve(8);
      // method SP request-target SP HTTP-version CRLF
      start_line(method_str.size() + target.size() + 12, ec);
      return;
    }
    ec = {};
  }
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override {
    if constexpr (!isRequest) {
      out_.status = code;
      version_ = static_cast<unsigned>(version);
      out_.headers.reserve(8);
      // HTTP-version SP status-code SP reason-phrase CRLF
      start_line(reason.size() + 15, ec);
      return;
    }
    ec = {};
  }
  void start_line(std::size_t bytes, error_code& ec) {
    start_line_done_ = true;
    header_bytes_ = bytes;
    ec = bytes > limits_.start_line ? make_error_code(MessageError::start_line_too_long)
                                    : error_code{};
  }
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override {
    using boost::beast::http::field;
    std::string_view v = trim_ows(std::string_view(value.data(), value.size()));
    // name ": " value CRLF
    const std::size_t bytes = name_string.size() + value.size() + 4;
    if (in_trailer_) {
      trailer_bytes_ += bytes;
      ec = trailer_bytes_ > limits_.trailer ? make_error_code(MessageError::trailer_too_large)
                                            : error_code{};
      return;
    }
    header_bytes_ += bytes;
    if (name_string.size() + value.size() > limits_.field) {
      ec = make_error_code(MessageError::field_too_long);
      return;
    }
    if (++fields_ > limits_.fields) {
      ec = make_error_code(MessageError::too_many_fields);
      return;
    }
    if (header_bytes_ > limits_.header) {
      ec = make_error_code(MessageError::header_too_large);
      return;
    }
    ec = {};
    if (name == field::connection && !has_connection_) {
      has_connection_ = true;
      connection_ = v;
    } else if (name == field::expect && !has_expect_) {
      has_expect_ = true;
      expect_ = v;
    } else if (name == field::content_length) {
      if (has_transfer_encoding_) {
        ec = make_error_code(MessageError::content_length_with_transfer_coding);
        return;
      }
      has_content_length_ = true;
    } else if (name == field::transfer_encoding) {
      if (version_ < 11) {
        ec = make_error_code(MessageError::transfer_coding_in_http10);
        return;
      }
      if (has_content_length_) {
        ec = make_error_code(MessageError::content_length_with_transfer_coding);
        return;
      }
      if (has_transfer_encoding_ || !only_chunked(v)) {
        ec = make_error_code(MessageError::unsupported_transfer_coding);
        return;
      }
      has_transfer_encoding_ = true;
    } else if (isRequest && name == field::host) {
      if (has_host_) {
        ec = make_error_code(MessageError::repeated_host);
        return;
      }
      if (!syntax::valid_host(v)) {
        ec = make_error_code(MessageError::bad_host);
        return;
      }
      has_host_ = true;
    }
    out_.headers.emplace_back(std::string(name_string.data(), name_string.size()), std::string(v));
  }
  void on_header_impl(error_code& ec) override {
    ec = {};
    if (isRequest && version_ >= 11 && !has_host_) ec = make_error_code(MessageError::missing_host);
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override {
    if (content_length) {
      if (*content_length > out_.body.max_size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return;
      }
      out_.body.reserve(static_cast<std::size_t>(*content_length));
    }
    ec = {};
  }
  std::size_t on_body_impl(string_view body, error_code& ec) override {
    out_.body.append(body.data(), body.size());
    ec = {};
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t size, string_view extensions,
                            error_code& ec) override {
    ec = {};
    if (extensions.size() > limits_.chunk_line) {
      ec = make_error_code(MessageError::chunk_line_too_long);
      return;
    }
    // Beast hands on the last chunk once its trailer section is all there,
    // and the trailer's fields next.
    if (size == 0) in_trailer_ = true;
  }
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    out_.body.append(body.data(), body.size());
    ec = {};
    return body.size();
  }
  void on_finish_impl(error_code& ec) override { ec = {}; }

  Message& out_;
  const MessageLimits limits_;
  std::string connection_;
  std::string expect_;
  std::size_t header_bytes_ = 0;   // the start line and the fields so far
  std::size_t trailer_bytes_ = 0;
  std::size_t fields_ = 0;
  unsigned version_ = 11;
  bool head_ = false;
  bool start_line_done_ = false;
  bool in_trailer_ = false;
  bool has_connection_ = false;
  bool has_expect_ = false;
  bool has_content_length_ = false;
  bool has_transfer_encoding_ = false;
  bool has_host_ = false;
};

using RequestParser = DirectParser<true, Request>;
using ResponseParser = DirectParser<false, Response>;

}  // namespace orch::http::detail
