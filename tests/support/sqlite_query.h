// Reading a SQLite database's rows directly in tests: what an outside reader
// of the file (or a test's own connection) sees.
#pragma once

#include <string>
#include <vector>

struct sqlite3;

namespace orch::testing {

// The first column of every row `sql` returns, as text, on `db`. A statement
// that does not prepare fails the test and returns no rows.
std::vector<std::string> query_column(sqlite3* db, const std::string& sql);

// The same through a read-only connection of its own to the file at `path`.
std::vector<std::string> query_column(const std::string& path, const std::string& sql);

}  // namespace orch::testing
