// One HttpClient call's attempts and outcome: an attempt starts on a pooled
// connection or a fresh one, a response or a failure ends it, and the call
// retries (backoff with full jitter, or the server's Retry-After) or hands
// its result to the callback.
#include "adapters/http/http_client_call.h"

#include <algorithm>
#include <string_view>
#include <utility>

namespace orch::http::detail {

namespace {

constexpr std::chrono::seconds kMaxRetryAfter{30};

std::optional<std::chrono::seconds> parse_retry_after(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty() || v.size() > 9) return std::nullopt;
  std::int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return std::chrono::seconds(n);
}

}  // namespace

Call::Call(std::shared_ptr<ClientCore> core, std::shared_ptr<const ParsedUrl> parsed,
           CallOptions options, CallCallback done)
    : core_(std::move(core)),
      parsed_(std::move(parsed)),
      url_(parsed_->url),
      options_(std::move(options)),
      done_(std::move(done)),
      timer_(core_->ex) {
  // The pool key: scheme, host and port, and the connection settings.
  key_.reserve(parsed_->origin.size() + 48);
  key_ += parsed_->origin;
  if (options_.connection) {
    key_ += '|';
    options_.connection->append_key(key_);
  }
}

void Call::start_attempt() {
  ++attempts_;
  fresh_retry_used_ = false;
  deadline_ = Clock::now() + options_.timeout;
  Origin& o = origin();
  if (!o.setup_error.empty()) return fail_attempt(o.setup_failure, o.setup_error, false);
  if (auto c = core_->take_idle(o)) {
    conn_ = std::move(c);
    reused_ = true;
    exchange();
    return;
  }
  fresh_connection();
}

void Call::on_resolved(error_code ec) {
  if (state_ != State::resolving) return;
  timer_.cancel();
  if (ec) {
    return fail_attempt(TransportError::connect,
                        "cannot resolve " + origin().connect_host + ": " + ec.message());
  }
  connect();
}

std::string Call::where() {
  const Origin& o = origin();
  std::string out = parsed_->origin;
  if (o.proxy) out += " via proxy " + o.proxy->address();
  return out;
}

void Call::on_read() {
  bool reusable = !parser_->message_need_eof() && conn_->buffer.size() == 0;
  parser_.reset();
  if (reusable) {
    core_->give_back(origin(), std::move(conn_));
  } else {
    conn_->unwatch();
    conn_->close();
    conn_.reset();
  }

  last_.error = TransportError::none;
  const int status = last_.response.status;
  bool retryable = (status >= 500 && status <= 599) || status == 429;
  if (retryable && attempts_ <= options_.max_retries) {
    std::optional<std::chrono::milliseconds> wait;
    if (status == 429 || status == 503) {
      if (auto ra = last_.response.header("Retry-After")) {
        if (auto secs = parse_retry_after(*ra)) {
          wait = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::min<std::chrono::seconds>(*secs, kMaxRetryAfter));
        }
      }
    }
    return schedule_retry(wait);
  }
  finish();
}

void Call::fail_attempt(TransportError error, std::string message, bool retryable) {
  last_ = CallResult{};
  last_.error = error;
  last_.error_message = std::move(message);
  if (retryable && attempts_ <= options_.max_retries) return schedule_retry(std::nullopt);
  finish();
}

void Call::schedule_retry(std::optional<std::chrono::milliseconds> wait) {
  state_ = State::waiting;
  ++gen_;
  auto delay = wait ? *wait : full_jitter_backoff(options_, attempts_, core_->random01());
  timer_.expires_after(delay);
  timer_.async_wait([self = shared_from_this()](error_code) { self->start_attempt(); });
}

void Call::finish() {
  state_ = State::done;
  ++gen_;
  last_.attempts = attempts_;
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(last_));
}

std::string Call::timeout_text() const {
  return std::to_string(options_.timeout.count()) + " ms";
}

}  // namespace orch::http::detail
