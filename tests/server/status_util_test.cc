#include "server/status_util.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver::server {
namespace {

using ::testing::HasSubstr;

TEST(StatusUtilTest, OkMapsToOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(StatusUtilTest, EveryCodeKeepsItsNumberAndMessage) {
  const absl::StatusCode codes[] = {absl::StatusCode::kCancelled,
                                    absl::StatusCode::kUnknown,
                                    absl::StatusCode::kInvalidArgument,
                                    absl::StatusCode::kDeadlineExceeded,
                                    absl::StatusCode::kNotFound,
                                    absl::StatusCode::kAlreadyExists,
                                    absl::StatusCode::kPermissionDenied,
                                    absl::StatusCode::kResourceExhausted,
                                    absl::StatusCode::kFailedPrecondition,
                                    absl::StatusCode::kAborted,
                                    absl::StatusCode::kOutOfRange,
                                    absl::StatusCode::kUnimplemented,
                                    absl::StatusCode::kUnavailable,
                                    absl::StatusCode::kDataLoss,
                                    absl::StatusCode::kUnauthenticated};
  for (absl::StatusCode code : codes) {
    const grpc::Status g = ToGrpcStatus(absl::Status(code, "column 'x'"));
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(code));
    EXPECT_EQ(g.error_message(), "column 'x'");
    const absl::Status back = FromGrpcStatus(g);
    EXPECT_EQ(back.code(), code);
    EXPECT_EQ(back.message(), "column 'x'");
  }
}

TEST(StatusUtilTest, SpecificCodes) {
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("a")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("a")).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::CancelledError("a")).error_code(),
            grpc::StatusCode::CANCELLED);
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("a")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(StatusUtilTest, InternalMessageIsScrubbed) {
  const grpc::Status g =
      ToGrpcStatus(absl::InternalError("fd 7 at /secret/path failed"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(g.error_message(), kInternalErrorMessage);
  EXPECT_THAT(g.error_message(), ::testing::Not(HasSubstr("secret")));
}

TEST(StatusUtilTest, MessageIsCappedAtOneKiB) {
  const std::string long_message(5000, 'x');
  const grpc::Status g = ToGrpcStatus(absl::InvalidArgumentError(long_message));
  EXPECT_EQ(g.error_message().size(), 1024u);
  EXPECT_EQ(g.error_message().substr(1021), "...");
  const std::string exact(1024, 'y');
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError(exact)).error_message(), exact);
}

TEST(StatusUtilTest, CapDoesNotSplitUtf8Characters) {
  // "é" is two bytes; 6 of them = 12 bytes; a cap of 8 leaves room for 5
  // bytes before "...", which must back up to 4 (two whole characters).
  const std::string text = "éééééé";
  EXPECT_EQ(CapMessage(text, 8), "éé...");
  EXPECT_EQ(CapMessage(text, 12), text);
}

}  // namespace
}  // namespace modelserver::server
