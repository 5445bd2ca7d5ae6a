// File: server/auth.h
// Bearer tokens and their roles (--auth-token-file).
//
// The token file has one token per line, "<role> <token>", blank lines and
// lines starting with '#' ignored. Roles:
//   admin    everything: train, upload, cancel, delete, label, and all below
//   predict  Predict, Evaluate, ModelInfer, and read-only metadata (models,
//            jobs, OIP metadata and readiness)
//   metrics  the Prometheus endpoint only (when it asks for a token)
// A token is 16 to 512 printable ASCII characters without spaces; a token
// may appear once. Load errors are INVALID_ARGUMENT naming the file and
// line (the token itself is never echoed).
//
// Clients send "authorization: Bearer <token>" (gRPC metadata, HTTP header).
// Check() compares SHA-256 digests of the presented token with every stored
// digest in constant time (no early exit, CRYPTO_memcmp), so neither the
// position of a mismatch nor which token matched shows in the timing.
// Missing or unknown token: UNAUTHENTICATED; a role without the access:
// PERMISSION_DENIED naming the role and what is needed.
//
// Thread-safety: const methods may be called concurrently.
#ifndef MODELSERVER_SERVER_AUTH_H_
#define MODELSERVER_SERVER_AUTH_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "server/metrics.h"

namespace modelserver::server {

// What a call needs.
enum class Access {
  kOpen,     // anyone (health, liveness, readiness)
  kRead,     // predict or admin
  kWrite,    // admin
  kMetrics,  // metrics or admin
};

// The access each RPC needs (ServerLive and ServerReady are kOpen).
Access AccessOf(Rpc rpc);

enum class Role { kAdmin, kPredict, kMetrics };
const char* RoleName(Role role);

class Authenticator {
 public:
  // Reads and parses the token file at `path`.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Load(
      const std::string& path);
  // Parses token-file text; `source` names it in errors.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Parse(
      absl::string_view text, absl::string_view source);

  // `authorization`: the value of the authorization header/metadata ("" =
  // absent); `what` names the call in errors ("Train", "POST /v2/...").
  absl::Status Check(absl::string_view authorization, Access access,
                     absl::string_view what) const;
  // The same for a bare token (HTTP basic auth's password).
  absl::Status CheckToken(absl::string_view token, Access access,
                          absl::string_view what) const;

  size_t size() const { return tokens_.size(); }

 private:
  struct Entry {
    std::array<uint8_t, 32> digest;
    Role role;
  };
  Authenticator() = default;
  std::vector<Entry> tokens_;
};

// OK when `auth` is null (no token file) or the call's metadata carries a
// token whose role has AccessOf(rpc); the error of Check() otherwise.
absl::Status Authorize(const Authenticator* auth,
                       const grpc::ServerContextBase& context, Rpc rpc);

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_AUTH_H_
