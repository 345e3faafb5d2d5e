// Customers uploaded as CSV (RFC 4180): a header row naming the columns,
// then one customer a row.
//
// Header names (case and surrounding spaces ignored) id, phone, first_name,
// last_name, location, preferred_product, email and timezone are those
// fields; any other name x is the attribute x (a string). An empty cell
// leaves the field out. Fields may be quoted ("a, b"), with "" for a quote
// and line breaks inside; lines end in LF or CRLF; a UTF-8 byte order mark
// and empty lines are skipped.
//
// One bad row does not spoil the upload: it is reported with its line and
// the others kept. Only a bad header, or too many rows, refuses the file.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace orch::phases::audience {

// Data rows one upload may hold.
inline constexpr std::size_t kMaxCsvRows = 10'000;

struct CsvRow {
  std::size_t line;         // 1-based line of the text where the row starts
  nlohmann::json customer;  // as read, even when `error` is set (then its
                            // text may not be UTF-8: dump it with
                            // nlohmann::json::error_handler_t::replace)
  std::string error;        // empty when the row is a valid customer
};

// The data rows of `text`, each checked as a new customer
// (check_customer in create mode). On a file-level problem (no header, a
// duplicate or empty column name, no id or phone column, more than
// kMaxCsvRows rows) returns nothing and says why in *file_error, which is
// cleared otherwise.
std::vector<CsvRow> parse_customer_csv(std::string_view text, std::string* file_error);

}  // namespace orch::phases::audience
