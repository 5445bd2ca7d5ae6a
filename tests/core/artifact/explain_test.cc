#include "core/artifact/explain.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/artifact/artifact.h"
#include "core/data/csv_reader.h"
#include "core/data/datetime.h"
#include "core/model/linear_model.h"
#include "core/train/trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::Load;
using test_tables::MakeTable;

using ::testing::HasSubstr;

double Seconds(const char* iso) {
  const std::optional<double> s = ParseIsoDateTime(iso);
  EXPECT_TRUE(s.has_value()) << iso;
  return s.value_or(0);
}

// A numeric column x, a categorical column color and a date column when,
// without scaling: x stays x (a missing x becomes the training mean 3),
// color becomes color=red, color=blue (red is more frequent), when becomes
// its year, month, day, day_of_week (0 = Monday) and hour.
Pipeline TinyPipeline() {
  const Table fit = MakeTable(
      {Column::Numeric("x", {1, 2, 6}),
       Column::CategoricalFromStrings("color", {"red", "blue", "red"}),
       Column::Date("when", {Seconds("2024-03-15T06:00:00Z"),
                             Seconds("2023-01-02T12:00:00Z"),
                             Seconds("2024-12-31T00:00:00Z")})});
  PipelineOptions o;
  o.scaling = ScalingMethod::kNone;
  auto p = Pipeline::Fit(fit, {"x", "color", "when"}, o);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

// Weights of x, color=red, color=blue, year, month, day, day_of_week, hour.
constexpr double kWeights[] = {2, 10, -5, 0.001, 0.1, 0.01, 1, 0.5};

Artifact TinyArtifact(ModelKind kind) {
  Pipeline p = TinyPipeline();
  EXPECT_EQ(p.output_names(),
            (std::vector<std::string>{"x", "color=red", "color=blue",
                                      "when.year", "when.month", "when.day",
                                      "when.day_of_week", "when.hour"}));
  auto m = LinearModel::Create(kind, 8,
                               kind == ModelKind::kLinearRegression ? 0 : 2);
  EXPECT_TRUE(m.ok());
  Eigen::VectorXd& w = (*m)->mutable_parameters();
  for (int j = 0; j < 8; ++j) w[j] = kWeights[j];
  w[8] = kind == ModelKind::kLinearRegression ? 3 : -20;  // bias
  ModelMetadata meta;
  meta.kind = kind;
  meta.target = "y";
  if (kind != ModelKind::kLinearRegression) meta.class_labels = {"no", "yes"};
  return Artifact(std::move(meta), std::move(p), *std::move(m));
}

Table TinyRows() {
  return MakeTable({Column::Numeric("x", {4, std::nan("")}),
                    Column::CategoricalFromStrings("color", {"blue", "green"}),
                    // 2025-06-01 is a Sunday (6); 2024-02-29 a Thursday (3).
                    Column::Date("when", {Seconds("2025-06-01T10:00:00Z"),
                                          Seconds("2024-02-29T23:00:00Z")})});
}

// Hand-computed:
//   row 0: x 2*4 = 8; color blue -5; when 0.001*2025 + 0.1*6 + 0.01*1 +
//          1*6 + 0.5*10 = 2.025 + 0.6 + 0.01 + 6 + 5 = 13.635;
//          prediction 3 + 8 - 5 + 13.635 = 19.635
//   row 1: x missing -> mean 3 -> 6; color unseen -> all zeros -> 0;
//          when 2.024 + 0.2 + 0.29 + 3 + 11.5 = 17.014;
//          prediction 3 + 6 + 0 + 17.014 = 26.014
TEST(ExplainTest, LinearKnownAnswerWithNumericCategoricalAndDate) {
  const Artifact a = TinyArtifact(ModelKind::kLinearRegression);
  auto e = a.Explain(TinyRows());
  ASSERT_TRUE(e.ok()) << e.status();
  const Explanations& x = e->explanations;
  EXPECT_EQ(x.score, "value");
  EXPECT_TRUE(x.score_classes.empty());
  EXPECT_EQ(x.num_columns, 3);
  ASSERT_EQ(x.num_scores(), 1);
  EXPECT_EQ(x.base_values[0], 3.0);
  ASSERT_EQ(x.contributions.rows(), 2);
  ASSERT_EQ(x.contributions.cols(), 3);
  EXPECT_NEAR(x.contributions(0, 0), 8, 1e-12);
  EXPECT_NEAR(x.contributions(0, 1), -5, 1e-12);
  EXPECT_NEAR(x.contributions(0, 2), 13.635, 1e-12);
  EXPECT_NEAR(x.contributions(1, 0), 6, 1e-12);
  EXPECT_EQ(x.contributions(1, 1), 0);
  EXPECT_NEAR(x.contributions(1, 2), 17.014, 1e-12);
  EXPECT_NEAR(x.scores(0, 0), 19.635, 1e-12);
  EXPECT_NEAR(x.scores(1, 0), 26.014, 1e-12);
  EXPECT_NEAR(e->predictions.values[0], 19.635, 1e-12);
  EXPECT_NEAR(e->predictions.values[1], 26.014, 1e-12);
  // Predict alone gives the same predictions.
  auto p = a.Predict(TinyRows());
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->values == e->predictions.values);
}

