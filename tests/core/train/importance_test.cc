#include "core/train/importance.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "core/data/csv_reader.h"
#include "core/data/datetime.h"
#include "core/prep/pipeline.h"
#include "core/train/trainer.h"
#include "core/util/parallel.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::Load;
using test_tables::MakeTable;

using ::testing::HasSubstr;

// y = 3 * x1 exactly, x2 unrelated noise: 200 rows.
Table LinearData() {
  Rng rng(7);
  std::vector<double> x1, x2, y;
  for (int i = 0; i < 200; ++i) {
    x1.push_back(rng.Normal() * 2 + 1);
    x2.push_back(rng.Normal());
    y.push_back(3 * x1.back());
  }
  return MakeTable({Column::Numeric("x1", x1), Column::Numeric("x2", x2),
                    Column::Numeric("y", y)});
}

TrainSpec LinearSpec() {
  TrainSpec s;
  s.kind = ModelKind::kLinearRegression;
  s.target = "y";
  s.validation_fraction = 0;
  s.importance_repeats = 4;
  s.seed = 11;
  return s;
}

// The known answer: with y = 3 x1 and the fitted model y = 3 x1 (+ 0 x2 up
// to rounding), shuffling x1 by a permutation P gives r2 = 1 - sum (3 x1 -
// 3 x1[P])^2 / sum (3 x1 - mean)^2, so the drop from r2 = 1 is
// sum (x1 - x1[P])^2 / sum (x1 - mean)^2, computed here from the same
// permutations; shuffling x2 changes nothing.
TEST(ImportanceTest, LinearKnownAnswer) {
  const Table t = LinearData();
  auto r = Train(t, LinearSpec());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->importance.has_value());
  const FeatureImportanceReport& imp = *r->importance;
  EXPECT_EQ(imp.metric, "r2");
  EXPECT_EQ(imp.data, "training");  // no validation rows
  EXPECT_EQ(imp.rows, 200);
  EXPECT_EQ(imp.repeats, 4);
  EXPECT_EQ(imp.seed, 11u);
  EXPECT_NEAR(imp.baseline, 1.0, 1e-12);
  ASSERT_EQ(imp.columns.size(), 2u);
  EXPECT_EQ(imp.columns[0].column, "x1");
  EXPECT_EQ(imp.columns[1].column, "x2");

  const std::vector<double>& x1 = t.Find("x1")->values();
  const double mean = std::accumulate(x1.begin(), x1.end(), 0.0) / 200;
  double ss_tot = 0;
  for (double v : x1) ss_tot += (v - mean) * (v - mean);
  std::vector<double> expected;
  for (int rep = 0; rep < 4; ++rep) {
    const std::vector<int64_t> perm = ImportancePermutation(200, 11, rep, 0);
    double ss = 0;
    for (int i = 0; i < 200; ++i) {
      ss += (x1[i] - x1[perm[i]]) * (x1[i] - x1[perm[i]]);
    }
    expected.push_back(ss / ss_tot);
  }
  ASSERT_EQ(imp.columns[0].drops.size(), 4u);
  double sum = 0;
  for (int rep = 0; rep < 4; ++rep) {
    EXPECT_NEAR(imp.columns[0].drops[rep], expected[rep], 1e-9) << rep;
    // A random permutation makes the drop about 2 (twice the variance).
    EXPECT_GT(imp.columns[0].drops[rep], 1.0);
    sum += expected[rep];
  }
  const double m = sum / 4;
  double var = 0;
  for (double e : expected) var += (e - m) * (e - m) / 4;
  EXPECT_NEAR(imp.columns[0].mean, m, 1e-9);
  EXPECT_NEAR(imp.columns[0].std, std::sqrt(var), 1e-9);
  for (double d : imp.columns[1].drops) EXPECT_NEAR(d, 0.0, 1e-12);
  EXPECT_NEAR(imp.columns[1].mean, 0.0, 1e-12);
  EXPECT_NEAR(imp.columns[1].std, 0.0, 1e-12);
}

