#include "server/status_util.h"

#include <iostream>
#include <string>

#include "absl/status/status.h"

namespace modelserver::server {
namespace {

// The numeric values are the same on both sides (google.rpc.Code); the
// conversions below rely on it.
#define MODELSERVER_SAME_CODE(absl_code, grpc_code)              \
  static_assert(static_cast<int>(absl::StatusCode::absl_code) == \
                static_cast<int>(grpc::StatusCode::grpc_code))
MODELSERVER_SAME_CODE(kOk, OK);
MODELSERVER_SAME_CODE(kCancelled, CANCELLED);
MODELSERVER_SAME_CODE(kUnknown, UNKNOWN);
MODELSERVER_SAME_CODE(kInvalidArgument, INVALID_ARGUMENT);
MODELSERVER_SAME_CODE(kDeadlineExceeded, DEADLINE_EXCEEDED);
MODELSERVER_SAME_CODE(kNotFound, NOT_FOUND);
MODELSERVER_SAME_CODE(kAlreadyExists, ALREADY_EXISTS);
MODELSERVER_SAME_CODE(kPermissionDenied, PERMISSION_DENIED);
MODELSERVER_SAME_CODE(kResourceExhausted, RESOURCE_EXHAUSTED);
MODELSERVER_SAME_CODE(kFailedPrecondition, FAILED_PRECONDITION);
MODELSERVER_SAME_CODE(kAborted, ABORTED);
MODELSERVER_SAME_CODE(kOutOfRange, OUT_OF_RANGE);
MODELSERVER_SAME_CODE(kUnimplemented, UNIMPLEMENTED);
MODELSERVER_SAME_CODE(kInternal, INTERNAL);
MODELSERVER_SAME_CODE(kUnavailable, UNAVAILABLE);
MODELSERVER_SAME_CODE(kDataLoss, DATA_LOSS);
MODELSERVER_SAME_CODE(kUnauthenticated, UNAUTHENTICATED);
#undef MODELSERVER_SAME_CODE

}  // namespace

std::string CapMessage(absl::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  size_t cut = max_bytes - 3;
  // Do not split a multi-byte UTF-8 character: back up over continuation
  // bytes (10xxxxxx) to the start of the character at `cut`.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return std::string(message.substr(0, cut)) + "...";
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  if (status.code() == absl::StatusCode::kInternal) {
    std::cerr << "modelserver: internal error: " << status.message()
              << std::endl;
    return grpc::Status(code, kInternalErrorMessage);
  }
  return grpc::Status(code,
                      CapMessage(status.message(), kMaxStatusMessageBytes));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace modelserver::server
