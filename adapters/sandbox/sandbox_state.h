// Internal to the sandbox: its state and the fake-service route table. Only
// sandbox.cpp and the fake services (fake_*.cpp, through fake_services.h)
// include this.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_message.h"
#include "adapters/sandbox/sandbox.h"

namespace orch::sandbox {

// No service record (LedgerEntry::record, Call::record).
inline constexpr std::size_t kNoRecord = static_cast<std::size_t>(-1);

struct LedgerEntry {
  uint64_t seq = 0;
  std::string workflow_id;
  std::string step;
  std::string idempotency_key;
  bool compensation = false;
  const char* service = "";
  std::string method;
  std::string path;
  std::string recipient;  // a message's addressee (Twilio To, FCM token), a credit's customer
  uint64_t replays = 0;
  // The service's own record of the effect (a credit's index in
  // State::credits), or kNoRecord.
  std::size_t record = kNoRecord;
  // The answer a repeat of the key gets (only the status when the route
  // answers repeats itself: RouteMatch::replay).
  http::Response cached;
};

struct Fault {
  std::string id;
  std::string path_prefix;
  std::string method;                  // empty: any
  int status = 503;                    // 0: latency only
  double rate = 1.0;
  std::chrono::milliseconds latency{0};
  std::vector<std::string> workflow_ids;  // empty: any
  int retry_after_s = -1;              // <0: no Retry-After header
  int64_t count = -1;                  // <0: unlimited
  int64_t matched = 0;
  bool drop_connection = false;
  std::string error;  // non-empty: answer with the service's own error body
  // Non-empty: only requests to these message recipients (message_recipient()).
  std::set<std::string> recipients;
  // Fails an Idempotency-Key only on the first request with it that the
  // fault matches; requests without a key are always eligible.
  bool first_attempt_only = false;
  std::unordered_set<std::string> keys_seen;  // with first_attempt_only

  nlohmann::json to_json() const;
};

struct GitFile {
  std::string sha;
  std::size_t size = 0;
};

struct Dashboard {
  int64_t id = 0;
  std::string title;
  int version = 1;
};

using FormFields = std::vector<std::pair<std::string, std::string>>;

// One call to a fake service, as seen by its handler.
struct Call {
  const http::Request& req;
  std::vector<std::string> seg;  // percent-decoded path segments
  nlohmann::json body;           // parsed JSON object (json/form routes)
  FormFields form;               // parsed form fields (form routes)
  bool is_form = false;
  bool failed = false;           // a 2xx that is an error (Slack ok:false)
  std::string recipient;         // set by a message send or a credit, for its ledger entry
  std::size_t record = kNoRecord;  // set by a handler that keeps a record (a credit)

  // A string field from the JSON body or the form.
  std::optional<std::string> field(std::string_view name) const;
  // All values of a (form) field, or the JSON array/string under `name`.
  std::vector<std::string> fields(std::string_view name) const;
};

using ServiceHandler = http::Response (*)(Sandbox::State&, Call&);
// Answers the repeat of an Idempotency-Key its route already applied
// (`applied`), instead of the cached answer: a 2xx is a replay (counted as
// one, marked Idempotent-Replayed), anything else refuses the repeat and
// applies nothing (Stripe's 422 for a key reused with other parameters).
using ReplayHandler = http::Response (*)(Sandbox::State&, const Call&, const LedgerEntry& applied);

enum class BodyKind { none, json, form_or_json };

enum class AuthKind {
  none, bearer, notion, figma, slack, twilio, google, github, sendgrid, grafana, rewards
};

struct RouteMatch {
  int error = 0;             // 404 or 405 when no handler matched
  std::string allow;         // for 405
  const char* service = "";  // ledger service name
  ServiceHandler handler = nullptr;
  ReplayHandler replay = nullptr;  // null: a repeat gets the cached answer
  BodyKind body = BodyKind::none;
  AuthKind auth = AuthKind::none;
};

struct Sandbox::State {
  explicit State(boost::asio::io_context& io_ctx, const SandboxOptions& options)
      : io(io_ctx),
        latency(options.latency),
        failure_rate(options.failure_rate),
        rng(options.seed) {
    reserve();
  }

  boost::asio::io_context& io;
  mutable std::mutex mu;

  // Configuration.
  std::chrono::milliseconds latency;
  double failure_rate;
  std::mt19937_64 rng;

  // The ledger. A deque: entries (each with its cached answer) never move as
  // it grows, where a vector re-moved all of them at every doubling.
  std::deque<LedgerEntry> ledger;
  // Every Idempotency-Key a fake-service request carried: its ledger entry
  // once a 2xx answer applied it, and how its requests were answered (GET
  // /sandbox/attempts). One table, so a request costs one lookup.
  struct KeyAttempts {
    uint32_t attempts = 0;   // requests, whatever their answer
    uint32_t successes = 0;  // 2xx answers that applied the side effect
    uint32_t replays = 0;    // 2xx answers replayed from the ledger
  };
  static constexpr std::size_t kNoEntry = static_cast<std::size_t>(-1);
  struct KeyRecord {
    std::size_t entry = kNoEntry;  // index in `ledger`, kNoEntry until applied
    KeyAttempts counts;
  };
  std::unordered_map<std::string, KeyRecord> by_key;
  std::unordered_map<std::string, std::vector<std::size_t>> by_workflow;
  uint64_t effects = 0;
  uint64_t compensations = 0;
  uint64_t replays = 0;
  uint64_t faults_injected = 0;
  uint64_t workflows = 0;  // distinct non-empty workflow ids

