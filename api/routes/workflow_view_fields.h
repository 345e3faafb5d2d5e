// Fields a workflow kind adds to the engine's views of its workflows: for a
// campaign with target_user_ids, its per-user delivery (users_targeted,
// users_sent, users_skipped, users_failed, recipients; see
// phases/campaign/recipient_report.h) on GET /v1/workflows/{id} and
// /progress. The routes add them from the workflow's full view (its input
// and its completed steps' outputs), so the engine knows nothing of them.
#pragma once

#include "engine/workflow/workflow_engine.h"

namespace orch::api {

// Adds the kind's fields to `view`'s body (when found), computed from
// `full`, a describe() answer of the same workflow (`view` may be `full`).
void add_kind_fields(const engine::QueryResult& full, engine::QueryResult* view);

}  // namespace orch::api