// The same weights as a 2-class logistic model (bias -20): the scores are
// the log-odds of "yes", and the probability is their sigmoid.
TEST(ExplainTest, BinaryLogisticGivesLogOddsOfTheSecondClass) {
  const Artifact a = TinyArtifact(ModelKind::kLogisticRegression);
  auto e = a.Explain(TinyRows());
  ASSERT_TRUE(e.ok()) << e.status();
  const Explanations& x = e->explanations;
  EXPECT_EQ(x.score, "log_odds");
  EXPECT_EQ(x.score_classes, std::vector<int32_t>{1});
  EXPECT_EQ(x.base_values[0], -20.0);
  EXPECT_NEAR(x.contributions(0, 2), 13.635, 1e-12);
  EXPECT_NEAR(x.scores(0, 0), -3.365, 1e-12);  // 16.635 - 20
  EXPECT_NEAR(x.scores(1, 0), 3.014, 1e-12);
  for (int i = 0; i < 2; ++i) {
    const double p1 = 1 / (1 + std::exp(-x.scores(i, 0)));
    EXPECT_NEAR(e->predictions.probabilities(i, 1), p1, 1e-15);
  }
}

TEST(ExplainTest, MlpIsRejectedNamingTheKind) {
  const Table mpg = Load("mpg.csv");
  TrainSpec s;
  s.kind = ModelKind::kMlpRegressor;
  s.target = "hwy";
  s.hidden_layers = {4};
  s.epochs = 2;
  s.importance_repeats = 0;
  auto r = Train(mpg, s);
  ASSERT_TRUE(r.ok()) << r.status();
  const Artifact a = Artifact::FromTrainResult(*std::move(r), "m", 1);
  auto e = a.Explain(mpg);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("model kind 'mlp_regressor' has no exact per-column"));
  EXPECT_EQ(CheckExplainable(ModelKind::kMlpClassifier).code(),
            absl::StatusCode::kInvalidArgument);
}

