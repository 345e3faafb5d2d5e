#include "api/routes/list_pages.h"

#include <charconv>

namespace orch::api {

namespace {
constexpr std::string_view kPrefix = "c1.";  // a version, so the shape may change
}  // namespace

std::string make_cursor(std::int64_t position) {
  return std::string(kPrefix) + std::to_string(position);
}

void read_cursor(const http::Request& request, std::int64_t* position,
                 std::vector<phases::FieldError>* errors) {
  *position = 0;
  auto cursor = request.query_param("cursor");
  if (!cursor) return;
  std::string_view text = *cursor;
  std::int64_t value = 0;
  const bool ok = text.substr(0, kPrefix.size()) == kPrefix &&
                  std::from_chars(text.data() + kPrefix.size(), text.data() + text.size(), value)
                          .ptr == text.data() + text.size() &&
                  value > 0 && text.size() > kPrefix.size();
  if (!ok) errors->push_back({"cursor", "is not a cursor this API gave out"});
  else *position = value;
}

nlohmann::json cursor_pagination(std::size_t page_size, bool more,
                                 const std::vector<engine::Document>& page) {
  nlohmann::json p = {{"page_size", page_size}};
  if (more && !page.empty()) p["next_cursor"] = make_cursor(page.back().seq);
  return p;
}

}  // namespace orch::api
