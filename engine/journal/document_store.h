// Collections of JSON documents beside the journal (customers, broadcasts):
// rows a kind keeps by id, listed newest first by a store-assigned sequence
// number, with up to two indexed attributes to filter on. The engine does
// not know what a document means; the kind that writes a collection does.
//
// Writes are durable when they return ok and run on the journal's writer
// thread (Journal::run_on_writer), each call one transaction: all of it or
// none. Reads may run on another thread (one at a time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/time/clock.h"

namespace orch::engine {

struct Document {
  std::string collection;
  std::string id;
  std::string body;     // JSON object text
  std::string index_a;  // an attribute to filter on ("" = none), e.g. a location
  std::string index_b;  // a second one, e.g. a channel
  std::int64_t seq = 0;  // set by the store: grows with every insert (not on update)
  TimeMs created_ms = 0;
  TimeMs updated_ms = 0;
};

// Which documents a page holds: of `collection`, those whose index_a /
// index_b equal the filter's when it sets them, with seq < before_seq (0 =
// from the newest), newest first, at most `limit`.
struct DocumentQuery {
  std::string collection;
  std::string index_a;  // "" = any
  std::string index_b;  // "" = any
  std::int64_t before_seq = 0;
  std::size_t limit = 20;
};

enum class DocumentWrite { inserted, updated, unchanged, deleted, absent };

class DocumentStore {
 public:
  virtual ~DocumentStore() = default;

  // Inserts or replaces each document (by collection and id) in ONE
  // transaction: a new one gets the next seq and created_ms = its
  // updated_ms; a replaced one keeps its seq and created_ms. `results`, if
  // given, gets one entry per document (inserted, updated, unchanged when
  // the body and indexes are the same). REQUIRES: the writer thread.
  virtual Status put_documents(const std::vector<Document>& documents,
                               std::vector<DocumentWrite>* results) = 0;
  // REQUIRES: the writer thread. *result: deleted or absent.
  virtual Status delete_document(const std::string& collection, const std::string& id,
                                 DocumentWrite* result) = 0;

  virtual Status get_document(const std::string& collection, const std::string& id,
                              Document* out, bool* found) = 0;
  // Which of `ids` are not in `collection`, in the order given.
  virtual Status missing_documents(const std::string& collection,
                                   const std::vector<std::string>& ids,
                                   std::vector<std::string>* missing) = 0;
  // One page (see DocumentQuery); *more is set when older ones match too.
  virtual Status list_documents(const DocumentQuery& query, std::vector<Document>* out,
                                bool* more) = 0;
  // How many documents match the query's collection and filters (its
  // before_seq and limit ignored).
  virtual Status count_documents(const DocumentQuery& query, std::uint64_t* count) = 0;
};

}  // namespace orch::engine
