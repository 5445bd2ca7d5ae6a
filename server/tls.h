// File: server/tls.h
// TLS for every listener (--tls-cert, --tls-key, --tls-client-ca): gRPC,
// the REST endpoints and the metrics endpoint use the same certificate.
//
// `cert_file` is a PEM certificate chain (the server's certificate first),
// `key_file` its PEM private key. With `client_ca_file` (PEM, one or more
// CA certificates) the server requires a client certificate signed by one
// of them (mutual TLS): a client without one fails the TLS handshake and
// never reaches an RPC. TLS 1.2 is the oldest version accepted.
//
// Certificates are read when the server starts; rotating them means
// restarting (several replicas: one at a time).
#ifndef MODELSERVER_SERVER_TLS_H_
#define MODELSERVER_SERVER_TLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace modelserver::server {

struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // empty = no client certificates asked for
  bool enabled() const { return !cert_file.empty(); }
};

// The files' contents, checked: each readable and PEM, the key matching
// the certificate. INVALID_ARGUMENT naming the flag and the file otherwise
// (also for a key without a certificate or a CA without either).
struct TlsMaterial {
  std::string cert_chain;
  std::string private_key;
  std::string client_ca;  // empty = none
};
absl::StatusOr<TlsMaterial> LoadTls(const TlsOptions& options);

// gRPC server credentials: insecure when `material` is null.
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsMaterial* material);

// civetweb's TLS settings (server/http_server.h, the Prometheus exposer):
// the "listening_ports" suffix and the options to append. civetweb reads the
// key and certificate from one PEM file; it is an anonymous in-memory file
// (memfd) of this process, so the key is never copied to disk.
class CivetTls {
 public:
  // INTERNAL if the in-memory file cannot be made.
  static absl::StatusOr<std::unique_ptr<CivetTls>> Create(
      const TlsMaterial& material);
  ~CivetTls();
  CivetTls(const CivetTls&) = delete;
  CivetTls& operator=(const CivetTls&) = delete;

  // "host:port" -> "host:port" with civetweb's TLS suffix ("host:ports").
  static std::string Listen(const std::string& listen) { return listen + "s"; }
  // ssl_certificate, ssl_protocol_version, and with a client CA
  // ssl_ca_file + ssl_verify_peer.
  std::vector<std::string> Options() const;

 private:
  CivetTls() = default;
  int pem_fd_ = -1;  // key + certificate chain
  int ca_fd_ = -1;
};

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_TLS_H_
