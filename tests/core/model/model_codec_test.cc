#include "core/model/model_codec.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/linear_model.h"
#include "core/model/mlp.h"
#include "core/model/model.h"
#include "core/util/bytes.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

Eigen::MatrixXd RandomMatrix(Rng& rng, int rows, int cols, double scale) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i)
    m.data()[i] = scale * rng.Normal();
  return m;
}

// One model of each kind and head, with non-trivial parameters.
std::vector<std::unique_ptr<Model>> AllModels() {
  Rng rng(17);
  std::vector<std::unique_ptr<Model>> models;
  models.push_back(*LinearModel::Create(ModelKind::kLinearRegression, 4, 0));
  models.push_back(*LinearModel::Create(ModelKind::kLogisticRegression, 4, 2));
  models.push_back(*LinearModel::Create(ModelKind::kLogisticRegression, 4, 3));
  for (auto& m : models) {
    m->mutable_parameters() =
        RandomMatrix(rng, static_cast<int>(m->parameters().size()), 1, 1.0);
  }
  models.push_back(*Mlp::Create(ModelKind::kMlpRegressor, 4, {6, 5},
                                Activation::kRelu, 0, 1));
  models.push_back(
      *Mlp::Create(ModelKind::kMlpClassifier, 4, {3}, Activation::kTanh, 2, 2));
  models.push_back(*Mlp::Create(ModelKind::kMlpClassifier, 4, {7, 3, 2},
                                Activation::kSigmoid, 5, 3));
  models.push_back(
      *Mlp::Create(ModelKind::kMlpRegressor, 4, {}, Activation::kTanh, 0, 4));
  return models;
}

std::string Encoded(const Model& m) {
  ByteWriter w;
  EncodeModel(m, &w);
  return w.Release();
}

TEST(ModelCodecTest, RoundTripGivesBitIdenticalPredictions) {
  Rng rng(5);
  const Eigen::MatrixXd x = RandomMatrix(rng, 25, 4, 2.0);
  for (const auto& m : AllModels()) {
    SCOPED_TRACE(std::string(ModelKindName(m->kind())));
    const std::string bytes = Encoded(*m);
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), static_cast<uint8_t>(m->kind()));
    ByteReader r(bytes);
    auto decoded = DecodeModel(&r);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_TRUE(r.done());
    const Model& d = **decoded;
    EXPECT_EQ(d.kind(), m->kind());
    EXPECT_EQ(d.num_inputs(), m->num_inputs());
    EXPECT_EQ(d.num_outputs(), m->num_outputs());
    EXPECT_EQ(d.parameters(), m->parameters());
    EXPECT_EQ(d.PenaltyMask(), m->PenaltyMask());
    EXPECT_EQ(d.Predict(x), m->Predict(x));  // exact equality
    // Re-encoding gives the same bytes.
    EXPECT_EQ(Encoded(d), bytes);
  }
}

TEST(ModelCodecTest, MlpStructureSurvives) {
  auto m = *Mlp::Create(ModelKind::kMlpClassifier, 4, {7, 3, 2},
                        Activation::kSigmoid, 5, 3);
  const std::string bytes = Encoded(*m);
  ByteReader r(bytes);
  auto decoded = DecodeModel(&r);
  ASSERT_TRUE(decoded.ok());
  const auto* mlp = dynamic_cast<const Mlp*>(decoded->get());
  ASSERT_NE(mlp, nullptr);
  EXPECT_EQ(mlp->hidden_layers(), (std::vector<int>{7, 3, 2}));
  EXPECT_EQ(mlp->activation(), Activation::kSigmoid);
  EXPECT_EQ(mlp->num_classes(), 5);
}

TEST(ModelCodecTest, LeavesTrailingBytesToTheCaller) {
  auto m = *LinearModel::Create(ModelKind::kLinearRegression, 2, 0);
  ByteWriter w;
  EncodeModel(*m, &w);
  w.WriteU32(0xabcdef01);
  ByteReader r(w.data());
  ASSERT_TRUE(DecodeModel(&r).ok());
  EXPECT_EQ(*r.ReadU32("trailer"), 0xabcdef01u);
}

TEST(ModelCodecTest, EveryTruncationIsDataLoss) {
  for (const auto& m : AllModels()) {
    const std::string bytes = Encoded(*m);
    for (size_t len = 0; len < bytes.size(); ++len) {
      ByteReader r(absl::string_view(bytes.data(), len));
      auto decoded = DecodeModel(&r);
      ASSERT_FALSE(decoded.ok()) << ModelKindName(m->kind()) << " " << len;
      EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
          << decoded.status();
    }
  }
}

