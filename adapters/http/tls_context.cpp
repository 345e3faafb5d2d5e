#include "adapters/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/error.hpp>

namespace orch::http::detail {

namespace ssl = boost::asio::ssl;

namespace {

// Where prepare_client() leaves a connection's TlsSessionSlot for the
// new-session callback.
int session_slot_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL hands every session a server gives (after a TLS 1.2 handshake;
// in TLS 1.3, with each ticket, which arrives after the handshake) to this
// callback; returning 1 keeps the reference it gives.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<TlsSessionSlot*>(SSL_get_ex_data(ssl, session_slot_index()));
  if (!slot) return 0;
  slot->store(session);
  return 1;
}

std::string reason_of(unsigned long packed) {
  const char* reason = ERR_reason_error_string(packed);
  return reason ? reason : "error " + std::to_string(packed);
}

}  // namespace

TlsSessionSlot::~TlsSessionSlot() { store(nullptr); }

void TlsSessionSlot::store(SSL_SESSION* session) {
  if (session_) SSL_SESSION_free(session_);
  session_ = session;
}

std::shared_ptr<ssl::context> make_client_context(const std::string& ca_file, bool verify,
                                                  std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  boost::system::error_code ec;
  if (verify) {
    if (!ca_file.empty()) {
      ctx->load_verify_file(ca_file, ec);
      if (ec) {
        *error = "ca_file '" + ca_file + "' cannot be loaded: " + ec.message();
        return nullptr;
      }
    } else {
      ctx->set_default_verify_paths(ec);  // honours SSL_CERT_FILE and SSL_CERT_DIR
      if (ec) {
        *error = "the system's CA store cannot be loaded: " + ec.message();
        return nullptr;
      }
    }
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  // Sessions live in each origin's TlsSessionSlot, not in OpenSSL's cache.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(native, on_new_session);
  return ctx;
}

std::shared_ptr<ssl::context> make_server_context(const std::string& cert_chain_file,
                                                  const std::string& key_file, std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Client-initiated renegotiation costs the server a handshake per request.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_chain_file, ec);
  if (ec) {
    *error = "TLS certificate '" + cert_chain_file + "' cannot be loaded: " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    *error = "TLS key '" + key_file + "' cannot be loaded: " + ec.message();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    *error =
        "TLS key '" + key_file + "' does not belong to the certificate '" + cert_chain_file + "'";
    return nullptr;
  }
  // Resumption across connections: OpenSSL's server-side session cache and
  // stateless tickets, both on by default.
  return ctx;
}

bool prepare_client(SSL* ssl, const BaseUrl& url, bool verify, TlsSessionSlot& slot) {
  if (!url.ip_literal && SSL_set_tlsext_host_name(ssl, url.host.c_str()) != 1) return false;
  if (verify) {
    if (url.ip_literal) {
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str()) != 1) return false;
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (SSL_set1_host(ssl, url.host.c_str()) != 1) return false;
    }
  }
  if (SSL_SESSION* session = slot.get()) SSL_set_session(ssl, session);
  return SSL_set_ex_data(ssl, session_slot_index(), &slot) == 1;
}

std::string classify_handshake_failure(const boost::system::error_code& ec, SSL* ssl,
                                       const BaseUrl& url) {
  // With verification off, OpenSSL still records what it found; it only
  // means something when verifying (SSL_VERIFY_PEER).
  const bool verifying = (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0;
  const long verdict = SSL_get_verify_result(ssl);
  if (verifying && verdict != X509_V_OK) {
    if (verdict == X509_V_ERR_HOSTNAME_MISMATCH || verdict == X509_V_ERR_IP_ADDRESS_MISMATCH)
      return "hostname_mismatch: the certificate does not name " + url.host;
    return std::string("certificate_verify_failed: ") + X509_verify_cert_error_string(verdict);
  }
  if (ec.category() == boost::asio::error::get_ssl_category())
    return "tls_handshake: " + reason_of(static_cast<unsigned long>(ec.value()));
  return {};
}

}  // namespace orch::http::detail
