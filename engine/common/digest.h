// SHA-256 through OpenSSL's EVP interface: API tokens are kept as their
// hashes, and a start request's input is compared with a stored workflow's
// by the hash of its canonical JSON text.
#pragma once

#include <string>
#include <string_view>

namespace orch {

// The SHA-256 digest of `data` as 64 lowercase hex digits. Throws
// std::runtime_error when OpenSSL cannot compute it (no default provider).
std::string sha256_hex(std::string_view data);

}  // namespace orch
