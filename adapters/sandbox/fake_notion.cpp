// Notion: POST /v1/search, a page list derived from the query.
#include <algorithm>
#include <string>

#include "adapters/sandbox/fake_services.h"
#include "engine/json/json_writer.h"

namespace orch::sandbox {

using http::Response;

Response notion_search(Sandbox::State&, Call& c) {
  std::string query = str_of(c.body, "query");
  int page_size = 3;
  if (auto* ps = obj_of(c.body, "page_size"); ps && ps->is_number_integer())
    page_size = std::clamp(ps->get<int>(), 1, 100);
  static constexpr const char* kTopics[] = {"market research", "audience insights",
                                            "competitor analysis"};
  // Written in place, keys in order (engine/json/json_writer.h): what dump_json
  // of Notion's page list would give, without building it first.
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("has_more").boolean(false).key("next_cursor").null().key("object").string("list");
  w.key("page_or_database").begin_object().end_object();
  w.key("results").begin_array();
  int n = std::min(page_size, 3);
  uint64_t qh = fnv1a(query);
  for (int i = 0; i < n; ++i) {
    std::string title = query.empty() ? std::string("Research notes: ") + kTopics[i]
                                      : query + " - " + kTopics[i];
    std::string id = uuid_of(qh, static_cast<uint64_t>(i));
    std::string compact;
    for (char ch : id)
      if (ch != '-') compact.push_back(ch);
    std::string url = "https://www.notion.so/" + slugify(title) + "-" + compact;
    w.begin_object();
    w.key("archived").boolean(false);
    w.key("created_time").string("2024-01-15T09:00:00.000Z");
    w.key("id").string(id);
    w.key("last_edited_time").string("2024-03-01T12:30:00.000Z");
    w.key("object").string("page");
    w.key("properties").begin_object().key("title").begin_object();
    w.key("id").string("title");
    w.key("title").begin_array().begin_object();  // rich text
    w.key("href").null().key("plain_text").string(title);
    w.key("text").begin_object().key("content").string(title).key("link").null().end_object();
    w.key("type").string("text");
    w.end_object().end_array();
    w.key("type").string("title");
    w.end_object().end_object();
    w.key("url").string(url);
    w.end_object();
  }
  w.end_array();
  w.key("type").string("page_or_database");
  w.end_object();
  return Response::json(200, std::move(body));
}

}  // namespace orch::sandbox
