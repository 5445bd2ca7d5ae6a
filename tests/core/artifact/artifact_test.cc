#include "core/artifact/artifact.h"

#include <cmath>
#include <limits>
#include <string>

#include "core/data/csv_reader.h"
#include "core/train/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::Load;

using ::testing::HasSubstr;

Artifact TrainArtifact(const Table& t, TrainSpec s) {
  auto r = Train(t, s);
  EXPECT_TRUE(r.ok()) << r.status();
  return Artifact::FromTrainResult(*std::move(r), "m", 1);
}

TrainSpec Spec(ModelKind kind, const std::string& target) {
  TrainSpec s;
  s.kind = kind;
  s.target = target;
  s.hidden_layers = {8, 4};
  s.epochs = 20;
  return s;
}

// Predictions after an encode/decode round trip are bit-identical, for every
// model kind, on data with numeric, categorical and missing values.
TEST(ArtifactTest, RoundTripGivesIdenticalPredictions) {
  const Table mpg = Load("mpg.csv");
  const Table air = Load("airquality.csv");
  const struct {
    const Table* table;
    ModelKind kind;
    const char* target;
  } cases[] = {
      {&air, ModelKind::kLinearRegression, "Ozone"},
      {&mpg, ModelKind::kLogisticRegression, "drv"},
      {&mpg, ModelKind::kLogisticRegression, "class"},
      {&mpg, ModelKind::kMlpRegressor, "hwy"},
      {&mpg, ModelKind::kMlpClassifier, "class"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    Artifact a = TrainArtifact(*c.table, Spec(c.kind, c.target));
    const std::string bytes = a.Encode();
    auto b = Artifact::Decode(bytes);
    ASSERT_TRUE(b.ok()) << b.status();
    auto pa = a.Predict(*c.table);
    auto pb = b->Predict(*c.table);
    ASSERT_TRUE(pa.ok() && pb.ok());
    EXPECT_TRUE(pa->values == pb->values);
    EXPECT_TRUE(pa->probabilities == pb->probabilities);
    EXPECT_EQ(pa->classes, pb->classes);
    // Metadata survives too.
    const ModelMetadata& m = b->metadata();
    EXPECT_EQ(m.name, "m");
    EXPECT_EQ(m.version, 1);
    EXPECT_EQ(m.kind, c.kind);
    EXPECT_EQ(m.target, c.target);
    EXPECT_EQ(m.class_labels, a.metadata().class_labels);
    EXPECT_EQ(m.hyperparameters, a.metadata().hyperparameters);
    EXPECT_EQ(m.train_metrics, a.metadata().train_metrics);
    EXPECT_EQ(m.validation_metrics, a.metadata().validation_metrics);
    EXPECT_EQ(m.data_checksum, a.metadata().data_checksum);
    EXPECT_EQ(m.created_unix_micros, a.metadata().created_unix_micros);
    EXPECT_EQ(m.library_version, MODELSERVER_VERSION);
    EXPECT_EQ(m.rows_total, c.table->num_rows());
    // Re-encoding the decoded artifact gives the same bytes.
    EXPECT_EQ(b->Encode(), bytes);
  }
}

TEST(ArtifactTest, CorruptedOrTruncatedBytesAreRejected) {
  const Table iris = Load("iris.csv");
  Artifact a =
      TrainArtifact(iris, Spec(ModelKind::kLogisticRegression, "species"));
  const std::string bytes = a.Encode();
  // Every truncation.
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = Artifact::Decode(absl::string_view(bytes.data(), n));
    ASSERT_FALSE(r.ok()) << "prefix " << n;
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
  // Every single-bit flip (on a stride, to keep the test fast) is caught by
  // the magic, header or checksum checks.
  for (size_t i = 0; i < bytes.size(); i += 7) {
    std::string corrupt = bytes;
    corrupt[i] ^= 0x10;
    auto r = Artifact::Decode(corrupt);
    ASSERT_FALSE(r.ok()) << "flip at " << i;
    EXPECT_TRUE(r.status().code() == absl::StatusCode::kDataLoss ||
                r.status().code() == absl::StatusCode::kFailedPrecondition)
        << r.status();
  }
  auto bad_crc = bytes;
  bad_crc[bytes.size() - 1] ^= 1;
  EXPECT_THAT(std::string(Artifact::Decode(bad_crc).status().message()),
              HasSubstr("checksum mismatch"));
  EXPECT_THAT(
      std::string(
          Artifact::Decode("hello, not a model at all").status().message()),
      HasSubstr("bad magic"));
  auto trailing = bytes + "x";
  EXPECT_EQ(Artifact::Decode(trailing).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ArtifactTest, NewerFormatVersionIsFailedPrecondition) {
  const Table iris = Load("iris.csv");
  std::string bytes =
      TrainArtifact(iris, Spec(ModelKind::kLogisticRegression, "species"))
          .Encode();
  bytes[8] = 2;  // format version, little-endian u32 after the 8-byte magic
  auto r = Artifact::Decode(bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("format version 2"));
}

TEST(ArtifactTest, PredictTakesRawRowsAndNamesMissingColumns) {
  const Table iris = Load("iris.csv");
  Artifact a =
      TrainArtifact(iris, Spec(ModelKind::kLogisticRegression, "species"));
  auto p = a.Predict(iris);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->probabilities.rows(), 150);
  ASSERT_EQ(p->probabilities.cols(), 3);
  for (Eigen::Index i = 0; i < 150; ++i) {
    EXPECT_NEAR(p->probabilities.row(i).sum(), 1.0, 1e-12);
  }
  auto no_col = ReadCsvString(
      "sepal_length_cm,sepal_width_cm,petal_length_cm\n5.1,3.5,1.4\n", CsvOptions());
  ASSERT_TRUE(no_col.ok());
  auto err = a.Predict(*no_col);
  EXPECT_EQ(err.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(err.status().message()), HasSubstr("petal_width_cm"));
}

TEST(ArtifactTest, EvaluateMatchesTrainingMetricsAndRejectsUnknownClasses) {
  const Table iris = Load("iris.csv");
  TrainSpec s = Spec(ModelKind::kLogisticRegression, "species");
  s.validation_fraction = 0;
  Artifact a = TrainArtifact(iris, s);
  auto e = a.Evaluate(iris);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->rows_used, 150);
  EXPECT_EQ(e->metrics, a.metadata().train_metrics);
  ASSERT_TRUE(e->classification.has_value());
  const ClassificationMetrics& c = *e->classification;
  ASSERT_EQ(c.confusion.rows(), 3);
  EXPECT_EQ(c.confusion.sum(), 150);
  EXPECT_EQ(c.confusion.row(0).sum(), 50);  // 50 rows of each species
  EXPECT_DOUBLE_EQ(static_cast<double>(c.confusion.trace()) / 150.0,
                   e->metrics[0].second);  // accuracy
  EXPECT_EQ(c.per_class[2].label, "virginica");

  auto unknown = ReadCsvString(
      "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,species\n"
      "5.1,3.5,1.4,0.2,setosa\n6,3,4,1,dragon\n",
      CsvOptions());
  ASSERT_TRUE(unknown.ok());
  auto bad = a.Evaluate(*unknown);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'dragon'"));

  auto no_target = ReadCsvString(
      "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n5.1,3.5,1.4,0.2\n",
      CsvOptions());
  ASSERT_TRUE(no_target.ok());
  EXPECT_EQ(a.Evaluate(*no_target).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The search results of a tuned version (metadata tag 45) survive an
// encode/decode round trip field by field, NaN scores of failed trials
// included; a version without them decodes with none.
TEST(ArtifactTest, TuningMetadataRoundTrips) {
  const Table air = Load("airquality.csv");
  Artifact a =
      TrainArtifact(air, Spec(ModelKind::kLinearRegression, "Ozone"));
  EXPECT_FALSE(Artifact::Decode(a.Encode())->metadata().tuning.has_value());
  TuneSummary t;
  t.metric = "rmse";
  t.higher_is_better = false;
  t.folds = 5;
  t.mode = "random";
  t.stop_reason = "time_budget";
  t.best_trial = 2;
  t.seed = 99;
  t.max_trials = 20;
  t.search_seconds = 1.25;
  TuneTrial failed;
  failed.trial = 1;
  failed.params = {{"model", "mlp_regressor"}, {"learning_rate", "1e+200"}};
  failed.mean = std::numeric_limits<double>::quiet_NaN();
  failed.stddev = std::numeric_limits<double>::quiet_NaN();
  failed.seconds = 0.5;
  failed.error = "SGD diverged";
  TuneTrial best;
  best.trial = 2;
  best.params = {{"model", "linear_regression"}, {"learning_rate", "0.01"}};
  best.mean = 21.5;
  best.stddev = 3.25;
  best.seconds = 0.75;
  t.trials = {failed, best};
  a.mutable_metadata().tuning = t;
  auto b = Artifact::Decode(a.Encode());
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(b->metadata().tuning.has_value());
  const TuneSummary& d = *b->metadata().tuning;
  EXPECT_EQ(d.metric, "rmse");
  EXPECT_FALSE(d.higher_is_better);
  EXPECT_EQ(d.folds, 5);
  EXPECT_EQ(d.mode, "random");
  EXPECT_EQ(d.stop_reason, "time_budget");
  EXPECT_EQ(d.best_trial, 2);
  EXPECT_EQ(d.seed, 99u);
  EXPECT_EQ(d.max_trials, 20);
  EXPECT_EQ(d.search_seconds, 1.25);
  ASSERT_EQ(d.trials.size(), 2u);
  EXPECT_EQ(d.trials[0].params, failed.params);
  EXPECT_TRUE(std::isnan(d.trials[0].mean));
  EXPECT_EQ(d.trials[0].error, "SGD diverged");
  EXPECT_EQ(d.trials[1].trial, 2);
  EXPECT_EQ(d.trials[1].params, best.params);
  EXPECT_EQ(d.trials[1].mean, 21.5);
  EXPECT_EQ(d.trials[1].stddev, 3.25);
  EXPECT_EQ(d.trials[1].seconds, 0.75);
  EXPECT_EQ(d.trials[1].error, "");
}

}  // namespace
}  // namespace modelserver
