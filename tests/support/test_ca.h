// The certificates of the TLS tests, made at run time with OpenSSL's API
// (sandbox::ThrowawayCa) and written under a test's directory: a trusted
// test CA and a server certificate from it, the three ways a certificate is
// refused (an unknown CA, expired, another host's), and the unknown CA
// itself so a test can trust it on purpose.
#pragma once

#include <filesystem>
#include <string>

#include "adapters/http/http_server.h"

namespace orch::testing {

struct TestCertificates {
  // Makes every certificate and writes them under `dir` (which must exist).
  explicit TestCertificates(const std::filesystem::path& dir);

  std::string ca_file;          // the test CA (what clients trust)
  http::ServerTls server;       // 127.0.0.1, ::1 and localhost, from the test CA
  http::ServerTls expired;      // the same names, from the test CA, expired a day ago
  http::ServerTls other_host;   // from the test CA, for other.example only
  http::ServerTls unknown_ca;   // 127.0.0.1 and localhost, from a CA nobody trusts
  std::string unknown_ca_file;  // that CA
};

}  // namespace orch::testing
