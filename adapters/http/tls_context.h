// OpenSSL for the HTTP client and server, through Asio's ssl::context:
// contexts with TLS 1.2 as the floor, the client's per-connection set-up
// (SNI, host name or IP address checked against the certificate, a session
// to resume) and the classification of a failed handshake. Internal to
// the client (adapters/http/http_client*.cpp) and the server (http_server.cpp).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "adapters/http/http_url.h"

typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;

namespace orch::http::detail {

// A context for https:// calls: certificates verified against `ca_file`
// (PEM) when it is not empty, else against OpenSSL's default verify paths
// (the system store; SSL_CERT_FILE and SSL_CERT_DIR override it, as for
// curl); none at all when `verify` is false. Sessions the servers hand out
// go to the TlsSessionSlot of their connection (see prepare_client).
// Null with `*error` set when `ca_file` cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_client_context(const std::string& ca_file,
                                                               bool verify, std::string* error);

// A context for a server: the certificate chain and private key (PEM
// files). Null with `*error` set when they cannot be loaded or do not match.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const std::string& cert_chain_file,
                                                               const std::string& key_file,
                                                               std::string* error);

// The TLS session of one origin: the last one a server gave, offered when
// the next connection to it is opened (TLS 1.2 session ids and TLS 1.3
// tickets alike), so a pool that grows or replaces connections skips the
// full handshake. REQUIRES: used on the client's io thread.
class TlsSessionSlot {
 public:
  TlsSessionSlot() = default;
  ~TlsSessionSlot();
  TlsSessionSlot(const TlsSessionSlot&) = delete;
  TlsSessionSlot& operator=(const TlsSessionSlot&) = delete;

  // Takes the reference the caller holds on `session`.
  void store(SSL_SESSION* session);
  void clear() { store(nullptr); }
  SSL_SESSION* get() const { return session_; }

 private:
  SSL_SESSION* session_ = nullptr;
};

// Prepares a client connection before its handshake: SNI (host names only,
// RFC 6066), the name or address the certificate must carry (when
// verifying), the session to resume, and where a new session goes.
// REQUIRES: `slot` outlives `ssl`. Returns false when OpenSSL refuses a
// setting (then the call fails as a TLS error).
bool prepare_client(SSL* ssl, const BaseUrl& url, bool verify, TlsSessionSlot& slot);

// What a failed client handshake means, as a classified message:
//   "certificate_verify_failed: <OpenSSL's reason>"
//   "hostname_mismatch: the certificate does not name <host>"
//   "tls_handshake: <OpenSSL's reason>"
// or "" when the failure is not TLS's own (the connection closed or broke,
// a timeout): the caller reports those as connection errors.
std::string classify_handshake_failure(const boost::system::error_code& ec, SSL* ssl,
                                       const BaseUrl& url);

}  // namespace orch::http::detail
