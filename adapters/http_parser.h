// What the HTTP server and client share to read and write messages without
// Beast's intermediate message type: their socket and timer types, a parser
// that fills orch::http::Request or Response straight from Beast's own
// basic_parser (so the grammar and limits stay Beast's), and the small
// formatting helpers of the hand-built header blocks. Internal to
// adapters/http_server.cpp and http_client.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "adapters/http_message.h"

namespace orch::http::detail {

// Concrete executor types: no any_io_executor type erasure on the hot path.
// Every io_context that runs a client or a server runs on one thread (see
// HttpClient and HttpServer), so its own executor already runs a
// connection's handlers one at a time. A strand would add, to every
// completion, a queue under a mutex and a second pass through the scheduler.
using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
using Timer =
    boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                      boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

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

// Parses one message into `out` (a Request when isRequest, else a Response):
// the same parser and limits as Beast's request_parser/response_parser with
// string_body, without the intermediate message and its per-field
// allocations. One per message.
template <bool isRequest, class Message>
class DirectParser final : public boost::beast::http::basic_parser<isRequest> {
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

 public:
  explicit DirectParser(Message& out) : out_(out) {}

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
    }
    ec = {};
  }
  void on_response_impl(int code, string_view, int version, error_code& ec) override {
    if constexpr (!isRequest) {
      out_.status = code;
      version_ = static_cast<unsigned>(version);
      out_.headers.reserve(8);
    }
    ec = {};
  }
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override {
    using boost::beast::http::field;
    std::string_view v = trim_ows(std::string_view(value.data(), value.size()));
    if (name == field::connection && !has_connection_) {
      has_connection_ = true;
      connection_ = v;
    } else if (name == field::expect && !has_expect_) {
      has_expect_ = true;
      expect_ = v;
    } else if (name == field::content_length) {
      has_content_length_ = true;
    }
    out_.headers.emplace_back(std::string(name_string.data(), name_string.size()), std::string(v));
    ec = {};
  }
  void on_header_impl(error_code& ec) override { ec = {}; }
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
  void on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) override { ec = {}; }
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
    out_.body.append(body.data(), body.size());
    ec = {};
    return body.size();
  }
  void on_finish_impl(error_code& ec) override { ec = {}; }

  Message& out_;
  std::string connection_;
  std::string expect_;
  unsigned version_ = 11;
  bool head_ = false;
  bool has_connection_ = false;
  bool has_expect_ = false;
  bool has_content_length_ = false;
};

using RequestParser = DirectParser<true, Request>;
using ResponseParser = DirectParser<false, Response>;

}  // namespace orch::http::detail
