// File: server/status_util.h
// The one place where absl::Status and grpc::Status are converted. The codes
// are the same numbers (google.rpc.Code) on both sides.
//
// ToGrpcStatus caps the message at kMaxStatusMessageBytes (cut at a UTF-8
// character boundary, ending in "..."), and replaces the message of INTERNAL
// errors with a generic text so that no internal detail reaches a client;
// the full INTERNAL message is written to stderr.
//
// Thread-safety: pure functions, safe to call concurrently.
#ifndef MODELSERVER_SERVER_STATUS_UTIL_H_
#define MODELSERVER_SERVER_STATUS_UTIL_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace modelserver::server {

inline constexpr size_t kMaxStatusMessageBytes = 1024;
inline constexpr char kInternalErrorMessage[] =
    "internal error (details are in the server log)";

// `message` cut to at most `max_bytes` bytes at a UTF-8 boundary, ending in
// "..." when cut. REQUIRES: max_bytes >= 3.
std::string CapMessage(absl::string_view message, size_t max_bytes);

// Same code; message capped (INTERNAL: replaced, full text logged).
grpc::Status ToGrpcStatus(const absl::Status& status);

// Same code and message (for client-side and test code).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_STATUS_UTIL_H_
