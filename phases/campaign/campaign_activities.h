// The campaign's activities: each turns the workflow's input and earlier
// outputs into a call on a service port and the port's answer into the step's
// output, per the seed's activity reference (research findings feed content;
// content pieces feed design, review and distribution; ...).
#pragma once

#include <memory>
#include <vector>

#include "engine/workflow/activity.h"
#include "phases/ports.h"

namespace orch::phases {

namespace broadcast {
class Broadcasts;
}

class CampaignActivities {
 public:
  // REQUIRES: every pointer in `services` is non-null and outlives this;
  // so do `recipients` and `broadcasts` when given (without the first, a
  // campaign with target_user_ids fails at its first messaging step;
  // without the second, a campaign with an audience fails at its sms or
  // whatsapp step).
  explicit CampaignActivities(CampaignServices services, RecipientGate* recipients = nullptr,
                              broadcast::Broadcasts* broadcasts = nullptr);
  ~CampaignActivities();

  // Registers every forward activity and compensation named by
  // campaign_definition().
  void register_all(engine::ActivityRegistry& registry);

 private:
  CampaignServices services_;
  RecipientGate* recipients_;
  broadcast::Broadcasts* broadcasts_;
  std::vector<std::unique_ptr<engine::Activity>> owned_;
};

}  // namespace orch::phases
