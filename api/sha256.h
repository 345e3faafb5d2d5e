// SHA-256 (FIPS 180-4), for hashing API tokens at rest.
//
// Written by hand because none of the project's chosen dependencies offers
// it: OpenSSL is not among them, Boost 1.81 has only an internal SHA-1, and
// SQLite's sha3 lives in an extension Debian does not ship in libsqlite3.
// Checked against the FIPS 180-4 test vectors in tests/auth_test.cpp.
#pragma once

#include <string>
#include <string_view>

namespace orch::api {

// The digest of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace orch::api
