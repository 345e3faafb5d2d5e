#include "phases/broadcast/broadcasts.h"

#include "engine/journal/journal.h"
#include "engine/time/clock.h"
#include "phases/audience/customer_directory.h"
#include "phases/audience/message_template.h"

namespace orch::phases::broadcast {

using engine::ActivityDone;
using engine::ActivityOutcome;
using engine::ActivityOutcomeKind;
using engine::ActivityRequest;
using engine::FanOutItem;
using nlohmann::json;

namespace {

constexpr std::size_t kItemsPerTransaction = 1'000;

ActivityOutcome failed(ActivityOutcomeKind kind, std::string why) {
  return ActivityOutcome::failure(kind, std::move(why));
}

// Where a customer's message goes on `channel`.
std::string address_of(const json& customer, const std::string& channel) {
  if (channel == "email") return customer.value("email", "");
  if (channel == "push") return customer.value("id", "");
  return customer.value("phone", "");
}

}  // namespace

namespace {

// The broadcast a step's input names, or false after failing the step:
// permanently when there is none, retryably when the store cannot say.
bool load_for_step(Broadcasts& owner, const ActivityRequest& r, Broadcast* out,
                   const ActivityDone& done) {
  const std::string id = r.input.value("broadcast_id", "");
  Status error;
  if (owner.load(id, out, &error)) return true;
  done(error ? failed(ActivityOutcomeKind::permanent, "no broadcast " + id)
             : failed(ActivityOutcomeKind::retryable, error.message()));
  return false;
}

}  // namespace

// The audience step: one item per customer, added a chunk at a time.
class Broadcasts::Audience final : public engine::Activity {
 public:
  explicit Audience(Broadcasts& owner) : owner_(owner) {}

  void run(const ActivityRequest& r, ActivityDone done) override {
    Broadcast b;
    if (!load_for_step(owner_, r, &b, done)) return;
    draw(std::move(b), r.input, r.input.value("round", 0), std::move(done));
  }

  // Marks `b` sending and adds its audience (`input`'s customer_ids or
  // segment) to its fan-out; a round after the first requeues the failed
  // messages instead. Output: {messages_queued}.
  void draw(Broadcast b, const json& input, int round, ActivityDone done) {
    auto job = std::make_shared<Job>();
    job->id = b.id;
    job->round = round;
    job->done = std::move(done);
    engine::FanOutStore& items = owner_.journal_.store().fan_outs();
    if (job->round > 0) return requeue(job, std::move(b));
    audience::TemplateError template_error;
    auto compiled = audience::MessageTemplate::compile(b.base_template, &template_error);
    if (!compiled)
      return job->done(failed(ActivityOutcomeKind::permanent, "the template does not compile"));
    job->message = std::make_shared<audience::MessageTemplate>(std::move(*compiled));
    job->channel = b.channel;
    if (const json* ids = engine::at_pointer(input, "/customer_ids"); ids && ids->is_array())
      for (const json& id : *ids) job->ids.push_back(id.get<std::string>());
    else
      job->segment = input.value("segment", json::object());
    // A re-run after a crash: customers already added keep their items; new
    // ones are numbered after the last.
    if (Status s = items.fan_out_last_ordinal(job->id, &job->ordinal); !s)
      return job->done(failed(ActivityOutcomeKind::retryable, s.message()));
    b.status = "sending";
    owner_.save(std::move(b), [this, job](const Status& s) {
      if (!s) return job->done(failed(ActivityOutcomeKind::retryable, s.message()));
      next_chunk(job);
    });
  }

 private:
  struct Job {
    std::string id;
    int round = 0;
    ActivityDone done;
    std::shared_ptr<audience::MessageTemplate> message;
    std::string channel;
    std::vector<std::string> ids;  // customer ids given, or:
    json segment;                  // {"location": l} or {"all": true}
    std::size_t next_id = 0;
    std::int64_t before_seq = 0;   // the segment's page cursor
    bool segment_done = false;
    std::int64_t ordinal = 0;      // the last item's
    std::uint64_t queued = 0;
  };

  void requeue(std::shared_ptr<Job> job, Broadcast b) {
    b.status = "sending";
    owner_.save(std::move(b), [this, job](const Status& s) {
      if (!s) return job->done(failed(ActivityOutcomeKind::retryable, s.message()));
      owner_.fan_outs_.requeue(job->id, engine::kItemFailed, [job](const Status& r, std::size_t n) {
        if (!r) return job->done(failed(ActivityOutcomeKind::retryable, r.message()));
        job->done(ActivityOutcome::success({{"messages_queued", n}}));
      });
    });
  }

