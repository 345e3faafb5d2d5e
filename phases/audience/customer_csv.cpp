// The reader is our own: Debian's CSV libraries do not fit an upload whose
// bad rows are reported and skipped. libcsv-dev (C, callbacks) stops at the
// first malformed byte in strict mode; libfccp-dev (fast-cpp-csv-parser)
// fixes the columns at compile time and throws on the first bad line. The
// RFC 4180 grammar is small enough to own.
#include "phases/audience/customer_csv.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>

#include "phases/audience/customer_record.h"

namespace orch::phases::audience {

using nlohmann::json;

namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
constexpr std::size_t kMaxAttributeColumns = 50;
constexpr std::array<std::string_view, 8> kFieldColumns = {
    "id", "phone", "first_name", "last_name", "location", "preferred_product", "email", "timezone"};

// One record of the text: its cells, or why it could not be read.
struct Record {
  std::size_t line = 0;
  std::vector<std::string> cells;
  std::string error;
};

// Reads records one at a time. A malformed record is returned with its error
// and reading goes on from the next line, so one bad row spoils only itself.
class RecordReader {
 public:
  explicit RecordReader(std::string_view text) : text_(text) {
    if (text_.substr(0, kByteOrderMark.size()) == kByteOrderMark) pos_ = kByteOrderMark.size();
  }

  // False at the end of the text. Empty lines are skipped.
  bool next(Record* record) {
    skip_empty_lines();
    if (at_end()) return false;
    *record = Record{line_, {}, {}};
    const std::size_t start = pos_;
    while (read_cell(record)) {
    }
    if (!record->error.empty()) recover(start, record->line);
    return true;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }

  // The length of the line break at pos_: 1 for LF, 2 for CRLF, 0 if none.
  // A CR alone at the very end counts too (a file cut after its CR).
  std::size_t line_break() const {
    if (at_end()) return 0;
    if (text_[pos_] == '\n') return 1;
    if (text_[pos_] == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n'))
      return pos_ + 1 == text_.size() ? 1 : 2;
    return 0;
  }

  void skip_empty_lines() {
    for (std::size_t n; (n = line_break()) > 0; pos_ += n) ++line_;
  }

  // Reads one cell into record->cells; true if another cell follows.
  bool read_cell(Record* record) {
    std::string cell;
    const bool ok = !at_end() && text_[pos_] == '"' ? read_quoted(&cell, &record->error)
                                                    : read_plain(&cell, &record->error);
    if (!ok) return false;
    record->cells.push_back(std::move(cell));
    if (!at_end() && text_[pos_] == ',') {
      ++pos_;
      return true;
    }
    if (std::size_t n = line_break()) {
      pos_ += n;
      ++line_;
    }
    return false;
  }

  bool read_plain(std::string* cell, std::string* error) {
    const std::size_t begin = pos_;
    while (!at_end() && text_[pos_] != ',' && line_break() == 0) {
      if (text_[pos_] == '"') {
        *error = "a quote inside an unquoted field (quote the whole field and double the quote)";
        return false;
      }
      ++pos_;
    }
    cell->assign(text_.substr(begin, pos_ - begin));
    return true;
  }

  bool read_quoted(std::string* cell, std::string* error) {
    for (++pos_; !at_end(); ++pos_) {
      const char c = text_[pos_];
      if (c == '"' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
        cell->push_back('"');
        ++pos_;
      } else if (c == '"') {
        ++pos_;
        if (at_end() || text_[pos_] == ',' || line_break() > 0) return true;
        *error = "text after the closing quote of a field";
        return false;
      } else {
        if (c == '\n') ++line_;
        cell->push_back(c);
      }
    }
    *error = "a quoted field is not closed";
    return false;
  }

  // After a malformed record: an unclosed quote swallowed the rest of the
  // text, so reading resumes on the line after the record's first; any other
  // error resumes after the line where it was found.
  void recover(std::size_t start, std::size_t start_line) {
    if (at_end()) {
      pos_ = start;
      line_ = start_line;
    }
    while (!at_end() && line_break() == 0) ++pos_;
    if (std::size_t n = line_break()) {
      pos_ += n;
      ++line_;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// What a column holds: a customer field, or an attribute (`attribute` true).
struct Column {
  std::string name;
  bool attribute = false;
};

std::string trimmed(const std::string& text) {
  const std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::optional<Column> column_of(const std::string& header_cell, std::size_t index,
                                std::string* error) {
  const std::string where = "column " + std::to_string(index + 1);
  const std::string name = trimmed(header_cell);
  if (name.empty()) {
    *error = where + " has no name";
    return std::nullopt;
  }
  const std::string field = lowercase(name);
  if (std::find(kFieldColumns.begin(), kFieldColumns.end(), field) != kFieldColumns.end())
    return Column{field, false};
  if (!valid_attribute_key(name)) {
    *error = where + ": an attribute name must be 1 to 64 bytes of UTF-8";
    return std::nullopt;
  }
  return Column{name, true};
}

// The columns the header names, or none with *error saying why.
std::vector<Column> columns_of(const Record& header, std::string* error) {
  if (!header.error.empty()) {
    *error = "header: " + header.error;
    return {};
  }
  std::vector<Column> columns;
  std::set<std::string> seen;
  std::size_t attributes = 0;
  for (std::size_t i = 0; i < header.cells.size(); ++i) {
    std::optional<Column> column = column_of(header.cells[i], i, error);
    if (!column) return {};
    if (!seen.insert(column->name).second) {
      *error = "column " + std::to_string(i + 1) + ": " + column->name + " appears twice";
      return {};
    }
    attributes += column->attribute ? 1 : 0;
    columns.push_back(std::move(*column));
  }
  if (attributes > kMaxAttributeColumns)
    *error = "at most 50 attribute columns";
  else if (!seen.count("id"))
    *error = "the header has no id column";
  else if (!seen.count("phone"))
    *error = "the header has no phone column";
  if (!error->empty()) return {};
  return columns;
}

json customer_of(const std::vector<Column>& columns, const std::vector<std::string>& cells) {
  json customer = json::object();
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (cells[i].empty()) continue;
    if (columns[i].attribute)
      customer["attributes"][columns[i].name] = cells[i];
    else
      customer[columns[i].name] = cells[i];
  }
  return customer;
}

std::string describe(const std::vector<FieldError>& errors) {
  std::string text;
  for (const FieldError& e : errors) {
    if (!text.empty()) text += "; ";
    text += e.field + " " + e.message;
  }
  return text;
}

CsvRow row_of(const std::vector<Column>& columns, const Record& record) {
  CsvRow row{record.line, json::object(), record.error};
  if (!row.error.empty()) return row;
  if (record.cells.size() != columns.size()) {
    row.error = "has " + std::to_string(record.cells.size()) + " cells, the header " +
                std::to_string(columns.size());
    return row;
  }
  row.customer = customer_of(columns, record.cells);
  row.error = describe(check_customer(row.customer, CustomerCheck::create));
  return row;
}

}  // namespace

std::vector<CsvRow> parse_customer_csv(std::string_view text, std::string* file_error) {
  file_error->clear();
  RecordReader reader(text);
  Record record;
  if (!reader.next(&record)) {
    *file_error = "no header row";
    return {};
  }
  const std::vector<Column> columns = columns_of(record, file_error);
  if (columns.empty()) return {};
  std::vector<CsvRow> rows;
  while (reader.next(&record)) {
    if (rows.size() == kMaxCsvRows) {
      *file_error = "more than 10000 rows";
      return {};
    }
    rows.push_back(row_of(columns, record));
  }
  return rows;
}

}  // namespace orch::phases::audience
