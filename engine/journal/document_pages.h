// Every document a query matches, page by page (newest first), for a
// caller that reads a whole collection or index (a start-up scan, a sweep):
// the paging loop written once.
#pragma once

#include <functional>
#include <vector>

#include "engine/journal/document_store.h"

namespace orch::engine {

// Calls `visit` for each document of `query` (its before_seq the start, its
// limit the page size) until there are no more or `visit` returns false.
inline Status for_each_document(DocumentStore& store, DocumentQuery query,
                                const std::function<bool(const Document&)>& visit) {
  for (bool more = true; more;) {
    std::vector<Document> page;
    if (Status s = store.list_documents(query, &page, &more); !s) return s;
    if (page.empty()) break;
    query.before_seq = page.back().seq;
    for (const Document& d : page)
      if (!visit(d)) return Status::ok();
  }
  return Status::ok();
}

}  // namespace orch::engine