  // The next chunk's customers: documents read from the store.
  Status read_chunk(Job& job, std::vector<engine::Document>* customers,
                    std::vector<std::string>* missing) {
    engine::DocumentStore& docs = owner_.journal_.store().documents();
    if (!job.ids.empty()) {
      for (; job.next_id < job.ids.size() && customers->size() + missing->size() < kItemsPerTransaction;
           ++job.next_id) {
        bool found = false;
        engine::Document d;
        if (Status s = docs.get_document(audience::kCustomers, job.ids[job.next_id], &d, &found); !s)
          return s;
        if (found) customers->push_back(std::move(d));
        else missing->push_back(job.ids[job.next_id]);
      }
      return Status::ok();
    }
    if (job.segment_done) return Status::ok();
    engine::DocumentQuery q{audience::kCustomers, job.segment.value("location", ""), "",
                            job.before_seq, kItemsPerTransaction};
    bool more = false;
    if (Status s = docs.list_documents(q, customers, &more); !s) return s;
    if (!customers->empty()) job.before_seq = customers->back().seq;
    job.segment_done = !more;
    return Status::ok();
  }

  void next_chunk(std::shared_ptr<Job> job) {
    std::vector<engine::Document> customers;
    std::vector<std::string> missing;
    if (Status s = read_chunk(*job, &customers, &missing); !s)
      return job->done(failed(ActivityOutcomeKind::retryable, s.message()));
    if (customers.empty() && missing.empty())
      return job->done(ActivityOutcome::success({{"messages_queued", job->queued}}));
    std::vector<FanOutItem> items;
    for (const engine::Document& d : customers) {
      const json customer = audience::customer_fields(d);
      const json detail = {{"content", job->message->render(customer)},
                           {"to", address_of(customer, job->channel)}};
      items.push_back({job->id, d.id, ++job->ordinal, "", 0, detail.dump(), "", 0, 0});
    }
    // Deleted between the send's check and now: recorded, not sent.
    for (const std::string& id : missing)
      items.push_back({job->id, id, ++job->ordinal, "skipped", 0, "{}", "no such customer", 0, 0});
    job->queued += items.size();
    owner_.fan_outs_.add_items(std::move(items), [this, job](const Status& s, std::size_t) {
      if (!s) return job->done(failed(ActivityOutcomeKind::retryable, s.message()));
      next_chunk(job);
    });
  }

  Broadcasts& owner_;
};

// The messages step: the fan-out until every message is settled.
class Broadcasts::Messages final : public engine::Activity {
 public:
  explicit Messages(Broadcasts& owner) : owner_(owner) {}

  void run(const ActivityRequest& r, ActivityDone done) override {
    Broadcast b;
    if (!load_for_step(owner_, r, &b, done)) return;
    send(b, r.input.value("round", 0), std::move(done));
  }

  // Runs `b`'s fan-out until every message is settled, then records the
  // broadcast's status. Output: its stats.
  void send(const Broadcast& b, int round, ActivityDone done) {
    const std::string id = b.id;
    SendJob job{id, b.name, b.channel, round, owner_.ports_.messaging, owner_.ports_.email,
                owner_.ports_.gate, owner_.tuning_.receipts_url};
    engine::FanOutPolicy policy;
    policy.kind = "broadcast";
    policy.concurrency = owner_.tuning_.concurrency;
    policy.retry = owner_.tuning_.retry;
    owner_.fan_outs_.run(
        id, policy,
        [job](const FanOutItem& item, int attempt, std::function<void(engine::ItemOutcome)> d) {
          send_message(job, item, attempt, std::move(d));
        },
        [this, id, done = std::move(done)](const Status& s) {
          if (!s) return done(failed(ActivityOutcomeKind::retryable, s.message()));
          finish(id, std::move(done));
        });
  }

 private:
  void finish(const std::string& id, ActivityDone done) {
    Status error;
    Broadcast b;
    if (!owner_.load(id, &b, &error))
      return done(failed(ActivityOutcomeKind::retryable, "broadcast " + id + " unreadable"));
    std::map<std::string, std::uint64_t> counts;
    if (Status s = owner_.journal_.store().fan_outs().fan_out_counts(id, &counts); !s)
      return done(failed(ActivityOutcomeKind::retryable, s.message()));
    b.status = settled_status(counts);
    owner_.save(b, [this, id, done = std::move(done)](const Status& s) {
      if (!s) return done(failed(ActivityOutcomeKind::retryable, s.message()));
      done(ActivityOutcome::success(owner_.stats(id)));
    });
  }

