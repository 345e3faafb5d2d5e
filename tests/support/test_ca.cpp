#include "tests/support/test_ca.h"

#include <stdexcept>

#include "adapters/sandbox/throwaway_ca.h"

namespace orch::testing {

namespace {

http::ServerTls write(const sandbox::IssuedCertificate& issued, const std::filesystem::path& dir,
                      const std::string& stem) {
  if (std::string e = issued.write(dir, stem); !e.empty()) throw std::runtime_error(e);
  return {(dir / (stem + ".crt")).string(), (dir / (stem + ".key")).string()};
}

}  // namespace

TestCertificates::TestCertificates(const std::filesystem::path& dir) {
  const sandbox::ThrowawayCa ca("Campaign Orchestrator test CA");
  const sandbox::ThrowawayCa stranger("A CA nobody trusts");
  ca_file = (dir / "test-ca.crt").string();
  unknown_ca_file = (dir / "unknown-ca.crt").string();
  if (std::string e = ca.write_certificate(ca_file); !e.empty()) throw std::runtime_error(e);
  if (std::string e = stranger.write_certificate(unknown_ca_file); !e.empty())
    throw std::runtime_error(e);

  server = write(ca.issue_server(), dir, "server");
  sandbox::ThrowawayCa::ServerOptions old;
  old.not_before = std::chrono::hours(-48);
  old.lifetime = std::chrono::hours(24);
  expired = write(ca.issue_server(old), dir, "expired");
  sandbox::ThrowawayCa::ServerOptions elsewhere;
  elsewhere.common_name = "other.example";
  elsewhere.dns_names = {"other.example"};
  elsewhere.ip_addresses = {};
  other_host = write(ca.issue_server(elsewhere), dir, "other-host");
  unknown_ca = write(stranger.issue_server(), dir, "unknown-ca-server");
}

}  // namespace orch::testing
