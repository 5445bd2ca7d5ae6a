// File: server/tls.cc
#include "server/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

// server/openssl_shim: referenced so that the linker keeps both libraries
// (civetweb's HTTPS needs them loaded, see libssl_shim.c).
extern "C" int modelserver_libssl_shim(void);
extern "C" int modelserver_libcrypto_shim(void);

namespace modelserver::server {
namespace {

absl::StatusOr<std::string> ReadFile(const char* flag,
                                     const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", path, "' cannot be read"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int)
  ERR_clear_error();
  if (code == 0) return "not PEM";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}

absl::StatusOr<int> MemFile(const char* name, const std::string& bytes) {
  const int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return absl::InternalError("memfd_create failed");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      return absl::InternalError("cannot write the in-memory TLS file");
    }
    done += static_cast<size_t>(n);
  }
  return fd;
}

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

}  // namespace

absl::StatusOr<TlsMaterial> LoadTls(const TlsOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!options.client_ca_file.empty() && options.cert_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key");
  }
  TlsMaterial m;
  auto assign = [](std::string* out, absl::StatusOr<std::string> read) {
    if (!read.ok()) return read.status();
    *out = *std::move(read);
    return absl::OkStatus();
  };
  if (absl::Status s =
          assign(&m.cert_chain, ReadFile("--tls-cert", options.cert_file));
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          assign(&m.private_key, ReadFile("--tls-key", options.key_file));
      !s.ok()) {
    return s;
  }
  if (!options.client_ca_file.empty()) {
    if (absl::Status s = assign(&m.client_ca, ReadFile("--tls-client-ca",
                                                       options.client_ca_file));
        !s.ok()) {
      return s;
    }
  }
  // Parse them, and check that the key belongs to the certificate.
  BIO* cert_bio = BIO_new_mem_buf(m.cert_chain.data(),
                                  static_cast<int>(m.cert_chain.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-cert '", options.cert_file,
                     "' holds no PEM certificate: ", OpenSslError()));
  }
  BIO* key_bio = BIO_new_mem_buf(m.private_key.data(),
                                 static_cast<int>(m.private_key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  if (key == nullptr) {
    X509_free(cert);
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key '", options.key_file,
                     "' holds no PEM private key: ", OpenSslError()));
  }
  const bool matches = X509_check_private_key(cert, key) == 1;
  ERR_clear_error();
  EVP_PKEY_free(key);
  X509_free(cert);
  if (!matches) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key '", options.key_file, "' is not the key of ",
                     "the certificate in --tls-cert '", options.cert_file, "'"));
  }
  if (!m.client_ca.empty()) {
    BIO* ca_bio = BIO_new_mem_buf(m.client_ca.data(),
                                  static_cast<int>(m.client_ca.size()));
    X509* ca = PEM_read_bio_X509(ca_bio, nullptr, nullptr, nullptr);
    BIO_free(ca_bio);
    if (ca == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls-client-ca '", options.client_ca_file,
                       "' holds no PEM certificate: ", OpenSslError()));
    }
    X509_free(ca);
  }
  return m;
}

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsMaterial* material) {
  if (material == nullptr) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      material->client_ca.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = material->client_ca;
  options.pem_key_cert_pairs.push_back(
      {material->private_key, material->cert_chain});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::unique_ptr<CivetTls>> CivetTls::Create(
    const TlsMaterial& material) {
  if (modelserver_libssl_shim() + modelserver_libcrypto_shim() != 2) {
    return absl::InternalError("the OpenSSL shims are not loaded");
  }
  auto tls = std::unique_ptr<CivetTls>(new CivetTls());
  absl::StatusOr<int> pem = MemFile(
      "modelserver-tls", material.private_key + "\n" + material.cert_chain);
  if (!pem.ok()) return pem.status();
  tls->pem_fd_ = *pem;
  if (!material.client_ca.empty()) {
    absl::StatusOr<int> ca = MemFile("modelserver-client-ca", material.client_ca);
    if (!ca.ok()) return ca.status();
    tls->ca_fd_ = *ca;
  }
  return tls;
}

CivetTls::~CivetTls() {
  if (pem_fd_ >= 0) ::close(pem_fd_);
  if (ca_fd_ >= 0) ::close(ca_fd_);
}

std::vector<std::string> CivetTls::Options() const {
  std::vector<std::string> options = {
      "ssl_certificate", FdPath(pem_fd_),
      // The chain file: the leaf certificate and any intermediates.
      "ssl_certificate_chain", FdPath(pem_fd_),
      "ssl_protocol_version", "4"};  // TLS 1.2 and newer
  if (ca_fd_ >= 0) {
    options.insert(options.end(), {"ssl_ca_file", FdPath(ca_fd_),
                                   "ssl_verify_peer", "yes",
                                   "ssl_default_verify_paths", "no"});
  }
  return options;
}

}  // namespace modelserver::server