// Shuffling a raw column and running the pipeline again gives exactly the
// transformed matrix with that column's outputs shuffled (numeric with
// missing values and outlier clipping, categorical with levels folded into
// <other>, missing and unseen, and date columns).
TEST(ImportanceTest, ShufflingRawColumnEqualsShufflingItsOutputs) {
  std::vector<double> num, when;
  std::vector<std::string> cat;
  std::vector<bool> cat_missing;
  Rng rng(3);
  const char* levels[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 60; ++i) {
    num.push_back(i % 7 == 0 ? std::nan("") : rng.Normal() * 10);
    cat.push_back(levels[rng.UniformInt(5)]);
    cat_missing.push_back(i % 11 == 0);
    when.push_back(i % 9 == 0 ? std::nan("")
                              : 1.7e9 + rng.Uniform() * 3e7);  // 2023-2024
  }
  const Table fit =
      MakeTable({Column::Numeric("num", num),
                 Column::CategoricalFromStrings("cat", cat, cat_missing),
                 Column::Date("when", when)});
  PipelineOptions options;
  options.max_levels = 3;
  options.outliers = OutlierMethod::kZScore;
  options.zscore_threshold = 1.5;
  auto p = Pipeline::Fit(fit, {"num", "cat", "when"}, options);
  ASSERT_TRUE(p.ok()) << p.status();
  // Rows to transform: the fit rows plus a level never seen.
  cat[5] = "zzz";
  const Table rows =
      MakeTable({Column::Numeric("num", num),
                 Column::CategoricalFromStrings("cat", cat, cat_missing),
                 Column::Date("when", when)});
  auto x = p->Transform(rows);
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_EQ(p->num_outputs(), 1 + 3 + 5);
  for (int c = 0; c < 3; ++c) {
    SCOPED_TRACE(c);
    const std::vector<int64_t> perm = ImportancePermutation(60, 99, 0, c);
    Table shuffled;
    for (int k = 0; k < 3; ++k) {
      ASSERT_TRUE(shuffled
                      .AddColumn(k == c ? rows.column(k).SelectRows(perm)
                                        : rows.column(k))
                      .ok());
    }
    auto xs = p->Transform(shuffled);
    ASSERT_TRUE(xs.ok());
    Eigen::MatrixXd expected = *x;
    for (int j = 0; j < p->num_outputs(); ++j) {
      if (p->output_sources()[j] != c) continue;
      for (int i = 0; i < 60; ++i) expected(i, j) = (*x)(perm[i], j);
    }
    EXPECT_TRUE(*xs == expected);
  }
}

// The report of PermutationImportance is the same with or without threads
// and from run to run; another seed gives other drops.
TEST(ImportanceTest, DeterministicAndThreadIndependent) {
  const Table mpg = Load("mpg.csv");
  TrainSpec s;
  s.kind = ModelKind::kMlpClassifier;
  s.target = "drv";
  s.hidden_layers = {8};
  s.epochs = 30;
  s.importance_repeats = 0;
  s.threads = 1;
  auto r = Train(mpg, s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->importance.has_value());
  auto x = r->pipeline.Transform(mpg);
  ASSERT_TRUE(x.ok());
  auto y = EncodeTarget(*mpg.Find("drv"), s.kind, r->class_labels);
  ASSERT_TRUE(y.ok());
  std::vector<std::string> columns;
  for (const InputColumn& c : r->pipeline.inputs()) columns.push_back(c.name);
  FeatureImportanceOptions o;
  o.repeats = 3;
  o.seed = 5;
  auto one = PermutationImportance(*r->model, *x, y->y, y->classes,
                                   r->pipeline.output_sources(), columns, o,
                                   "evaluation");
  ThreadPool pool(4);
  auto four = PermutationImportance(*r->model, *x, y->y, y->classes,
                                    r->pipeline.output_sources(), columns, o,
                                    "evaluation", &pool);
  ASSERT_TRUE(one.ok() && four.ok());
  ASSERT_EQ(one->columns.size(), columns.size());
  bool any_nonzero = false;
  for (size_t c = 0; c < columns.size(); ++c) {
    EXPECT_EQ(one->columns[c].drops, four->columns[c].drops) << c;
    EXPECT_EQ(one->columns[c].mean, four->columns[c].mean);
    // Accuracy drops are multiples of 1 / rows.
    for (double d : one->columns[c].drops) {
      EXPECT_NEAR(d * 234, std::round(d * 234), 1e-9);
      any_nonzero |= d != 0;
    }
  }
  EXPECT_TRUE(any_nonzero);
  // Independently: repeat 1 of column "displ" recomputed by hand.
  const int displ = static_cast<int>(
      std::find(columns.begin(), columns.end(), "displ") - columns.begin());
  ASSERT_LT(displ, static_cast<int>(columns.size()));
  const std::vector<int64_t> perm = ImportancePermutation(234, 5, 1, displ);
  Eigen::MatrixXd xp = *x;
  for (int j = 0; j < x->cols(); ++j) {
    if (r->pipeline.output_sources()[j] != displ) continue;
    for (int i = 0; i < 234; ++i) xp(i, j) = (*x)(perm[i], j);
  }
  const double base =
      MainMetric(s.kind, r->model->Predict(*x), y->y, y->classes);
  const double shuffled =
      MainMetric(s.kind, r->model->Predict(xp), y->y, y->classes);
  EXPECT_EQ(one->baseline, base);
  EXPECT_NEAR(one->columns[displ].drops[1], base - shuffled, 1e-12);

  o.seed = 6;
  auto other = PermutationImportance(*r->model, *x, y->y, y->classes,
                                     r->pipeline.output_sources(), columns, o,
                                     "evaluation");
  ASSERT_TRUE(other.ok());
  bool differs = false;
  for (size_t c = 0; c < columns.size(); ++c) {
    differs |= other->columns[c].drops != one->columns[c].drops;
  }
  EXPECT_TRUE(differs);
}

