// The services a campaign talks to, as the campaign phases see them. The
// phases own these interfaces; adapters/ implements them against each real
// service's public HTTP API (and the sandbox mimics those APIs).
//
// Every call carries a CallContext: the idempotency key the engine derived for
// the step ("{workflow_id}:{step}" forward, "{workflow_id}:{step}:compensate"
// for a compensation), the attempt's timeout and the W3C traceparent.
// Every call ends by invoking its callback exactly once, on the io_context
// thread, with a ServiceResult whose `value` holds the normalised fields
// documented on each method. Arguments are valid only during the call:
// implementations copy whatever they keep.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orch::phases {

enum class ServiceOutcome {
  ok,
  retryable,  // 5xx, 429, timeout, connection error: the engine may retry
  permanent,  // other 4xx or an unusable response: retrying cannot help
  // Not sent: the service's breaker is open, its bulkhead full or its rate
  // limit reached. `retry_after` says when calls may be admitted again.
  unavailable,
};

struct ServiceResult {
  ServiceOutcome outcome = ServiceOutcome::ok;
  int http_status = 0;                     // 0 when no response was received
  nlohmann::json value;                    // normalised output (see each port)
  std::string error;                       // set when outcome != ok; no secrets
  std::chrono::milliseconds retry_after{0};  // from Retry-After, if any

  bool ok() const { return outcome == ServiceOutcome::ok; }
};

using ServiceCallback = std::function<void(ServiceResult)>;

struct CallContext {
  std::string idempotency_key;
  std::chrono::milliseconds timeout{10'000};
  std::string traceparent;  // may be empty
  // Quick retries the adapter may make inside this call (5xx, 429, a
  // timeout): -1 = the service's max_retries setting. A caller that counts
  // attempts itself (a broadcast message: at most 3, with its own backoff)
  // sets 0, so one call is one request.
  int transport_retries = -1;
  // Where the gateway reports what became of a message (Twilio's
  // StatusCallback); "" = nowhere.
  std::string status_callback;
};

// Notion: POST /v1/search.
// value: {"results":[{"id":str,"title":str,"url":str}]}
class KnowledgeBase {
 public:
  virtual ~KnowledgeBase() = default;
  virtual void search(const CallContext& ctx, const std::string& query,
                      ServiceCallback done) = 0;
};

// Tool service (headless browser scraping): POST /v1/tools/scrape.
// value: {"url":str,"title":str,"text":str}
class WebScraper {
 public:
  virtual ~WebScraper() = default;
  virtual void scrape(const CallContext& ctx, const std::string& url,
                      ServiceCallback done) = 0;
};

// Memory gateway: POST /v1/recall, POST /v1/remember, DELETE /v1/memories/{key}.
// recall value: {"memories":[{"key":str,"value":json}]}
// remember value: {"key":str}; forget value: {"key":str}
class MemoryStore {
 public:
  virtual ~MemoryStore() = default;
  virtual void recall(const CallContext& ctx, const std::string& query,
                      ServiceCallback done) = 0;
  virtual void remember(const CallContext& ctx, const std::string& key,
                        const nlohmann::json& value, ServiceCallback done) = 0;
  virtual void forget(const CallContext& ctx, const std::string& key,
                      ServiceCallback done) = 0;
};

// OpenAI-compatible language model: POST /v1/chat/completions.
// value: {"text":str,"model":str,"tokens_used":int}
class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual void complete(const CallContext& ctx, const std::string& system_prompt,
                        const std::string& user_prompt, ServiceCallback done) = 0;
};

// Figma: render a template frame to an image
// (GET /v1/images/{file_key}?ids={node}&format=png) and delete a rendered
// asset (DELETE /v1/images/{file_key}/{asset_id}, the sandbox's extension).
// render value: {"asset_id":str,"url":str,"format":"png"}; remove value: {}
class DesignRenderer {
 public:
  virtual ~DesignRenderer() = default;
  virtual void render(const CallContext& ctx, const std::string& template_name,
                      const nlohmann::json& variables, ServiceCallback done) = 0;
  virtual void remove(const CallContext& ctx, const std::string& asset_id,
                      ServiceCallback done) = 0;
};

