// TrainOptions validation at the wire boundary (ValidateTrainOptions /
// TrainSpecFromProto): values that TrainSpec would read as "default" must be
// refused when a client sets them, not silently replaced.
#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/proto_convert.h"

namespace modelserver::server {
namespace {

using ::testing::HasSubstr;

v1::TrainOptions Linear() {
  v1::TrainOptions o;
  o.set_target("y");
  o.set_model(v1::MODEL_TYPE_LINEAR);
  return o;
}

// TrainSpec takes a negative l1/l2 as "the default"; on the wire an unset
// field says that, so a set negative (or NaN) one is INVALID_ARGUMENT (found
// by tests/e2e/bad_input_catalogue_test.py: l2 = -1 trained with the default).
TEST(TrainOptionsTest, NegativeOrNanPenaltiesAreRefused) {
  for (double bad : {-1.0, -1e-300, static_cast<double>(NAN)}) {
    v1::TrainOptions o = Linear();
    o.set_l1(bad);
    absl::Status s = ValidateTrainOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), HasSubstr("options.l1: must be >= 0"));
    o = Linear();
    o.set_l2(bad);
    s = ValidateTrainOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.message()), HasSubstr("options.l2: must be >= 0"));
  }
}

TEST(TrainOptionsTest, ZeroAndPositivePenaltiesAreKept) {
  v1::TrainOptions o = Linear();
  o.set_l1(0.0);
  o.set_l2(0.25);
  absl::StatusOr<TrainSpec> spec = TrainSpecFromProto(o, ColumnType::kNumeric);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->l1, 0.0);
  EXPECT_EQ(spec->l2, 0.25);
  o.set_l2(INFINITY);
  EXPECT_EQ(ValidateTrainOptions(o).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelserver::server