// Drops recomputed by shuffling the design matrix and predicting in full.
std::vector<std::vector<double>> DirectDrops(
    const Model& model, const Eigen::MatrixXd& x, const EncodedTarget& y,
    const std::vector<int>& sources, int columns, int repeats, uint64_t seed) {
  const double base =
      MainMetric(model.kind(), model.Predict(x), y.y, y.classes);
  std::vector<std::vector<double>> drops(columns);
  for (int c = 0; c < columns; ++c) {
    for (int r = 0; r < repeats; ++r) {
      const std::vector<int64_t> perm =
          ImportancePermutation(x.rows(), seed, r, c);
      Eigen::MatrixXd xp = x;
      for (int j = 0; j < x.cols(); ++j) {
        if (sources[j] != c) continue;
        for (Eigen::Index i = 0; i < x.rows(); ++i) xp(i, j) = x(perm[i], j);
      }
      drops[c].push_back(
          base - MainMetric(model.kind(), model.Predict(xp), y.y, y.classes));
    }
  }
  return drops;
}

// Linear and logistic models update only the shuffled columns' terms of the
// logits: the same drops as predicting the shuffled matrix in full.
TEST(ImportanceTest, LinearShortcutEqualsFullPrediction) {
  const struct {
    const char* file;
    ModelKind kind;
    const char* target;
  } cases[] = {
      {"mpg.csv", ModelKind::kLinearRegression, "hwy"},
      {"breast_cancer.csv", ModelKind::kLogisticRegression, "diagnosis"},
      {"iris.csv", ModelKind::kLogisticRegression, "species"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const Table t = Load(c.file);
    TrainSpec s;
    s.kind = c.kind;
    s.target = c.target;
    s.importance_repeats = 3;
    auto r = Train(t, s);
    ASSERT_TRUE(r.ok()) << r.status();
    auto x = r->pipeline.Transform(t);
    ASSERT_TRUE(x.ok());
    auto y = EncodeTarget(*t.Find(c.target), c.kind, r->class_labels);
    ASSERT_TRUE(y.ok());
    const int columns = static_cast<int>(r->pipeline.inputs().size());
    const auto direct = DirectDrops(
        *r->model, *x, *y, r->pipeline.output_sources(), columns, 3, s.seed);
    ASSERT_EQ(r->importance->columns.size(), static_cast<size_t>(columns));
    EXPECT_EQ(r->importance->rows, t.num_rows());
    // 1 and 4 threads: bit-identical.
    std::vector<std::string> names;
    for (const InputColumn& in : r->pipeline.inputs()) names.push_back(in.name);
    FeatureImportanceOptions o;
    o.repeats = 3;
    ThreadPool pool(4);
    auto one = PermutationImportance(*r->model, *x, y->y, y->classes,
                                     r->pipeline.output_sources(), names, o,
                                     "training");
    auto four = PermutationImportance(*r->model, *x, y->y, y->classes,
                                      r->pipeline.output_sources(), names, o,
                                      "training", &pool);
    ASSERT_TRUE(one.ok() && four.ok());
    for (int k = 0; k < columns; ++k) {
      EXPECT_EQ(one->columns[k].drops, four->columns[k].drops);
      EXPECT_EQ(one->columns[k].drops, r->importance->columns[k].drops);
    }
    for (int k = 0; k < columns; ++k) {
      for (int rep = 0; rep < 3; ++rep) {
        EXPECT_NEAR(r->importance->columns[k].drops[rep], direct[k][rep], 1e-9)
            << k << " " << rep;
      }
    }
  }
}

// MLPs: rows limited to the work budget (never below 200).
TEST(ImportanceTest, MlpRowsWithinTheWorkBudget) {
  Rng rng(5);
  std::vector<Column> cols;
  for (int j = 0; j < 6; ++j) {
    std::vector<double> v;
    for (int i = 0; i < 1500; ++i) v.push_back(rng.Normal());
    cols.push_back(Column::Numeric("x" + std::to_string(j), v));
  }
  std::vector<double> yv;
  for (int i = 0; i < 1500; ++i) yv.push_back(cols[0].values()[i] * 2);
  cols.push_back(Column::Numeric("y", yv));
  const Table t = MakeTable(std::move(cols));
  TrainSpec s;
  s.kind = ModelKind::kMlpRegressor;
  s.target = "y";
  s.hidden_layers = {10};
  s.epochs = 3;
  s.importance_repeats = 0;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  const int64_t params = r->model->parameters().size();
  ASSERT_EQ(params, 6 * 10 + 10 + 10 + 1);
  auto x = r->pipeline.Transform(t);
  auto y = EncodeTarget(*t.Find("y"), s.kind, {});
  ASSERT_TRUE(x.ok() && y.ok());
  const std::vector<std::string> names = {"x0", "x1", "x2", "x3", "x4", "x5"};
  FeatureImportanceOptions o;
  o.repeats = 2;
  // 6 columns x 2 repeats x 81 parameters = 972 per row: 700 rows.
  o.mlp_work_budget = 972.0 * 700 + 500;
  auto rep =
      PermutationImportance(*r->model, *x, y->y, y->classes,
                            r->pipeline.output_sources(), names, o, "training");
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->rows, 700);
  o.mlp_work_budget = 972.0 * 10;  // 10 rows: raised to 200
  rep =
      PermutationImportance(*r->model, *x, y->y, y->classes,
                            r->pipeline.output_sources(), names, o, "training");
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->rows, 200);
  o.mlp_work_budget = 0;
  EXPECT_EQ(
      PermutationImportance(*r->model, *x, y->y, y->classes,
                            r->pipeline.output_sources(), names, o, "training")
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(ImportanceTest, SampleIsSortedDistinctAndSeeded) {
  const std::vector<int64_t> all = ImportanceSample(5, 10, 1);
  EXPECT_EQ(all, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  const std::vector<int64_t> a = ImportanceSample(1000, 100, 1);
  const std::vector<int64_t> b = ImportanceSample(1000, 100, 1);
  const std::vector<int64_t> c = ImportanceSample(1000, 100, 2);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 100u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_EQ(std::adjacent_find(a.begin(), a.end()), a.end());
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 1000);
  // Permutations are permutations.
  std::vector<int64_t> p = ImportancePermutation(50, 3, 2, 1);
  std::sort(p.begin(), p.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(p[i], i);
}

// With validation rows the trainer uses them, sampled down to max_rows.
TEST(ImportanceTest, TrainerUsesSampledValidationRows) {
  const Table t = Load("diabetes.csv");
  TrainSpec s;
  s.kind = ModelKind::kLinearRegression;
  s.target = "progression";
  s.validation_fraction = 0.5;
  s.importance_repeats = 2;
  s.importance_max_rows = 100;
  auto r = Train(t, s);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->importance.has_value());
  EXPECT_EQ(r->importance->data, "validation");
  EXPECT_EQ(r->rows_validation, 221);
  EXPECT_EQ(r->importance->rows, 100);
  EXPECT_EQ(r->importance->columns.size(), 10u);
  // Same spec, same report.
  auto again = Train(t, s);
  ASSERT_TRUE(again.ok());
  for (size_t c = 0; c < 10; ++c) {
    EXPECT_EQ(r->importance->columns[c].drops,
              again->importance->columns[c].drops);
  }
}

TEST(ImportanceTest, RejectsBadOptions) {
  TrainSpec s = LinearSpec();
  s.importance_repeats = 101;
  EXPECT_THAT(std::string(ValidateTrainSpec(s).message()),
              HasSubstr("importance_repeats: must be in [0, 100]"));
  s.importance_repeats = -1;
  EXPECT_EQ(ValidateTrainSpec(s).code(), absl::StatusCode::kInvalidArgument);
  s.importance_repeats = 1;
  s.importance_max_rows = 0;
  EXPECT_THAT(std::string(ValidateTrainSpec(s).message()),
              HasSubstr("importance_max_rows: must be in [1, 1000000]"));
  FeatureImportanceOptions o;
  o.repeats = 0;
  EXPECT_THAT(std::string(ValidateImportanceOptions(o).message()),
              HasSubstr("importance repeats: must be in [1, 100], got 0"));
  o.repeats = 1;
  o.max_rows = 2000000;
  EXPECT_EQ(ValidateImportanceOptions(o).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelserver
