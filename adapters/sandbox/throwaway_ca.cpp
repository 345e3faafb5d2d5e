#include "adapters/sandbox/throwaway_ca.h"

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace orch::sandbox {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("throwaway CA: ") + what + " failed");
}

Pkey new_key() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  check(key != nullptr, "EC P-256 key generation");
  return key;
}

// A random positive 127-bit serial number (RFC 5280 allows up to 20 octets).
void set_serial(X509* cert) {
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof bytes) == 1, "RAND_bytes");
  bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  check(bn != nullptr, "BN_bin2bn");
  const bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  check(ok, "BN_to_ASN1_INTEGER");
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_nconf_nid");
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  check(ok, "X509_add_ext");
}

// A v3 certificate for `key`, named `common_name`, valid from now +
// not_before for `lifetime`; issuer fields are filled in by the caller.
Cert new_certificate(EVP_PKEY* key, const std::string& common_name, std::chrono::seconds not_before,
                     std::chrono::seconds lifetime) {
  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  set_serial(cert.get());
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(not_before.count())),
        "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                        static_cast<long>((not_before + lifetime).count())),
        "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0) == 1,
        "subject name");
  return cert;
}

std::string to_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A key is created 0600 from the start, never readable by others on the way.
std::string write_text(const std::filesystem::path& path, const std::string& text, bool secret) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, secret ? 0600 : 0644);
  if (fd < 0) return "cannot write " + path.string();
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool ok = ::close(fd) == 0 && done == text.size();
  return ok ? "" : "cannot write " + path.string();
}

}  // namespace

struct ThrowawayCa::Keys {
  Pkey key;
  Cert cert;
};

ThrowawayCa::ThrowawayCa(const std::string& common_name) : keys_(std::make_unique<Keys>()) {
  keys_->key = new_key();
  keys_->cert = new_certificate(keys_->key.get(), common_name, std::chrono::hours(-1),
                                std::chrono::hours(30 * 24));
  X509* cert = keys_->cert.get();
  check(X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1, "issuer name");
  add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert, cert, NID_subject_key_identifier, "hash");
  check(X509_sign(cert, keys_->key.get(), EVP_sha256()) > 0, "X509_sign (CA)");
  certificate_pem_ = to_pem(cert);
}

ThrowawayCa::~ThrowawayCa() = default;

IssuedCertificate ThrowawayCa::issue_server(const ServerOptions& options) const {
  Pkey key = new_key();
  Cert cert = new_certificate(key.get(), options.common_name, options.not_before, options.lifetime);
  X509* ca = keys_->cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca)) == 1, "issuer name");
  add_extension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  std::string names;
  for (const std::string& dns : options.dns_names)
    names += (names.empty() ? "DNS:" : ",DNS:") + dns;
  for (const std::string& ip : options.ip_addresses) names += (names.empty() ? "IP:" : ",IP:") + ip;
  if (!names.empty()) add_extension(cert.get(), ca, NID_subject_alt_name, names);
  check(X509_sign(cert.get(), keys_->key.get(), EVP_sha256()) > 0, "X509_sign (server)");
  return {to_pem(cert.get()), to_pem(key.get())};
}

std::string ThrowawayCa::write_certificate(const std::filesystem::path& path) const {
  return write_text(path, certificate_pem_, false);
}

std::string IssuedCertificate::write(const std::filesystem::path& dir,
                                     const std::string& stem) const {
  if (std::string e = write_text(dir / (stem + ".crt"), certificate_pem, false); !e.empty())
    return e;
  return write_text(dir / (stem + ".key"), private_key_pem, true);
}

}  // namespace orch::sandbox
