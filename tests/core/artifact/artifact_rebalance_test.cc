// Metadata tags 35-38 (docs/artifact-format.md): rows added by oversampling
// and augmentation, the class weights and the promotion gate's verdict
// survive an encode/decode round trip; artifacts without them are unchanged.
#include <cmath>
#include <string>

#include "core/artifact/artifact.h"
#include "core/data/csv_reader.h"
#include "core/train/trainer.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::Load;

std::string Hyperparameter(const ModelMetadata& m, const std::string& key) {
  for (const auto& [k, v] : m.hyperparameters) {
    if (k == key) return v;
  }
  return "<absent>";
}

TEST(ArtifactRebalanceTest, MetadataRoundTrips) {
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "species";
  s.class_weight = ClassWeightMode::kExplicit;
  s.class_weights = {{"setosa", 2.0}};
  s.rebalance = RebalanceMode::kOversample;
  s.augment_noise = 0.05;
  s.augment_copies = 2;
  s.importance_repeats = 0;
  auto r = Train(Load("iris.csv"), s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->rows_oversampled, 0);  // iris is balanced: 50 x 3
  EXPECT_EQ(r->rows_augmented, 2 * 150);
  ASSERT_EQ(r->class_weights.size(), 3u);  // 2, 1, 1 rescaled to mean 1
  EXPECT_DOUBLE_EQ(r->class_weights[0], 1.5);
  EXPECT_DOUBLE_EQ(r->class_weights[1], 0.75);
  Artifact a = Artifact::FromTrainResult(*std::move(r), "iris", 1);
  a.mutable_metadata().rows_oversampled = 12;  // as if oversampled
  GateResult g;
  g.passed = false;
  g.reason = "f1_macro 0.87 < 0.9";
  g.holdout_rows = 30;
  g.holdout_metrics = {{"accuracy", 0.9}, {"f1_macro", 0.87}};
  GateConditionResult c;
  c.condition = "accuracy > stable";
  c.passed = true;
  c.value = 0.9;
  c.baseline_value = 0.8;
  c.baseline_version = 3;
  g.conditions = {c};
  a.mutable_metadata().gate = g;

  auto b = Artifact::Decode(a.Encode());
  ASSERT_TRUE(b.ok()) << b.status();
  const ModelMetadata& m = b->metadata();
  EXPECT_EQ(m.rows_oversampled, 12);
  EXPECT_EQ(m.rows_augmented, 300);
  EXPECT_EQ(m.class_weights, a.metadata().class_weights);
  ASSERT_TRUE(m.gate.has_value());
  EXPECT_FALSE(m.gate->passed);
  EXPECT_EQ(m.gate->reason, "f1_macro 0.87 < 0.9");
  EXPECT_EQ(m.gate->holdout_rows, 30);
  EXPECT_EQ(m.gate->holdout_metrics, g.holdout_metrics);
  ASSERT_EQ(m.gate->conditions.size(), 1u);
  EXPECT_EQ(m.gate->conditions[0].condition, "accuracy > stable");
  EXPECT_TRUE(m.gate->conditions[0].passed);
  EXPECT_EQ(m.gate->conditions[0].baseline_value, 0.8);
  EXPECT_EQ(m.gate->conditions[0].baseline_version, 3);
  EXPECT_EQ(Hyperparameter(m, "class_weight"), "explicit");
  EXPECT_EQ(Hyperparameter(m, "class_weight[setosa]"), "2");
  EXPECT_EQ(Hyperparameter(m, "rebalance"), "oversample");
  EXPECT_EQ(Hyperparameter(m, "augment_noise"), "0.05");
  EXPECT_EQ(Hyperparameter(m, "augment_copies"), "2");
}

TEST(ArtifactRebalanceTest, UnusedFieldsAreNotWritten) {
  TrainSpec s;
  s.kind = ModelKind::kLogisticRegression;
  s.target = "species";
  s.importance_repeats = 0;
  auto r = Train(Load("iris.csv"), s);
  ASSERT_TRUE(r.ok()) << r.status();
  Artifact a = Artifact::FromTrainResult(*std::move(r), "iris", 1);
  const std::string plain = a.Encode();
  auto b = Artifact::Decode(plain);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->metadata().rows_oversampled, 0);
  EXPECT_TRUE(b->metadata().class_weights.empty());
  EXPECT_FALSE(b->metadata().gate.has_value());
  EXPECT_EQ(Hyperparameter(b->metadata(), "class_weight"), "<absent>");
  // A gate adds its field: the bytes grow.
  a.mutable_metadata().gate = GateResult();
  EXPECT_GT(a.Encode().size(), plain.size());
}

}  // namespace
}  // namespace modelserver
