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

class CampaignActivities {
 public:
  // REQUIRES: every pointer in `services` is non-null and outlives this.
  explicit CampaignActivities(CampaignServices services);
  ~CampaignActivities();

  // Registers every forward activity and compensation named by
  // campaign_definition().
  void register_all(engine::ActivityRegistry& registry);

 private:
  CampaignServices services_;
  std::vector<std::unique_ptr<engine::Activity>> owned_;
};

}  // namespace orch::phases
