// A certificate authority made at run time, for HTTPS on loopback without
// touching any real trust store: the benchmark's sandbox over TLS
// (`orchestrator bench --tls`) and the tests of the TLS paths. Keys are EC
// P-256, certificates X.509 v3 signed with SHA-256, built with OpenSSL's
// EVP_PKEY / X509 API (no openssl command). Nothing here is secret beyond the
// process: the keys exist only in memory and in the files a caller writes.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace orch::sandbox {

// A certificate with its private key, both PEM.
struct IssuedCertificate {
  std::string certificate_pem;
  std::string private_key_pem;

  // Writes `<dir>/<stem>.crt` (the certificate) and `<dir>/<stem>.key`
  // (the key, mode 0600). Returns "" or what went wrong.
  std::string write(const std::filesystem::path& dir, const std::string& stem) const;
};

class ThrowawayCa {
 public:
  // A new CA with its own key pair, its certificate valid from an hour ago
  // for 30 days. Throws std::runtime_error when OpenSSL fails.
  explicit ThrowawayCa(const std::string& common_name = "Campaign Orchestrator throwaway CA");
  ~ThrowawayCa();
  ThrowawayCa(const ThrowawayCa&) = delete;
  ThrowawayCa& operator=(const ThrowawayCa&) = delete;

  // What a server certificate is for and when it is valid.
  struct ServerOptions {
    std::string common_name = "localhost";
    std::vector<std::string> dns_names = {"localhost"};
    std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
    // Valid from now + not_before for `lifetime`. A negative not_before with
    // a shorter lifetime makes an expired certificate.
    std::chrono::seconds not_before{-3600};
    std::chrono::seconds lifetime{30 * 24 * 3600};
  };

  // A server certificate (serverAuth) signed by this CA.
  IssuedCertificate issue_server(const ServerOptions& options) const;
  IssuedCertificate issue_server() const { return issue_server(ServerOptions{}); }

  // The CA's own certificate, PEM: what a client trusts (ca_file).
  const std::string& certificate_pem() const { return certificate_pem_; }
  // Writes it to `path`. Returns "" or what went wrong.
  std::string write_certificate(const std::filesystem::path& path) const;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
  std::string certificate_pem_;
};

}  // namespace orch::sandbox
