// The sandbox: in-process fakes of every external service a campaign talks to,
// answering on the same paths, with the same auth headers and JSON shapes as
// the real public APIs, so the orchestrator can point at either:
//   Notion        POST /v1/search                       (Bearer + Notion-Version)
//   Tool service  POST /v1/tools/scrape
//   Memory gw     POST /v1/recall, POST /v1/remember, DELETE /v1/memories/{key}
//   OpenAI-compat POST /v1/chat/completions              (content: JSON string with
//                 headline, tagline, email_subject, email_body, social_post,
//                 blog_outline derived from the "Campaign: X" line / first line)
//   Figma         GET /v1/images/{file}?ids=&format=, DELETE /v1/images/{file}/{asset}
//                                                       (X-Figma-Token)
//   GitHub        POST /repos/{o}/{r}/pulls, PUT|GET|DELETE /repos/{o}/{r}/contents/{path}
//                                                       (Bearer or "token"; replacing a
//                 file without its sha -> 422, a stale sha -> 409)
//   Slack         POST /api/chat.postMessage             (errors in-band: 200 ok:false)
//   SendGrid      POST /v3/mail/send (202 + X-Message-Id), POST /v3/user/scheduled_sends
//   Buffer        POST /1/updates/create.json, POST /1/updates/{id}/destroy.json
//                                                       (access_token field/query/Bearer)
//   Grafana       POST /api/dashboards/db, GET|DELETE /api/dashboards/uid/{uid}
//   Twilio        POST /2010-04-01/Accounts/{sid}/Messages.json,
//                 POST|GET /2010-04-01/Accounts/{sid}/Messages/{msid}.json (Basic)
//                 Magic To numbers, as Twilio's test credentials define them
//                 (https://www.twilio.com/docs/iam/test-credentials), on SMS
//                 and WhatsApp alike (the number after "whatsapp:"), each a
//                 400 {"code","message","more_info","status"}:
//                   +15005550001 21211 "The 'To' number ... is not a valid
//                                      phone number."
//                   +15005550002 21612 (cannot route)
//                   +15005550003 21408 (no permission for the region)
//                   +15005550004 21610 (unsubscribed, as opt-outs below)
//                   +15005550009 21614 (not a mobile number)
//                 and on WhatsApp only: whatsapp:+15005550016 63016 "Failed
//                 to send freeform message because you are outside the
//                 allowed window. If you are using WhatsApp, please use a
//                 Message Template."
//   FCM           POST /v1/projects/{p}/messages:send, DELETE /v1/projects/{p}/messages/{id}
//   Rewards       POST /v1/credits {"customer_id":non-empty str,"amount":number > 0,
//                 "currency":3 upper-case letters} (Bearer; Idempotency-Key
//                 required, else 400) -> 201 {"amount","created_at"(Unix s),
//                 "credit_id":"cr_...","currency","customer_id"}; the repeat of
//                 a key with the same fields -> 200, the same credit plus
//                 "replayed":true; with other fields -> 422 (as Stripe).
//                 Errors {"error":{"message","param"?}}: a missing or mistyped
//                 field 400, amount <= 0 or a bad currency 422.
// Unknown path -> 404, wrong method -> 405 (+Allow), bad JSON body -> 400,
// missing credentials -> the service's own 401/403 shape. Deleting an absent
// object -> 404.
//
// The core is an idempotency ledger keyed by the `Idempotency-Key` header
// ("{workflow_id}:{step}" or "{workflow_id}:{step}:compensate"): the first 2xx
// answer for a key applies the side effect, appends a ledger entry (kind
// effect/compensation, service, method, path) and caches the response; a
// repeat returns the cached response (+ "Idempotent-Replayed: true") and bumps
// the entry's replay counter; the same key on another method/path -> 422. A
// route may answer repeats itself (RouteMatch::replay: rewards compares the
// body, and refuses another one with 422, counted as no replay).
// Requests without the header apply every time, under workflow "". Non-2xx
// answers (and Slack's ok:false) are neither ledgered nor cached. Every
// successful fake-service request, reads included, is one ledger entry.
//
// Faults (POST /sandbox/faults) and the global latency/failure_rate apply only
// to fake-service paths, before the replay lookup; a failing fault answers
// with its status (problem JSON, optional Retry-After) and applies nothing;
// drop_connection closes the connection without an answer. Latency uses a
// steady_timer on the io_context (the side effect is applied at once, the
// answer is delayed), never a sleep.
//
// A fault with "error" answers instead with the body the matched service
// itself sends for an error, carrying that reason, with the fault's status
// (Slack's in-band errors come with status 200):
//   slack          {"ok":false,"error":R}
//   sendgrid       {"errors":[{"message":R,"field":null,"help":null}]}
//   github         {"message":R,"documentation_url":...,"status":"<status>"}
//   notion         {"object":"error","status":S,"code":<by status>,"message":R}
//   figma          {"status":S,"err":R}
//   slm            {"error":{"message":R,"type":...,"param":null,"code":null}}
//   twilio         {"code":<by status>,"message":R,"more_info":...,"status":S}
//   fcm            {"error":{"code":S,"message":R,"status":<by status>,
//                   "details":[{"@type":...FcmError,"errorCode":<by status>}]}}
//   buffer         {"success":false,"code":S,"message":R}
//   grafana        {"message":R}
//   rewards        {"error":{"message":R}}
//   tool_service, memory_gateway  {"error":R}
//
// HTTP control endpoints (never ledgered, never faulted):
//   GET    /health
//   GET    /sandbox/ledger            {"side_effects","compensations","replays",
//                                      "faults_injected","workflows"}  (workflows:
//                                      distinct non-empty workflow ids)
//   GET    /sandbox/ledger/{wf}       {"workflow_id","side_effects":[...],
//                                      "compensations":[...]}  (404 if none); entries
//                                      {"seq","step","service","method","path",
//                                       "idempotency_key","replays","status",
//                                       "recipient"? (a message's To without
//                                       "whatsapp:" / FCM token / first email,
//                                       a credit's customer_id)}
//                                      Keys "{wf}:{step}" split at the first ':';
//                                      entries in seq order, O(n) to list.
//   GET    /sandbox/ledger/{wf}?summary=true
//                                     {"workflow_id","entries":N,"replays":R,
//                                      "keys_with_replays":[key...]} (404 if none)
//   GET    /sandbox/attempts?key=K    {"key","attempts","successes","replays"}:
//                                      requests on a fake-service route (404/405
//                                      paths excluded) that carried Idempotency-
//                                      Key K, whatever their answer (faulted,
//                                      dropped, refused, 4xx); successes: 2xx
//                                      answers that applied the side effect (at
//                                      most 1), replays: 2xx replays. An unseen
//                                      key reads zeros. At most 1,048,576 keys
//                                      are counted until reset; without ?key:
//                                      {"keys"}: how many keys were seen
//   POST   /sandbox/faults            {"path_prefix","method"?,"status"(503; 0 =
//                                      latency only),"rate"(1.0),"latency_ms",
//                                      "workflow_ids"?,"retry_after_s"?,"count"?,
//                                      "drop_connection","error"?,"recipients"?,
//                                      "first_attempt_only"?(false)}
//                                      -> 201 {"id",...,"matched"}
//                                      recipients: [string]; only message sends
//                                      to one of them match (Twilio's To without
//                                      "whatsapp:", FCM's message.token,
//                                      SendGrid's personalizations[0].to[0].email),
//                                      and credits to one of these customer_ids.
//                                      first_attempt_only: a request whose
//                                      Idempotency-Key already reached this fault
//                                      (matched its filters) passes through, so
//                                      each key fails at most once; requests
//                                      without a key are always eligible. rate
//                                      and count apply to the eligible requests
//                                      (rate: seeded, deterministic).
//   GET    /sandbox/faults            {"faults":[...]}
//   DELETE /sandbox/faults[/{id}]
//   GET|PUT /sandbox/config           {"latency_ms","failure_rate"}
//   POST   /sandbox/opt-outs          {"recipient","channels"?} -> 201: Twilio
//                                      answers sends to that recipient on those
//                                      channels (sms, whatsapp; default both) with
//                                      400 code 21610, applying nothing
//   GET    /sandbox/opt-outs          {"opt_outs":[{"recipient","channels"}]}
//   DELETE /sandbox/opt-outs[/{recipient}]
//   GET    /sandbox/credits[?customer_id=C][&summary=true]
//                                     {"count","replays","total_amount",
//                                      "customer_id"? ,"credits":[{"amount",
//                                      "created_at","credit_id","currency",
//                                      "customer_id","idempotency_key","replays"}]}
//                                      the rewards credits applied (all customers
//                                      without customer_id; an unknown one reads
//                                      zeros), oldest first; replays: repeats of
//                                      their keys answered from the ledger;
//                                      total_amount: the sum whatever the
//                                      currencies. summary=true: without
//                                      "credits", one lookup
//   POST   /sandbox/reset             clears ledger, stored objects (credits
//                                      too), faults, opt-outs, attempts and
//                                      counters (keeps config)
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/http/http_message.h"
#include "adapters/http/http_server.h"