// GitHub: POST /repos/{o}/{r}/pulls, PUT and DELETE /repos/{o}/{r}/contents/{path}.
// open_pull_request value: {"number":int,"url":str}
// publish_file value: {"path":str,"sha":str,"commit_sha":str,"url":str}
// delete_file value: {"commit_sha":str}
class CodeHost {
 public:
  virtual ~CodeHost() = default;
  virtual void open_pull_request(const CallContext& ctx, const std::string& title,
                                 const std::string& body, const std::string& branch,
                                 ServiceCallback done) = 0;
  virtual void publish_file(const CallContext& ctx, const std::string& path,
                            const std::string& content, const std::string& message,
                            ServiceCallback done) = 0;
  virtual void delete_file(const CallContext& ctx, const std::string& path,
                           const std::string& sha, const std::string& message,
                           ServiceCallback done) = 0;
};

// Slack: POST /api/chat.postMessage. value: {"ts":str,"channel":str}
class ChatNotifier {
 public:
  virtual ~ChatNotifier() = default;
  virtual void post_message(const CallContext& ctx, const std::string& channel,
                            const std::string& text, ServiceCallback done) = 0;
};

// SendGrid: POST /v3/mail/send (scheduled with a batch id) and cancel through
// POST /v3/user/scheduled_sends {batch_id, status:"cancel"}.
// send value: {"message_id":str,"batch_id":str}; cancel value: {"batch_id":str}
// A SendGrid refusal (non-2xx) carries value {"errors":[{"message":str,
// "field":str|null}]} when its answer lists errors (else null).
struct EmailMessage {
  std::string subject;
  std::string html;
  std::string batch_id;
  std::vector<std::string> to;
};
class EmailSender {
 public:
  virtual ~EmailSender() = default;
  virtual void send(const CallContext& ctx, const EmailMessage& message,
                    ServiceCallback done) = 0;
  virtual void cancel(const CallContext& ctx, const std::string& batch_id,
                      ServiceCallback done) = 0;
};

// Buffer: POST /1/updates/create.json and POST /1/updates/{id}/destroy.json.
// create value: {"update_id":str}; destroy value: {"update_id":str}
class SocialScheduler {
 public:
  virtual ~SocialScheduler() = default;
  virtual void create_update(const CallContext& ctx, const std::string& text,
                             const std::string& media_url, ServiceCallback done) = 0;
  virtual void destroy_update(const CallContext& ctx, const std::string& update_id,
                              ServiceCallback done) = 0;
};

// Grafana: POST /api/dashboards/db and DELETE /api/dashboards/uid/{uid}.
// create value: {"uid":str,"url":str}; delete value: {"uid":str}
class DashboardHost {
 public:
  virtual ~DashboardHost() = default;
  virtual void create_dashboard(const CallContext& ctx, const std::string& uid,
                                const std::string& title,
                                const std::vector<std::string>& metrics,
                                ServiceCallback done) = 0;
  virtual void delete_dashboard(const CallContext& ctx, const std::string& uid,
                                ServiceCallback done) = 0;
};

