// The cursor every list that takes one shares: an opaque string (the
// position of the last row returned), `next_cursor` absent on the last page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_message.h"
#include "engine/journal/document_store.h"
#include "phases/campaign/campaign_input.h"

namespace orch::api {

inline constexpr std::size_t kDefaultListPage = 20;
inline constexpr std::size_t kMaxListPage = 100;

// Reads ?cursor= into *position (0 when absent); an error when it is not one
// this API gave out.
void read_cursor(const http::Request& request, std::int64_t* position,
                 std::vector<phases::FieldError>* errors);
std::string make_cursor(std::int64_t position);
// {"page_size", "next_cursor"?} of a page of documents, newest first.
nlohmann::json cursor_pagination(std::size_t page_size, bool more,
                                 const std::vector<engine::Document>& page);

}  // namespace orch::api