namespace boost::asio {
class io_context;
}

namespace orch::sandbox {

struct SandboxOptions {
  std::chrono::milliseconds latency{0};  // added before every fake-service answer
  double failure_rate = 0.0;             // probability of a random 503
  uint64_t seed = 42;                    // for failure_rate and fault rates < 1
  // Set (both files): the sandbox speaks HTTPS only, as the real services
  // do (see adapters/sandbox/throwaway_ca.h for a certificate).
  http::ServerTls tls;
};

class Sandbox {
 public:
  explicit Sandbox(boost::asio::io_context& io, SandboxOptions options = {});
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Starts an orch::http::HttpServer on host:port (0 = ephemeral), over
  // HTTPS when the options name a certificate. Returns "" on success,
  // otherwise the failure.
  std::string listen(const std::string& host, uint16_t port);
  uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>" ("https://..." over TLS)
  // Stops the HTTP server (idempotent). State is kept.
  void stop();

  // The request handler. Thread-safe; answers synchronously unless latency
  // applies, in which case `respond` is called from a steady_timer on the
  // io_context given to the constructor.
  void handle(http::Request req, http::Responder respond);

  // Thread-safe snapshots, same JSON as GET /sandbox/ledger and
  // GET /sandbox/ledger/{id} (for an unknown id: empty arrays).
  nlohmann::json ledger_summary() const;
  nlohmann::json ledger_for(const std::string& workflow_id) const;
  // Same JSON as GET /sandbox/ledger/{id}?summary=true (for an unknown id:
  // zeros) and GET /sandbox/attempts?key=K.
  nlohmann::json ledger_counts_for(const std::string& workflow_id) const;
  nlohmann::json attempts_for(const std::string& key) const;
  // Same JSON as GET /sandbox/credits?customer_id=C (all customers for "")
  // and, with `summary`, &summary=true.
  nlohmann::json credits(const std::string& customer_id = "", bool summary = false) const;

  // Clears ledger, stored objects, faults and counters (as POST /sandbox/reset).
  void reset();

  struct State;  // implementation detail (adapters/sandbox/sandbox_state.h)

 private:
  boost::asio::io_context& io_;
  const http::ServerTls tls_;
  std::shared_ptr<State> state_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace orch::sandbox