TEST(ModelCodecTest, UnknownKindIsDataLoss) {
  for (uint8_t kind : {0, 5, 255}) {
    std::string bytes = Encoded(
        *LinearModel::Create(ModelKind::kLinearRegression, 2, 0).value());
    bytes[0] = static_cast<char>(kind);
    ByteReader r(bytes);
    auto decoded = DecodeModel(&r);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(decoded.status().message()),
                HasSubstr(absl::StrCat("unknown model kind byte ", kind)));
  }
}

// Hand-made encodings of corrupted models.
TEST(ModelCodecTest, ParameterCountMismatchIsDataLoss) {
  ByteWriter w;
  w.WriteU8(static_cast<uint8_t>(ModelKind::kLogisticRegression));
  w.WriteU32(3);  // inputs
  w.WriteU32(3);  // classes => (3 + 1) * 3 = 12 parameters expected
  w.WriteVector(Eigen::VectorXd::Zero(11));
  ByteReader r(w.data());
  auto decoded = DecodeModel(&r);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(decoded.status().message()),
              HasSubstr("needs 12 parameters"));
  EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("11"));
}

TEST(ModelCodecTest, InvalidSizesAreDataLoss) {
  {
    ByteWriter w;  // regression with 3 classes
    w.WriteU8(static_cast<uint8_t>(ModelKind::kLinearRegression));
    w.WriteU32(2);
    w.WriteU32(3);
    w.WriteVector(Eigen::VectorXd::Zero(3));
    ByteReader r(w.data());
    auto d = DecodeModel(&r);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("num_classes"));
  }
  {
    ByteWriter w;  // 2^32 - 1 inputs
    w.WriteU8(static_cast<uint8_t>(ModelKind::kLinearRegression));
    w.WriteU32(0xffffffffu);
    w.WriteU32(0);
    ByteReader r(w.data());
    auto d = DecodeModel(&r);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST(ModelCodecTest, HugeMlpSizesFailWithoutAllocating) {
  {
    // Layer sizes at the limit: far more parameters than allowed.
    ByteWriter w;
    w.WriteU8(static_cast<uint8_t>(ModelKind::kMlpRegressor));
    w.WriteU32(1 << 16);
    w.WriteU32(0);
    w.WriteU8(0);
    w.WriteU32(3);
    for (int i = 0; i < 3; ++i) w.WriteU32(1 << 16);
    ByteReader r(w.data());
    auto d = DecodeModel(&r);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("parameters"));
  }
  {
    // Plausible sizes (2^27 parameters = 1 GiB) but only a few bytes.
    ByteWriter w;
    w.WriteU8(static_cast<uint8_t>(ModelKind::kMlpRegressor));
    w.WriteU32((1 << 11) - 1);
    w.WriteU32(0);
    w.WriteU8(1);
    w.WriteU32(1);
    w.WriteU32(1 << 16);  // (2047 + 1) * 65536 + 65537 parameters
    w.WriteU64((uint64_t{1} << 27) + 65537);
    w.WriteF64(0.0);
    ByteReader r(w.data());
    auto d = DecodeModel(&r);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(d.status().message()), HasSubstr("truncated"));
  }
  {
    // Absurd hidden layer count.
    ByteWriter w;
    w.WriteU8(static_cast<uint8_t>(ModelKind::kMlpClassifier));
    w.WriteU32(2);
    w.WriteU32(2);
    w.WriteU8(0);
    w.WriteU32(0xfffffff0u);
    ByteReader r(w.data());
    auto d = DecodeModel(&r);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(d.status().message()),
                HasSubstr("hidden layer count"));
  }
}

TEST(ModelCodecTest, UnknownActivationIsDataLoss) {
  auto m =
      *Mlp::Create(ModelKind::kMlpRegressor, 2, {3}, Activation::kRelu, 0, 1);
  std::string bytes = Encoded(*m);
  bytes[1 + 4 + 4] = 9;  // kind, num_inputs, num_classes, then activation
  ByteReader r(bytes);
  auto d = DecodeModel(&r);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(d.status().message()),
              HasSubstr("unknown mlp activation 9"));
}

TEST(ModelCodecTest, NonFiniteParameterIsDataLoss) {
  auto m = *LinearModel::Create(ModelKind::kLinearRegression, 2, 0);
  m->mutable_parameters()[1] = std::numeric_limits<double>::quiet_NaN();
  const std::string bytes = Encoded(*m);
  ByteReader r(bytes);
  auto d = DecodeModel(&r);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(d.status().message()),
              HasSubstr("parameter 1 is not finite"));
}

}  // namespace
}  // namespace modelserver