  // Faults.
  std::vector<Fault> faults;
  uint64_t next_fault_id = 1;


  // Stored objects of the fake services.
  uint64_t id_counter = 0;
  std::map<std::string, nlohmann::json> memories;
  std::unordered_map<std::string, std::string> figma_assets;  // asset id -> file key
  std::unordered_map<std::string, int64_t> github_pr_numbers;  // "o/r" -> last number
  std::unordered_map<std::string, GitFile> github_files;       // "o/r/path"
  std::unordered_map<std::string, std::string> sendgrid_batches;  // batch -> status
  // Sent emails, for GET /v3/messages/{msg_id} (SendGrid's Email Activity):
  // the newest ones only (kSentEmailsKept in fake_sendgrid.cpp), so that a
  // long benchmark's sandbox stays small.
  struct SentEmail {
    std::string from_email, to_email, subject;
  };
  std::unordered_map<std::string, SentEmail> sendgrid_messages;  // msg_id -> email
  std::deque<std::string> sendgrid_message_order;                // oldest first
  std::unordered_map<std::string, std::string> buffer_updates;    // id -> status
  std::unordered_map<std::string, Dashboard> dashboards;          // uid
  int64_t dashboard_ids = 0;
  std::unordered_map<std::string, std::string> twilio_messages;  // sid -> status
  std::unordered_map<std::string, std::string> fcm_messages;     // id -> project
  // Recipients who answered STOP (POST /sandbox/opt-outs): Twilio refuses
  // to send them on these channels (sms, whatsapp) with 21610.
  std::map<std::string, std::set<std::string>> twilio_opt_outs;
  // Store credits (fake_rewards.cpp), oldest first, with their totals per
  // customer and overall, so that GET /sandbox/credits?summary=true is one
  // lookup at any rate. A credit's Idempotency-Key and replays are its
  // ledger entry's (LedgerEntry::record names the credit); its id derives
  // from its index.
  struct CreditTotals {
    uint64_t count = 0;
    uint64_t replays = 0;  // repeats of a credit's key answered from the ledger
    double amount = 0.0;   // whatever the currencies
  };
  struct CustomerCredits {
    std::vector<std::size_t> credits;  // indices in `credits`
    CreditTotals totals;
  };
  using CustomerNode = std::pair<const std::string, CustomerCredits>;
  struct Credit {
    CustomerNode* customer = nullptr;  // in credits_by_customer (node-based: stable)
    std::size_t entry = 0;             // its ledger entry
    double amount = 0.0;
    std::string currency;
    int64_t created_at = 0;  // Unix seconds
  };
  std::deque<Credit> credits;
  std::unordered_map<std::string, CustomerCredits> credits_by_customer;
  CreditTotals credit_totals;

  void clear();    // REQUIRES: mu held (sandbox_state.cpp)
  void reserve();  // pre-sizes the ledger tables
  uint64_t next_id() { return ++id_counter; }
};

// --- fake_service_routes.cpp, fake_service_auth.cpp ---

RouteMatch match_service_route(std::string_view method,
                               const std::vector<std::string>& seg);
// The addressee of a message send, as faults filter on it: Twilio's To
// without "whatsapp:", FCM's message.token, SendGrid's first
// personalization's first "to" email, a credit's customer_id; "" for any
// other request.
std::string message_recipient(ServiceHandler handler, const Call& call);
// nullopt when the request carries the credentials the service requires.
std::optional<http::Response> check_auth(AuthKind auth, const http::Request& req);

// The control endpoint /sandbox/opt-outs[/{recipient}] (sandbox.h;
// fake_twilio.cpp). REQUIRES: s.mu held.
http::Response twilio_opt_outs_control(Sandbox::State& s, const http::Request& req,
                                       const std::vector<std::string>& seg);
// GET /sandbox/credits[?customer_id=][&summary=true] (sandbox.h;
// fake_rewards.cpp). REQUIRES: s.mu held.
http::Response rewards_credits_control(Sandbox::State& s, const http::Request& req,
                                       const std::vector<std::string>& seg);
// Its answer's JSON text ("" customer_id: every customer), also for
// Sandbox::credits(). REQUIRES: s.mu held.
std::string rewards_credits_text(const Sandbox::State& s, const std::string& customer_id,
                                 bool summary);

// --- shared by the sandbox and the fake services (fake_service_requests.cpp,
// fake_service_values.cpp, fake_service_errors.cpp) ---

std::string path_decode(std::string_view in);
std::vector<std::string> split_path(std::string_view path);
FormFields parse_form(std::string_view body);
std::string hex_id(uint64_t n, std::size_t len, uint64_t salt = 0);
uint64_t fnv1a(std::string_view s, uint64_t h = 14695981039346656037ULL);
http::Response json_response(int status, const nlohmann::json& body);
http::Response problem(int status, std::string_view detail);
// The error answer `service` (a RouteMatch::service) itself gives with
// `status`, its reason being `reason`: Slack's {"ok":false,"error"},
// SendGrid's {"errors":[{"message"}]}, GitHub's {"message"}, ... (the table
// in sandbox.h).
http::Response service_error(std::string_view service, int status, const std::string& reason);

}  // namespace orch::sandbox
