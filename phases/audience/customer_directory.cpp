#include "phases/audience/customer_directory.h"

#include "engine/time/time_format.h"

namespace orch::phases::audience {

using nlohmann::json;

engine::Document customer_document(const json& customer, engine::TimeMs now) {
  engine::Document d;
  d.collection = kCustomers;
  d.id = customer.value("id", "");
  d.body = customer.dump();
  d.index_a = customer.value("location", "");
  d.created_ms = now;
  d.updated_ms = now;
  return d;
}

json customer_fields(const engine::Document& document) {
  json fields = json::parse(document.body, nullptr, false);
  return fields.is_object() ? fields : json::object();
}

json customer_view(const engine::Document& document) {
  json view = customer_fields(document);
  view["created_at"] = engine::format_time(document.created_ms);
  view["updated_at"] = engine::format_time(document.updated_ms);
  return view;
}

}  // namespace orch::phases::audience