  Broadcasts& owner_;
};

Broadcasts::Broadcasts(engine::Journal& journal, engine::FanOutRunner& fan_outs,
                       engine::Clock& clock, BroadcastPorts ports, BroadcastTuning tuning)
    : journal_(journal),
      fan_outs_(fan_outs),
      clock_(clock),
      ports_(ports),
      tuning_(tuning),
      audience_(std::make_unique<Audience>(*this)),
      messages_(std::make_unique<Messages>(*this)) {}

Broadcasts::~Broadcasts() { *alive_ = false; }

engine::WorkflowDefinition Broadcasts::definition() const {
  engine::WorkflowDefinition def;
  def.name = kBroadcastDefinition;
  def.start_at_input_field = "scheduled_at";
  // Both steps are idempotent and only fail for a store that cannot be
  // read or written: they retry until it can.
  engine::RetryPolicy patient{0, std::chrono::milliseconds{1'000}, 2.0,
                              std::chrono::milliseconds{30'000}};
  engine::StepDefinition audience;
  audience.name = "audience";
  audience.activity = "broadcast.audience";
  audience.retry = patient;
  audience.timeout = std::chrono::hours{1};
  engine::StepDefinition messages = audience;
  messages.name = "messages";
  messages.activity = "broadcast.messages";
  messages.timeout = std::chrono::hours{24 * 7};
  audience.schedule_to_close = messages.schedule_to_close = std::chrono::hours{24 * 30};
  def.phases.push_back({"audience", engine::PhaseMode::sequential, {audience}, std::nullopt});
  def.phases.push_back({"send", engine::PhaseMode::sequential, {messages}, std::nullopt});
  return def;
}

void Broadcasts::register_activities(engine::ActivityRegistry& registry) {
  registry.add("broadcast.audience", audience_.get());
  registry.add("broadcast.messages", messages_.get());
}

bool Broadcasts::load(const std::string& id, Broadcast* out, Status* error) {
  *error = Status::ok();
  if (auto it = unsaved_.find(id); it != unsaved_.end()) {
    *out = it->second.first;
    return true;
  }
  engine::Document d;
  bool found = false;
  *error = journal_.store().documents().get_document(kBroadcasts, id, &d, &found);
  if (!*error || !found) return false;
  if (!Broadcast::from_document(d, out)) {
    *error = Status::corruption("broadcast " + id + " has an unreadable body");
    return false;
  }
  return true;
}

void Broadcasts::save(Broadcast b, std::function<void(const Status&)> done) {
  b.updated_ms = clock_.now_ms();
  if (b.created_ms == 0) b.created_ms = b.updated_ms;
  auto& [latest, in_flight] = unsaved_[b.id];
  latest = b;
  ++in_flight;
  journal_.run_on_writer(
      [document = b.document()](engine::JournalStore& store) {
        return store.documents().put_documents({document}, nullptr);
      },
      [this, id = b.id, alive = alive_, done = std::move(done)](const Status& s) {
        if (*alive) {
          auto it = unsaved_.find(id);
          if (it != unsaved_.end() && --it->second.second == 0) unsaved_.erase(it);
        }
        done(s);
      });
}

void Broadcasts::send_now(const Broadcast& b, const json& audience_input, int round,
                          ActivityDone done) {
  Broadcast current = b;
  Broadcast saved;
  Status error;
  // A re-run: the broadcast keeps when it was created.
  if (load(b.id, &saved, &error)) current.created_ms = saved.created_ms;
  else if (!error) return done(failed(ActivityOutcomeKind::retryable, error.message()));
  audience_->draw(current, audience_input, round,
                  [this, current, round, done = std::move(done)](ActivityOutcome o) mutable {
                    if (o.kind != ActivityOutcomeKind::ok) return done(std::move(o));
                    messages_->send(current, round, std::move(done));
                  });
}

Stats Broadcasts::stats(const std::string& id) {
  engine::FanOutProgress p = fan_outs_.progress(id);
  Stats stats = {{"total", 0}, {"pending", 0}, {"sending", 0}, {"sent", 0}, {"failed", 0},
                 {"skipped", 0}};
  std::uint64_t total = 0;
  for (const auto& [status, n] : p.counts) {
    stats[status] = n;
    total += n;
  }
  const std::uint64_t pending = stats["pending"].get<std::uint64_t>();
  const std::uint64_t sending = std::min<std::uint64_t>(pending, p.in_flight);
  stats["pending"] = pending - sending;
  stats["sending"] = sending;
  stats["total"] = total;
  return stats;
}

}  // namespace orch::phases::broadcast
