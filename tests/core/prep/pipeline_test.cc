#include "core/prep/pipeline.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/datetime.h"
#include "core/data/table.h"
#include "core/util/bytes.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/test_tables.h"

namespace modelserver {
namespace {

using test_tables::MakeTable;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Empty strings are missing.
Column Cat(const std::string& name, const std::vector<std::string>& values) {
  std::vector<bool> missing;
  for (const std::string& v : values) missing.push_back(v.empty());
  return Column::CategoricalFromStrings(name, values, missing);
}

double Date(const char* iso) {
  std::optional<double> t = ParseIsoDateTime(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(0.0);
}

PipelineOptions Unscaled() {
  PipelineOptions o;
  o.scaling = ScalingMethod::kNone;
  return o;
}

Eigen::MatrixXd Col(std::vector<double> v) {
  return Eigen::Map<Eigen::VectorXd>(v.data(),
                                     static_cast<Eigen::Index>(v.size()));
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------
// Numeric columns.

TEST(PipelineTest, ParallelFitAndTransformEqualSerial) {
  // 40 numeric, 10 categorical and 2 date columns of 5000 rows, with missing
  // values: enough cells for the pool to split the columns.
  Rng rng(12);
  std::vector<Column> cols;
  const int n = 5000;
  for (int c = 0; c < 52; ++c) {
    const std::string name = absl::StrCat("c", c);
    if (c % 5 == 4 && c < 50) {
      std::vector<std::string> v(n);
      std::vector<bool> missing(n);
      for (int r = 0; r < n; ++r) {
        v[r] = absl::StrCat("l", rng.UniformInt(7));
        missing[r] = rng.Uniform() < 0.05;
      }
      cols.push_back(Column::CategoricalFromStrings(name, v, missing));
    } else {
      std::vector<double> v(n);
      for (int r = 0; r < n; ++r) {
        v[r] = rng.Uniform() < 0.05 ? std::nan("")
                                    : (c >= 50 ? 1.6e9 + 1e7 * rng.Uniform()
                                               : rng.Normal() * c);
      }
      cols.push_back(c >= 50 ? Column::Date(name, v) : Column::Numeric(name, v));
    }
  }
  Table t = MakeTable(std::move(cols));
  std::vector<std::string> features = t.column_names();
  auto serial = Pipeline::Fit(t, features, PipelineOptions());
  ASSERT_TRUE(serial.ok()) << serial.status();
  ThreadPool pool(3);
  auto parallel = Pipeline::Fit(t, features, PipelineOptions(), &pool);
  ASSERT_TRUE(parallel.ok()) << parallel.status();
  ByteWriter a, b;
  serial->Encode(&a);
  parallel->Encode(&b);
  EXPECT_EQ(a.data(), b.data());  // the same fitted statistics, bit for bit
  auto xs = serial->Transform(t);
  auto xp = parallel->Transform(t, &pool);
  ASSERT_TRUE(xs.ok() && xp.ok());
  EXPECT_EQ(*xs, *xp);

  // An infinite value in two columns: the first in feature order is named.
  std::vector<Column> bad;
  for (const char* name : {"a", "b", "c"}) {
    std::vector<double> v(n, 1.0);
    v[0] = 2.0;
    if (name[0] != 'a') v[10] = INFINITY;
    bad.push_back(Column::Numeric(name, v));
  }
  Table tb = MakeTable(std::move(bad));
  auto fit = Pipeline::Fit(tb, {"a", "b", "c"}, PipelineOptions(), &pool);
  EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(fit.status().message(), HasSubstr("'b'"));
}

TEST(PipelineTest, NumericImputeStrategies) {
  Table t = MakeTable({Column::Numeric("x", {1, kNaN, 3, 8})});
  struct Case {
    ImputeStrategy strategy;
    double fill;
  };
  // mean (1+3+8)/3 = 4; median of {1,3,8} = 3; most frequent with all tied:
  // the smallest, 1; constant: numeric_fill_value.
  for (const Case& c :
       {Case{ImputeStrategy::kMean, 4}, Case{ImputeStrategy::kMedian, 3},
        Case{ImputeStrategy::kMostFrequent, 1},
        Case{ImputeStrategy::kConstant, -2.5}}) {
    PipelineOptions o = Unscaled();
    o.numeric_impute = c.strategy;
    o.numeric_fill_value = -2.5;
    auto p = Pipeline::Fit(t, {"x"}, o);
    ASSERT_TRUE(p.ok()) << p.status();
    auto m = p->Transform(t);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(*m, Col({1, c.fill, 3, 8})) << ImputeStrategyName(c.strategy);
  }
}

TEST(PipelineTest, MedianOfEvenCountAndPerColumnOverride) {
  Table t = MakeTable({Column::Numeric("a", {1, kNaN, 3, 8, 10}),
                       Column::Numeric("b", {1, kNaN, 3, 8, 10})});
  PipelineOptions o = Unscaled();
  o.column_impute["b"] = ImputeStrategy::kMedian;
  auto p = Pipeline::Fit(t, {"a", "b"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)(1, 0), 5.5);  // mean (1+3+8+10)/4
  EXPECT_EQ((*m)(1, 1), 5.5);  // median (3+8)/2
  Table u =
      MakeTable({Column::Numeric("a", {kNaN}), Column::Numeric("b", {kNaN})});
  // Distinguish the two: on {1, 2, 3, 10} mean 4 and median 2.5.
  Table v = MakeTable({Column::Numeric("a", {1, 2, 3, 10}),
                       Column::Numeric("b", {1, 2, 3, 10})});
  p = Pipeline::Fit(v, {"a", "b"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p->Transform(u), (Eigen::MatrixXd(1, 2) << 4, 2.5).finished());
}

TEST(PipelineTest, StandardScalingExact) {
  Table t = MakeTable({Column::Numeric("x", {2, 4, 4, 4, 5, 5, 7, 9}),
                       Column::Numeric("k", {3, 3, 3, 3, 3, 3, 3, 3})});
  auto p = Pipeline::Fit(t, {"x", "k"}, PipelineOptions{});
  ASSERT_TRUE(p.ok()) << p.status();
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  // mean 5, population std 2.
  EXPECT_EQ(m->col(0), Col({-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2}));
  // Zero variance: scale 1, every training value maps to 0.
  EXPECT_EQ(m->col(1), Col({0, 0, 0, 0, 0, 0, 0, 0}));
  Table u = MakeTable({Column::Numeric("x", {11}), Column::Numeric("k", {5})});
  EXPECT_EQ(*p->Transform(u), (Eigen::MatrixXd(1, 2) << 3, 2).finished());
}

TEST(PipelineTest, MinMaxScalingExact) {
  Table t = MakeTable({Column::Numeric("x", {4, 2, 10, kNaN}),
                       Column::Numeric("k", {7, 7, 7, 7})});
  PipelineOptions o;
  o.scaling = ScalingMethod::kMinMax;
  o.numeric_impute = ImputeStrategy::kConstant;
  o.numeric_fill_value = 6;
  auto p = Pipeline::Fit(t, {"x", "k"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  // min 2, max 10 (the fill value 6 is inside).
  EXPECT_EQ(m->col(0), Col({0.25, 0, 1, 0.5}));
  EXPECT_EQ(m->col(1), Col({0, 0, 0, 0}));
}

TEST(PipelineTest, QuantileClipping) {
  // Sorted {0, 10, 20, 30, 40, 1000}, n = 6.
  // lower_quantile 0.2: h = 0.2 * 5 = 1 -> 10.
  // upper_quantile 0.9: h = 0.9 * 5 = 4.5 -> 40 + 0.5 * (1000 - 40) = 520.
  Table t = MakeTable({Column::Numeric("x", {1000, 0, 10, 20, 30, 40})});
  PipelineOptions o = Unscaled();
  o.outliers = OutlierMethod::kQuantile;
  o.lower_quantile = 0.2;
  o.upper_quantile = 0.9;
  auto p = Pipeline::Fit(t, {"x"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  const Eigen::VectorXd x = m->col(0);
  EXPECT_DOUBLE_EQ(x[0], 520.0);
  EXPECT_DOUBLE_EQ(x[1], 10.0);
  EXPECT_EQ(x[2], 10.0);
  EXPECT_EQ(x[3], 20.0);
  EXPECT_EQ(x[5], 40.0);
}

TEST(PipelineTest, ClippingIsFittedAfterImputationAndBeforeScaling) {
  // Imputed with the mean 5 -> {2, 4, 4, 4, 5, 5, 7, 9, 5}: mean 5,
  // squared deviations sum 32, population std sqrt(32/9) = 1.8856...;
  // z = 1 clips to 5 +- 1.8856 -> [3.1144, 6.8856].
  Table t = MakeTable({Column::Numeric("x", {2, 4, 4, 4, 5, 5, 7, 9, kNaN})});
  PipelineOptions o = Unscaled();
  o.outliers = OutlierMethod::kZScore;
  o.zscore_threshold = 1.0;
  auto p = Pipeline::Fit(t, {"x"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  const double sd = std::sqrt(32.0 / 9.0);
  const OutlierClipper& c = p->numeric_transforms(0)[0].clipper();
  EXPECT_DOUBLE_EQ(c.lower(), 5 - sd);
  EXPECT_DOUBLE_EQ(c.upper(), 5 + sd);
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_DOUBLE_EQ((*m)(0, 0), 5 - sd);
  EXPECT_EQ((*m)(1, 0), 4.0);
  EXPECT_DOUBLE_EQ((*m)(7, 0), 5 + sd);
  EXPECT_EQ((*m)(8, 0), 5.0);

  // With min-max scaling, the scaler sees the clipped values: the clip
  // bounds map to exactly 0 and 1.
  o.scaling = ScalingMethod::kMinMax;
  p = Pipeline::Fit(t, {"x"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)(0, 0), 0.0);
  EXPECT_EQ((*m)(7, 0), 1.0);
  EXPECT_DOUBLE_EQ((*m)(8, 0), 0.5);
}

TEST(PipelineTest, ZScoreClippingThree) {
  // 20 zeros and one 100: mean 100/21 = 4.76190;
  // var = (20 * (100/21)^2 + (2000/21)^2) / 21 = 200000 / 441,
  // std = sqrt(200000) / 21 = 21.29589; t = 3: upper bound
  // 4.76190 + 63.88766 = 68.64956, lower bound -59.13 (0 stays).
  std::vector<double> v(20, 0.0);
  v.push_back(100.0);
  Table t = MakeTable({Column::Numeric("x", v)});
  PipelineOptions o = Unscaled();
  o.outliers = OutlierMethod::kZScore;
  auto p = Pipeline::Fit(t, {"x"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  const double mean = 100.0 / 21.0;
  const double upper = mean + 3.0 * std::sqrt(20.0) * 100.0 / 21.0;
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)(0, 0), 0.0);  // inside [mean - 3 sd, mean + 3 sd]
  EXPECT_NEAR((*m)(20, 0), upper, 1e-12);
  EXPECT_NEAR(upper, 68.64956, 1e-5);
}

// ---------------------------------------------------------------------------
// Categorical columns.

TEST(PipelineTest, OneHotExactMatrix) {
  // red 1, green 3 (first row 1), blue 3 (first row 2), one missing -> the
  // most frequent, ties by first row: green (now 4).
  Table t = MakeTable({Cat("color", {"red", "green", "blue", "blue", "",
                                     "green", "blue", "green"}),
                       Column::Numeric("x", {1, 1, 1, 1, 1, 1, 1, 1})});
  auto p = Pipeline::Fit(t, {"color", "x"}, Unscaled());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->output_names(),
              ElementsAre("color=green", "color=blue", "color=red", "x"));
  EXPECT_THAT(p->output_sources(), ElementsAre(0, 0, 0, 1));
  EXPECT_EQ(p->num_outputs(), 4);
  ASSERT_EQ(p->inputs().size(), 2u);
  EXPECT_EQ(p->inputs()[0].name, "color");
  EXPECT_EQ(p->inputs()[0].type, ColumnType::kCategorical);

  // Another table: own dictionary, an unseen "purple", a missing value, and
  // the columns in another order plus an extra column.
  Table u = MakeTable({Column::Numeric("x", {2, 3, 4, 5}),
                       Cat("extra", {"q", "q", "q", "q"}),
                       Cat("color", {"purple", "red", "", "blue"})});
  auto m = p->Transform(u);
  ASSERT_TRUE(m.ok()) << m.status();
  Eigen::MatrixXd expected(4, 4);
  expected << 0, 0, 0, 2,  // purple: unseen -> all zeros
      0, 0, 1, 3,          // red
      1, 0, 0, 4,          // missing -> green
      0, 1, 0, 5;          // blue
  EXPECT_EQ(*m, expected);
}

TEST(PipelineTest, CategoricalConstantImputeIsALevel) {
  Table t = MakeTable({Cat("c", {"a", "", "a", "b", ""})});
  PipelineOptions o;
  o.categorical_impute = ImputeStrategy::kConstant;
  o.categorical_fill_value = "n/a";
  auto p = Pipeline::Fit(t, {"c"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  // a 2 (row 0), n/a 2 (row 1), b 1.
  EXPECT_THAT(p->output_names(), ElementsAre("c=a", "c=n/a", "c=b"));
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  Eigen::MatrixXd expected(5, 3);
  expected << 1, 0, 0,  //
      0, 1, 0,          //
      1, 0, 0,          //
      0, 0, 1,          //
      0, 1, 0;
  EXPECT_EQ(*m, expected);  // one-hot outputs are not scaled

  // Nothing missing at fit: the constant is still an output, so a missing
  // value at prediction has somewhere to go.
  Table full = MakeTable({Cat("c", {"a", "b", "b"})});
  p = Pipeline::Fit(full, {"c"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->output_names(), ElementsAre("c=b", "c=a", "c=n/a"));
  Table one = MakeTable({Cat("c", {""})});
  EXPECT_EQ(*p->Transform(one), (Eigen::MatrixXd(1, 3) << 0, 0, 1).finished());

  // An all-missing column is allowed with the constant strategy.
  Table none = MakeTable({Cat("c", {"", ""})});
  p = Pipeline::Fit(none, {"c"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->output_names(), ElementsAre("c=n/a"));
}

TEST(PipelineTest, LevelCapSharesOther) {
  // a 4, b 3, c 2, e 1 (row 0), d 1 (row 10).
  Table t = MakeTable(
      {Cat("c", {"e", "a", "a", "b", "a", "b", "c", "a", "b", "c", "d"})});
  PipelineOptions o;
  o.max_levels = 3;
  auto p = Pipeline::Fit(t, {"c"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->output_names(), ElementsAre("c=a", "c=b", "c=<other>"));
  EXPECT_THAT(p->output_sources(), ElementsAre(0, 0, 0));
  Table u = MakeTable({Cat("c", {"d", "b", "zzz", "a", "e", ""})});
  auto m = p->Transform(u);
  ASSERT_TRUE(m.ok()) << m.status();
  Eigen::MatrixXd expected(6, 3);
  expected << 0, 0, 1,  // d: seen, folded
      0, 1, 0,          // b
      0, 0, 0,          // zzz: unseen -> zeros, not <other>
      1, 0, 0,          // a
      0, 0, 1,          // e: folded
      1, 0, 0;          // missing -> a
  EXPECT_EQ(*m, expected);

  // Ties at the cut are decided by first appearance: x, y, z once each, cap
  // 3 with 4 levels keeps the first two seen.
  Table ties = MakeTable({Cat("c", {"z", "y", "x", "w"})});
  p = Pipeline::Fit(ties, {"c"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->output_names(), ElementsAre("c=z", "c=y", "c=<other>"));
}

// ---------------------------------------------------------------------------
// Date columns.

TEST(PipelineTest, DateExpansionExactParts) {
  Table t = MakeTable({Column::Date(
      "when", {Date("2024-02-29T13:30:00"), Date("2023-01-02"), kNaN})});
  auto p = Pipeline::Fit(t, {"when"}, Unscaled());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->output_names(),
              ElementsAre("when.year", "when.month", "when.day",
                          "when.day_of_week", "when.hour"));
  EXPECT_THAT(p->output_sources(), ElementsAre(0, 0, 0, 0, 0));
  auto m = p->Transform(t);
  ASSERT_TRUE(m.ok()) << m.status();
  Eigen::MatrixXd expected(3, 5);
  expected << 2024, 2, 29, 3, 13.5,  // Thursday
      2023, 1, 2, 0, 0,              // Monday, midnight
      // Missing: every part imputed with its own mean.
      2023.5, 1.5, 15.5, 1.5, 6.75;
  EXPECT_EQ(*m, expected);
}

TEST(PipelineTest, DatePartsAreScaledSeparately) {
  Table t = MakeTable({Column::Date(
      "d", {Date("2020-01-01T00:00:00"), Date("2022-03-03T12:00:00")})});
  PipelineOptions o;
  o.scaling = ScalingMethod::kMinMax;
  auto p = Pipeline::Fit(t, {"d"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  // 2020-01-01 Wednesday (2), 2022-03-03 Thursday (3).
  Table u = MakeTable({Column::Date("d", {Date("2021-02-02T06:00:00")})});
  auto m = p->Transform(u);
  ASSERT_TRUE(m.ok()) << m.status();
  // year (2021-2020)/2, month (2-1)/2, day (2-1)/2, dow Tuesday (1-2)/1,
  // hour 6/12.
  EXPECT_EQ(*m, (Eigen::MatrixXd(1, 5) << 0.5, 0.5, 0.5, -1, 0.5).finished());
}

// ---------------------------------------------------------------------------
// Fit on training rows only.

TEST(PipelineTest, UsesOnlyTheTrainingStatistics) {
  Table all = MakeTable({Column::Numeric("x", {1, 3, kNaN, 100, 200}),
                         Cat("c", {"a", "b", "a", "only_in_validation", "b"})});
  Table train = all.SelectRows({0, 1, 2});
  Table valid = all.SelectRows({3, 4});
  PipelineOptions o;
  auto p = Pipeline::Fit(train, {"x", "c"}, o);
  ASSERT_TRUE(p.ok()) << p.status();
  // Training x {1, 3} (+ missing -> 2): mean 2, std sqrt(2/3).
  // The validation level exists in the dictionary but in no training row.
  EXPECT_THAT(p->output_names(), ElementsAre("x", "c=a", "c=b"));
  auto m = p->Transform(valid);
  ASSERT_TRUE(m.ok()) << m.status();
  const double sd = std::sqrt(2.0 / 3.0);
  EXPECT_DOUBLE_EQ((*m)(0, 0), (100 - 2) / sd);
  EXPECT_DOUBLE_EQ((*m)(1, 0), (200 - 2) / sd);
  EXPECT_EQ(m->block(0, 1, 2, 2),
            (Eigen::MatrixXd(2, 2) << 0, 0, 0, 1).finished());
  // Missing in validation: the training mean, scaled -> 0.
  Table miss = MakeTable({Column::Numeric("x", {kNaN}), Cat("c", {"a"})});
  EXPECT_EQ((*p->Transform(miss))(0, 0), 0.0);
}

// ---------------------------------------------------------------------------
// Errors.

void ExpectInvalid(const absl::Status& s, const std::string& substring) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(Message(s), HasSubstr(substring));
}

TEST(PipelineTest, FitErrors) {
  Table t =
      MakeTable({Column::Numeric("x", {1, 2}), Cat("c", {"a", "b"}),
                 Column::Numeric("empty", {kNaN, kNaN}), Cat("nocat", {"", ""}),
                 Column::Date("nodate", {kNaN, kNaN})});
  PipelineOptions o;
  ExpectInvalid(Pipeline::Fit(t, {"x", "age"}, o).status(), "'age'");
  ExpectInvalid(Pipeline::Fit(t, {"x", "c", "x"}, o).status(),
                "'x' is listed twice");
  ExpectInvalid(Pipeline::Fit(t, {}, o).status(), "no feature");
  ExpectInvalid(Pipeline::Fit(t.SelectRows({}), {"x"}, o).status(),
                "zero training rows");
  ExpectInvalid(Pipeline::Fit(t, {"x", "empty"}, o).status(),
                "column 'empty': no non-missing value");
  ExpectInvalid(Pipeline::Fit(t, {"nocat"}, o).status(),
                "column 'nocat': no non-missing value");
  ExpectInvalid(Pipeline::Fit(t, {"nodate"}, o).status(),
                "column 'nodate': no non-missing value");

  PipelineOptions constant;
  constant.numeric_impute = ImputeStrategy::kConstant;
  constant.categorical_impute = ImputeStrategy::kConstant;
  EXPECT_TRUE(Pipeline::Fit(t, {"empty", "nocat", "nodate"}, constant).ok());
  // Per-column constant only for the empty column.
  PipelineOptions per_column;
  per_column.column_impute["empty"] = ImputeStrategy::kConstant;
  EXPECT_TRUE(Pipeline::Fit(t, {"x", "empty"}, per_column).ok());

  PipelineOptions bad_override;
  bad_override.column_impute["c"] = ImputeStrategy::kMedian;
  ExpectInvalid(Pipeline::Fit(t, {"x", "c"}, bad_override).status(),
                "column 'c': impute strategy 'median'");
  PipelineOptions unknown_override;
  unknown_override.column_impute["typo"] = ImputeStrategy::kMedian;
  ExpectInvalid(Pipeline::Fit(t, {"x"}, unknown_override).status(),
                "column_impute: column 'typo'");

  Table inf = MakeTable(
      {Column::Numeric("v", {1, std::numeric_limits<double>::infinity()})});
  ExpectInvalid(Pipeline::Fit(inf, {"v"}, o).status(), "column 'v' row 1");
}

TEST(PipelineTest, OverflowingStatisticsAreRejected) {
  // The sum overflows: the mean is not finite.
  Table t = MakeTable({Column::Numeric("huge", {1e308, 1e308, 1.0})});
  ExpectInvalid(Pipeline::Fit(t, {"huge"}, PipelineOptions{}).status(),
                "column 'huge': values too large");
  // Without any statistic beyond the values themselves it is fine.
  PipelineOptions o = Unscaled();
  o.numeric_impute = ImputeStrategy::kMedian;
  EXPECT_TRUE(Pipeline::Fit(t, {"huge"}, o).ok());
}

TEST(PipelineTest, RepeatedDictionarySpellingsAreOneLevel) {
  // A dictionary that spells "a" twice: both codes are the level "a" (3
  // rows), which is then the most frequent; the encoding survives a round
  // trip.
  Table t =
      MakeTable({Column::Categorical("c", {0, 1, 1, 2, -1}, {"a", "b", "a"})});
  auto p = Pipeline::Fit(t, {"c"}, PipelineOptions{});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->output_names(), ElementsAre("c=a", "c=b"));
  EXPECT_EQ(p->one_hot_encoder(0).fill_level(), "a");
  ByteWriter w;
  p->Encode(&w);
  ByteReader r(w.data());
  auto d = Pipeline::Decode(&r);
  ASSERT_TRUE(d.ok()) << d.status();
  Eigen::MatrixXd expected(5, 2);
  expected << 1, 0, 0, 1, 0, 1, 1, 0, 1, 0;
  EXPECT_EQ(*d->Transform(t), expected);
}

TEST(PipelineTest, InvalidOptionsAreNamed) {
  Table t = MakeTable({Column::Numeric("x", {1, 2})});
  auto check = [&](void (*mutate)(PipelineOptions*), const char* field) {
    PipelineOptions o;
    mutate(&o);
    ExpectInvalid(Pipeline::Fit(t, {"x"}, o).status(), field);
    ExpectInvalid(ValidatePipelineOptions(o), field);
  };
  check(
      [](PipelineOptions* o) { o->categorical_impute = ImputeStrategy::kMean; },
      "categorical_impute");
  check(
      [](PipelineOptions* o) {
        o->numeric_impute = static_cast<ImputeStrategy>(9);
      },
      "numeric_impute");
  check([](PipelineOptions* o) { o->numeric_fill_value = kNaN; },
        "numeric_fill_value");
  check([](PipelineOptions* o) { o->lower_quantile = -0.1; }, "lower_quantile");
  check([](PipelineOptions* o) { o->upper_quantile = 1.5; }, "upper_quantile");
  check([](PipelineOptions* o) { o->upper_quantile = kNaN; }, "upper_quantile");
  check(
      [](PipelineOptions* o) {
        o->lower_quantile = 0.6;
        o->upper_quantile = 0.4;
      },
      "must not exceed upper_quantile");
  check([](PipelineOptions* o) { o->zscore_threshold = 0; },
        "zscore_threshold");
  check([](PipelineOptions* o) { o->max_levels = 1; }, "max_levels");
  check([](PipelineOptions* o) { o->scaling = static_cast<ScalingMethod>(3); },
        "scaling");
  check([](PipelineOptions* o) { o->outliers = static_cast<OutlierMethod>(3); },
        "outliers");
  check(
      [](PipelineOptions* o) {
        o->column_impute["x"] = static_cast<ImputeStrategy>(4);
      },
      "column_impute['x']");
  EXPECT_TRUE(ValidatePipelineOptions(PipelineOptions{}).ok());
}

TEST(PipelineTest, TransformErrors) {
  Table t = MakeTable({Column::Numeric("x", {1, 2}), Cat("c", {"a", "b"}),
                       Column::Date("d", {0, 86400})});
  auto p = Pipeline::Fit(t, {"x", "c", "d"}, PipelineOptions{});
  ASSERT_TRUE(p.ok()) << p.status();

  Table no_c = MakeTable({Column::Numeric("x", {1}), Column::Date("d", {0})});
  ExpectInvalid(p->Transform(no_c).status(), "required column 'c' is absent");
  Table only_x = MakeTable({Column::Numeric("x", {1})});
  ExpectInvalid(p->Transform(only_x).status(),
                "required columns 'c', 'd' are absent");

  Table wrong = MakeTable({Column::Numeric("x", {1}), Column::Numeric("c", {1}),
                           Column::Date("d", {0})});
  ExpectInvalid(p->Transform(wrong).status(),
                "column 'c': expected categorical, got numeric");
  Table wrong_date = MakeTable(
      {Column::Numeric("x", {1}), Cat("c", {"a"}), Column::Numeric("d", {0})});
  ExpectInvalid(p->Transform(wrong_date).status(),
                "column 'd': expected date, got numeric");
  Table inf = MakeTable(
      {Column::Numeric("x", {1, -std::numeric_limits<double>::infinity()}),
       Cat("c", {"a", "a"}), Column::Date("d", {0, 0})});
  ExpectInvalid(p->Transform(inf).status(), "column 'x' row 1: value -inf");

  // Zero rows is fine.
  auto empty = p->Transform(t.SelectRows({}));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->rows(), 0);
  EXPECT_EQ(empty->cols(), p->num_outputs());
}

// ---------------------------------------------------------------------------
// Encode / Decode.

// A pipeline with every kind of column and non-default options.
Table MixedTable() {
  return MakeTable(
      {Column::Numeric("age", {31, kNaN, 45, 22, 60, 38, 51, 29}),
       Cat("color",
           {"red", "blue", "", "green", "red", "violet", "red", "blue"}),
       Column::Date("when", {Date("2024-02-29T13:30:00"), Date("2023-07-01"),
                             kNaN, Date("2022-12-31T23:59:59"),
                             Date("2021-06-15T08:00:00"), Date("2020-01-01"),
                             Date("2024-11-11T11:11:11"), Date("2019-05-05")}),
       Column::Numeric("income", {1e4, 2.5e4, 3e4, kNaN, 1e6, 4e4, 5e4, 6e4}),
       Cat("city", {"x", "y", "x", "z", "", "y", "x", "w"})});
}

PipelineOptions MixedOptions() {
  PipelineOptions o;
  o.numeric_impute = ImputeStrategy::kMedian;
  o.categorical_impute = ImputeStrategy::kConstant;
  o.categorical_fill_value = "?";
  o.numeric_fill_value = -1;
  o.column_impute["income"] = ImputeStrategy::kConstant;
  o.column_impute["city"] = ImputeStrategy::kMostFrequent;
  o.outliers = OutlierMethod::kQuantile;
  o.lower_quantile = 0.05;
  o.upper_quantile = 0.9;
  o.scaling = ScalingMethod::kStandard;
  o.max_levels = 3;
  return o;
}

TEST(PipelineCodecTest, RoundTripIsBitIdentical) {
  Table t = MixedTable();
  auto p = Pipeline::Fit(t, {"age", "color", "when", "income", "city"},
                         MixedOptions());
  ASSERT_TRUE(p.ok()) << p.status();
  ByteWriter w;
  p->Encode(&w);
  w.WriteU8(0x7f);  // what follows in the artifact is left unread
  ByteReader r(w.data());
  auto d = Pipeline::Decode(&r);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(r.remaining(), 1u);

  EXPECT_EQ(d->output_names(), p->output_names());
  EXPECT_EQ(d->output_sources(), p->output_sources());
  ASSERT_EQ(d->inputs().size(), p->inputs().size());
  for (size_t i = 0; i < p->inputs().size(); ++i) {
    EXPECT_EQ(d->inputs()[i].name, p->inputs()[i].name);
    EXPECT_EQ(d->inputs()[i].type, p->inputs()[i].type);
  }
  EXPECT_EQ(d->options().column_impute, p->options().column_impute);
  EXPECT_EQ(d->options().categorical_fill_value, "?");
  EXPECT_EQ(d->options().max_levels, 3);

  auto a = p->Transform(t);
  auto b = d->Transform(t);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->rows(), b->rows());
  ASSERT_EQ(a->cols(), b->cols());
  EXPECT_EQ(std::memcmp(a->data(), b->data(), sizeof(double) * a->size()), 0);

  // Re-encoding gives the same bytes.
  ByteWriter w2;
  d->Encode(&w2);
  EXPECT_EQ(w2.data(), w.data().substr(0, w.data().size() - 1));
}

TEST(PipelineCodecTest, EveryTruncationIsDataLoss) {
  auto p = Pipeline::Fit(
      MixedTable(), {"age", "color", "when", "income", "city"}, MixedOptions());
  ASSERT_TRUE(p.ok()) << p.status();
  ByteWriter w;
  p->Encode(&w);
  const absl::string_view bytes = w.data();
  for (size_t n = 0; n < bytes.size(); ++n) {
    ByteReader r(bytes.substr(0, n));
    auto d = Pipeline::Decode(&r);
    ASSERT_FALSE(d.ok()) << "prefix " << n;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss)
        << "prefix " << n << ": " << d.status();
  }
}

TEST(PipelineCodecTest, CorruptedBytesNeverCrash) {
  Table t = MixedTable();
  auto p = Pipeline::Fit(t, {"age", "color", "when", "income", "city"},
                         MixedOptions());
  ASSERT_TRUE(p.ok()) << p.status();
  ByteWriter w;
  p->Encode(&w);
  const std::string bytes = w.data();
  int rejected = 0, accepted = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ x);
      ByteReader r(bad);
      auto d = Pipeline::Decode(&r);
      if (!d.ok()) {
        EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss)
            << "byte " << i << ": " << d.status();
        ++rejected;
        continue;
      }
      ++accepted;  // e.g. a changed double: still a usable pipeline
      auto m = d->Transform(t);
      if (m.ok()) {
        EXPECT_EQ(m->cols(), d->num_outputs());
      }
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);
  // Random garbage.
  Rng rng(7);
  for (int k = 0; k < 2000; ++k) {
    std::string garbage(rng.UniformInt(200), '\0');
    for (char& c : garbage) c = static_cast<char>(rng.UniformInt(256));
    // Keep the version valid half of the time to reach deeper fields.
    if (k % 2 == 0 && garbage.size() >= 4) garbage.replace(0, 4, bytes, 0, 4);
    ByteReader r(garbage);
    auto d = Pipeline::Decode(&r);
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss);
    }
  }
}

TEST(PipelineCodecTest, SpecificCorruptionsAreNamed) {
  Table t = MakeTable({Column::Numeric("x", {1, 2}), Cat("c", {"a", "b"})});
  auto p = Pipeline::Fit(t, {"x", "c"}, PipelineOptions{});
  ASSERT_TRUE(p.ok()) << p.status();
  ByteWriter w;
  p->Encode(&w);
  std::string bytes = w.data();

  std::string version = bytes;
  version[0] = 2;
  ByteReader r1(version);
  auto d1 = Pipeline::Decode(&r1);
  EXPECT_EQ(d1.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(d1.status()), HasSubstr("version 2"));

  // The first input's type byte follows: version 4, 2 strategies, fill 8,
  // categorical fill 8 + 7 ("missing"), override count 8, outliers 1,
  // quantiles 16, z 8, scaling 1, max_levels 4, input count 8, name 8 + 1.
  const size_t type_at = 4 + 2 + 8 + 15 + 8 + 1 + 16 + 8 + 1 + 4 + 8 + 9;
  ASSERT_EQ(bytes[type_at], static_cast<char>(ColumnType::kNumeric));
  std::string type = bytes;
  type[type_at] = 9;
  ByteReader r2(type);
  auto d2 = Pipeline::Decode(&r2);
  EXPECT_EQ(d2.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(d2.status()), HasSubstr("column 'x'"));

  // max_levels of 1 is an invalid option: corruption, not a user error.
  std::string levels = bytes;
  levels[4 + 2 + 8 + 15 + 8 + 1 + 16 + 8 + 1] = 1;
  ByteReader r3(levels);
  auto d3 = Pipeline::Decode(&r3);
  EXPECT_EQ(d3.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Message(d3.status()), HasSubstr("max_levels"));
}

// ---------------------------------------------------------------------------
// Speed of a single-row Transform (reported, not asserted).

TEST(PipelineSpeedTest, SingleRowTransform) {
  const int n = 200;
  Rng rng(1);
  std::vector<Column> cols;
  std::vector<std::string> features;
  for (int k = 0; k < 5; ++k) {
    std::vector<double> v(n);
    for (double& x : v) x = rng.Normal();
    features.push_back("num" + std::to_string(k));
    cols.push_back(Column::Numeric(features.back(), v));
  }
  for (int k = 0; k < 3; ++k) {
    std::vector<std::string> v(n);
    for (std::string& s : v) s = "level" + std::to_string(rng.UniformInt(20));
    features.push_back("cat" + std::to_string(k));
    cols.push_back(Column::CategoricalFromStrings(features.back(), v));
  }
  for (int k = 0; k < 2; ++k) {
    std::vector<double> v(n);
    for (double& x : v) x = 1.6e9 + rng.Uniform() * 1e8;
    features.push_back("date" + std::to_string(k));
    cols.push_back(Column::Date(features.back(), v));
  }
  Table train = MakeTable(std::move(cols));
  auto p = Pipeline::Fit(train, features, PipelineOptions{});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->num_outputs(), 5 + 3 * 20 + 2 * 5);

  // A one-row request table, built the way a prediction request is.
  Table row = MakeTable(
      {Column::Numeric("num0", {0.1}), Column::Numeric("num1", {kNaN}),
       Column::Numeric("num2", {1.5}), Column::Numeric("num3", {-2}),
       Column::Numeric("num4", {0}), Cat("cat0", {"level3"}),
       Cat("cat1", {"unseen"}), Cat("cat2", {""}),
       Column::Date("date0", {1.65e9}), Column::Date("date1", {kNaN})});
  const int iters = 20000;
  int ok = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) {
    auto m = p->Transform(row);
    ok += m.ok() && m->cols() == p->num_outputs();
  }
  const double us = std::chrono::duration<double, std::micro>(
                        std::chrono::steady_clock::now() - start)
                        .count() /
                    iters;
  EXPECT_EQ(ok, iters);
  std::cout << "[ timing ] single-row Transform, 10 columns -> "
            << p->num_outputs() << " outputs: " << us << " us/call\n";
  RecordProperty("single_row_transform_us", std::to_string(us));
}

}  // namespace
}  // namespace modelserver