// On real data, for every row and score: base + sum of contributions ==
// score to 1e-9 relative, and the scores give the predictions (identity,
// sigmoid, softmax).
TEST(ExplainTest, ContributionsSumToTheScoreOnRealData) {
  const struct {
    const char* file;
    ModelKind kind;
    const char* target;
    int scores;
  } cases[] = {
      {"mpg.csv", ModelKind::kLinearRegression, "hwy", 1},
      {"airquality.csv", ModelKind::kLinearRegression, "Ozone", 1},
      {"diabetes.csv", ModelKind::kLinearRegression, "progression", 1},
      {"breast_cancer.csv", ModelKind::kLogisticRegression, "diagnosis", 1},
      {"mpg.csv", ModelKind::kLogisticRegression, "class", 7},
      {"iris.csv", ModelKind::kLogisticRegression, "species", 3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.file) + " " + c.target);
    const Table t = Load(c.file);
    TrainSpec s;
    s.kind = c.kind;
    s.target = c.target;
    s.importance_repeats = 0;
    auto r = Train(t, s);
    ASSERT_TRUE(r.ok()) << r.status();
    const Artifact a = Artifact::FromTrainResult(*std::move(r), "m", 1);
    auto e = a.Explain(t);
    ASSERT_TRUE(e.ok()) << e.status();
    const Explanations& x = e->explanations;
    const int cols = static_cast<int>(a.input_schema().size());
    ASSERT_EQ(x.num_scores(), c.scores);
    ASSERT_EQ(x.contributions.rows(), t.num_rows());
    ASSERT_EQ(x.contributions.cols(), c.scores * cols);
    int checked = 0;
    for (Eigen::Index i = 0; i < t.num_rows(); ++i) {
      for (int s = 0; s < c.scores; ++s) {
        double sum = x.base_values[s], magnitude = std::abs(sum);
        for (int k = 0; k < cols; ++k) {
          sum += x.contributions(i, s * cols + k);
          magnitude += std::abs(x.contributions(i, s * cols + k));
        }
        ASSERT_NEAR(sum, x.scores(i, s), 1e-9 * std::max(1.0, magnitude))
            << "row " << i << " score " << s;
        ++checked;
      }
      if (c.kind == ModelKind::kLinearRegression) {
        ASSERT_NEAR(x.scores(i, 0), e->predictions.values[i],
                    1e-9 * std::max(1.0, std::abs(x.scores(i, 0))));
      } else if (c.scores == 1) {
        ASSERT_NEAR(1 / (1 + std::exp(-x.scores(i, 0))),
                    e->predictions.probabilities(i, 1), 1e-12);
      } else {
        const Eigen::RowVectorXd z = x.scores.row(i);
        double total = 0;  // scalar exp: GCC 12 warns on Eigen's AVX-512 one
        for (int s = 0; s < c.scores; ++s)
          total += std::exp(z[s] - z.maxCoeff());
        for (int s = 0; s < c.scores; ++s) {
          ASSERT_NEAR(std::exp(z[s] - z.maxCoeff()) / total,
                      e->predictions.probabilities(i, s), 1e-12);
        }
      }
    }
    EXPECT_EQ(checked, t.num_rows() * c.scores);
  }
}

// A categorical column's contribution is the weight of the row's level;
// the one-hot group sums back to the column.
TEST(ExplainTest, OneHotGroupSumsToItsColumn) {
  const Table mpg = Load("mpg.csv");
  TrainSpec s;
  s.kind = ModelKind::kLinearRegression;
  s.target = "hwy";
  s.features = {"displ", "drv"};
  s.importance_repeats = 0;
  auto r = Train(mpg, s);
  ASSERT_TRUE(r.ok()) << r.status();
  const Artifact a = Artifact::FromTrainResult(*std::move(r), "m", 1);
  auto e = a.Explain(mpg);
  ASSERT_TRUE(e.ok());
  // Outputs: displ, drv=<level> ... ; the contribution of drv for a row is
  // the weight of its level's output (one-hot outputs are not scaled).
  const std::vector<std::string>& names = a.pipeline().output_names();
  const Column& drv = *mpg.Find("drv");
  for (int i = 0; i < 20; ++i) {
    const std::string level = drv.levels()[drv.codes()[i]];
    int j = 0;
    while (names[j] != "drv=" + level) ++j;
    EXPECT_NEAR(e->explanations.contributions(i, 1), a.model().parameters()[j],
                1e-12);
  }
}

}  // namespace
}  // namespace modelserver