// SMS / WhatsApp (Twilio Messages API shape), push and in-app (FCM v1 shape):
// POST /2010-04-01/Accounts/{sid}/Messages.json,
// POST /v1/projects/{project}/messages:send; cancel via
// POST /2010-04-01/Accounts/{sid}/Messages/{id}.json {Status:"canceled"} or
// DELETE /v1/projects/{project}/messages/{id}.
// send value: {"message_id":str,"channel":str}; cancel value: {"message_id":str}
// When Twilio refuses a send or send_to (any non-2xx answer), value is
// {"code":<Twilio's error code>} (null when its answer has none), so the
// caller can name the refusal ("twilio 21211") and tell 63016 (WhatsApp
// outside the 24-hour window: permanent, only a template may be sent) apart.
//
// send_to: one message to one recipient (a user id: Twilio's To, FCM's
// registration token). value: {"message_id":str,"channel":str,
// "recipient":str}. When Twilio refuses it because the recipient opted out
// (error 21610), the outcome is permanent and value is
// {"recipient_opted_out":true,"code":21610}.
class MessageGateway {
 public:
  virtual ~MessageGateway() = default;
  virtual void send(const CallContext& ctx, const std::string& channel,
                    const std::string& audience, const std::string& body,
                    ServiceCallback done) = 0;
  virtual void send_to(const CallContext& ctx, const std::string& channel,
                       const std::string& recipient, const std::string& body,
                       ServiceCallback done) = 0;
  virtual void cancel(const CallContext& ctx, const std::string& channel,
                      const std::string& message_id, ServiceCallback done) = 0;
};

// Rewards (store credit): POST /v1/credits {"customer_id","amount","currency"}
// with the Idempotency-Key header; a repeat of a key answers the first
// credit again without paying twice. value: {"credit_id":str,"replayed":bool}
class RewardsService {
 public:
  virtual ~RewardsService() = default;
  virtual void credit(const CallContext& ctx, const std::string& customer_id, double amount,
                      const std::string& currency, ServiceCallback done) = 0;
};

// The user actors (phases/user_actor/) as a campaign sees them. Every
// message to a user is reserved first (the actor grants or denies it against
// the user's caps and opt-outs), then committed once sent or released when
// not sent, so caps hold across campaigns. Callbacks run exactly once on the
// engine's thread, possibly before the call returns.
struct GateResult {
  bool ok = false;
  nlohmann::json answer;   // ok: the actor's answer (user_actor.h)
  std::string error;       // otherwise: why
  bool retryable = false;  // otherwise: the journal could not be read or written
};
using GateCallback = std::function<void(GateResult)>;

// What a user's actor knows of one message.
enum class MessageState {
  unknown,    // never reserved, or released, or its reservation expired
  pending,    // reserved and not yet committed or released
  committed,  // sent and recorded
};

class RecipientGate {
 public:
  virtual ~RecipientGate() = default;
  // `request`: the actor's reserve request (campaign_id, channel,
  // message_id, on_capped, ...). A repeat with the same idempotency key gets
  // the first answer, also after a restart.
  virtual void reserve(const std::string& user, const nlohmann::json& request,
                       const std::string& idempotency_key, GateCallback done) = 0;
  virtual void commit(const std::string& user, const std::string& reservation_id,
                      GateCallback done) = 0;
  virtual void release(const std::string& user, const std::string& reservation_id,
                       GateCallback done) = 0;
  // The user no longer takes messages on `channel` (e.g. the gateway said so).
  virtual void opt_out(const std::string& user, const std::string& channel,
                       GateCallback done) = 0;
  // A hint that the sender is done with `user` for now: its actor may leave
  // memory at once instead of after its idle time (a broadcast touches
  // each of a million users once).
  virtual void done_with(const std::string& user) { (void)user; }
  // Synchronous: the actor's state as it is in memory. When pending,
  // *reservation_id is set to the pending reservation.
  virtual MessageState message_state(const std::string& user, const std::string& message_id,
                                     std::string* reservation_id) = 0;
};

// The set of ports a campaign needs. Non-owning; all must be non-null.
struct CampaignServices {
  KnowledgeBase* knowledge = nullptr;
  WebScraper* scraper = nullptr;
  MemoryStore* memory = nullptr;
  LanguageModel* language_model = nullptr;
  DesignRenderer* design = nullptr;
  CodeHost* code_host = nullptr;     // pull requests for review
  CodeHost* pages = nullptr;         // GitHub Pages repository for the blog
  ChatNotifier* chat = nullptr;
  EmailSender* email = nullptr;
  SocialScheduler* social = nullptr;
  DashboardHost* dashboards = nullptr;
  MessageGateway* messaging = nullptr;
};

}  // namespace orch::phases
