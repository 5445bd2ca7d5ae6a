#include "core/prep/transforms.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/data/datetime.h"
#include "core/data/table.h"
#include "core/util/bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------
// Names.

TEST(TransformNamesTest, RoundTripAndErrors) {
  for (ImputeStrategy s :
       {ImputeStrategy::kMean, ImputeStrategy::kMedian,
        ImputeStrategy::kMostFrequent, ImputeStrategy::kConstant}) {
    EXPECT_EQ(*ParseImputeStrategy(ImputeStrategyName(s)), s);
  }
  EXPECT_EQ(ImputeStrategyName(ImputeStrategy::kMostFrequent), "most_frequent");
  EXPECT_EQ(*ParseOutlierMethod("zscore"), OutlierMethod::kZScore);
  EXPECT_EQ(*ParseOutlierMethod("quantile"), OutlierMethod::kQuantile);
  EXPECT_EQ(*ParseOutlierMethod("none"), OutlierMethod::kNone);
  EXPECT_EQ(*ParseScalingMethod("minmax"), ScalingMethod::kMinMax);
  EXPECT_EQ(*ParseScalingMethod("standard"), ScalingMethod::kStandard);
  EXPECT_EQ(*ParseScalingMethod("none"), ScalingMethod::kNone);
  EXPECT_EQ(OutlierMethodName(OutlierMethod::kZScore), "zscore");
  EXPECT_EQ(ScalingMethodName(ScalingMethod::kMinMax), "minmax");

  auto s = ParseImputeStrategy("avg");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("'avg' (expected mean, median, most_frequent or "
                        "constant)"));
  auto o = ParseOutlierMethod("iqr");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(o.status().message()),
              HasSubstr("none, quantile or zscore"));
  auto m = ParseScalingMethod("Standard");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()),
              HasSubstr("none, standard or minmax"));
}

// ---------------------------------------------------------------------------
// Statistics.

TEST(PrepStatsTest, MeanStdMedian) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_EQ(prep_stats::Mean(v), 5.0);  // 40 / 8
  // Squared deviations 9+1+1+1+0+0+4+16 = 32; 32 / 8 = 4; sqrt = 2.
  EXPECT_EQ(prep_stats::PopulationStd(v), 2.0);
  EXPECT_EQ(prep_stats::Median(std::vector<double>{3, 1, 8}), 3.0);
  // Even count: midpoint of the two middle values 3 and 4.
  EXPECT_EQ(prep_stats::Median(std::vector<double>{4, 1, 8, 3}), 3.5);
  EXPECT_EQ(prep_stats::Median(std::vector<double>{7}), 7.0);
}

TEST(PrepStatsTest, QuantileIsNumpyLinear) {
  const std::vector<double> v = {40, 0, 30, 10, 20};  // sorted 0..40, n = 5
  EXPECT_EQ(prep_stats::Quantile(v, 0.0), 0.0);
  EXPECT_EQ(prep_stats::Quantile(v, 1.0), 40.0);
  // h = 0.75 * 4 = 3 -> v[3] = 30.
  EXPECT_EQ(prep_stats::Quantile(v, 0.75), 30.0);
  // h = 0.875 * 4 = 3.5 -> 30 + 0.5 * (40 - 30) = 35.
  EXPECT_EQ(prep_stats::Quantile(v, 0.875), 35.0);
  // h = 0.1 * 4 = 0.4 -> 0 + 0.4 * (10 - 0) = 4.
  EXPECT_DOUBLE_EQ(prep_stats::Quantile(v, 0.1), 4.0);
  // n = 4 {1, 2, 4, 8}: h = 0.5 * 3 = 1.5 -> 2 + 0.5 * (4 - 2) = 3 (the
  // median); h = 0.9 * 3 = 2.7 -> 4 + 0.7 * (8 - 4) = 6.8.
  const std::vector<double> w = {8, 1, 4, 2};
  EXPECT_EQ(prep_stats::Quantile(w, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(prep_stats::Quantile(w, 0.9), 6.8);
  // One value: every quantile is that value.
  EXPECT_EQ(prep_stats::Quantile(std::vector<double>{5}, 0.3), 5.0);
}

TEST(PrepStatsTest, MostFrequentTiesTakeTheSmallest) {
  EXPECT_EQ(prep_stats::MostFrequent(std::vector<double>{3, 1, 3, 1, 2}), 1.0);
  EXPECT_EQ(prep_stats::MostFrequent(std::vector<double>{5, 2, 5, 7}), 5.0);
  EXPECT_EQ(prep_stats::MostFrequent(std::vector<double>{9}), 9.0);
}

// ---------------------------------------------------------------------------
// NumericImputer.

TEST(NumericImputerTest, EachStrategy) {
  const std::vector<double> v = {1, kNaN, 3, 8};
  // (1 + 3 + 8) / 3 = 4.
  EXPECT_EQ(NumericImputer::Fit(v, ImputeStrategy::kMean, 0)->fill_value(),
            4.0);
  EXPECT_EQ(NumericImputer::Fit(v, ImputeStrategy::kMedian, 0)->fill_value(),
            3.0);
  const std::vector<double> even = {1, kNaN, 3, 8, 10};  // median (3+8)/2
  EXPECT_EQ(NumericImputer::Fit(even, ImputeStrategy::kMedian, 0)->fill_value(),
            5.5);
  const std::vector<double> tied = {5, kNaN, 2, 5, 2, kNaN, kNaN};
  EXPECT_EQ(
      NumericImputer::Fit(tied, ImputeStrategy::kMostFrequent, 0)->fill_value(),
      2.0);
  EXPECT_EQ(NumericImputer::Fit(v, ImputeStrategy::kConstant, -7)->fill_value(),
            -7.0);

  NumericImputer imputer(4.0);
  EXPECT_EQ(imputer.Apply(kNaN), 4.0);
  EXPECT_EQ(imputer.Apply(-1.5), -1.5);
}

TEST(NumericImputerTest, AllMissingNeedsConstant) {
  const std::vector<double> v = {kNaN, kNaN};
  auto s = NumericImputer::Fit(v, ImputeStrategy::kMedian, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("median"));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("constant"));
  EXPECT_EQ(
      NumericImputer::Fit(v, ImputeStrategy::kConstant, 2.5)->fill_value(),
      2.5);
}

// ---------------------------------------------------------------------------
// OutlierClipper.

TEST(OutlierClipperTest, QuantileBounds) {
  // Sorted {0, 10, 20, 30, 40, 1000}, n = 6.
  const std::vector<double> v = {1000, 0, 10, 20, 30, 40};
  // lower: h = 0.2 * 5 = 1 -> 10.
  // upper: h = 0.9 * 5 = 4.5 -> 40 + 0.5 * (1000 - 40) = 520.
  OutlierClipper c =
      OutlierClipper::Fit(v, OutlierMethod::kQuantile, 0.2, 0.9, 3.0);
  EXPECT_DOUBLE_EQ(c.lower(), 10.0);
  EXPECT_DOUBLE_EQ(c.upper(), 520.0);
  EXPECT_DOUBLE_EQ(c.Apply(0), 10.0);
  EXPECT_EQ(c.Apply(15), 15.0);
  EXPECT_DOUBLE_EQ(c.Apply(1000), 520.0);
}

TEST(OutlierClipperTest, ZScoreBounds) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};  // mean 5, std 2
  OutlierClipper c =
      OutlierClipper::Fit(v, OutlierMethod::kZScore, 0.01, 0.99, 1.5);
  EXPECT_EQ(c.lower(), 2.0);  // 5 - 1.5 * 2
  EXPECT_EQ(c.upper(), 8.0);  // 5 + 1.5 * 2
  EXPECT_EQ(c.Apply(9), 8.0);
  EXPECT_EQ(c.Apply(-100), 2.0);
  EXPECT_EQ(c.Apply(6), 6.0);
}

TEST(OutlierClipperTest, NoneIsIdentity) {
  const std::vector<double> v = {1, 2};
  OutlierClipper c = OutlierClipper::Fit(v, OutlierMethod::kNone, 0.1, 0.9, 3);
  EXPECT_EQ(c.lower(), -kInf);
  EXPECT_EQ(c.upper(), kInf);
  EXPECT_EQ(c.Apply(1e300), 1e300);
  EXPECT_EQ(c.Apply(-1e300), -1e300);
}

// ---------------------------------------------------------------------------
// Scaler.

TEST(ScalerTest, StandardUsesPopulationStd) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  Scaler s = Scaler::Fit(v, ScalingMethod::kStandard);
  EXPECT_EQ(s.offset(), 5.0);
  EXPECT_EQ(s.scale(), 2.0);  // ddof = 0 (the sample std would be 2.138...)
  EXPECT_EQ(s.Apply(9), 2.0);
  EXPECT_EQ(s.Apply(2), -1.5);
}

TEST(ScalerTest, MinMax) {
  const std::vector<double> v = {4, 2, 10};
  Scaler s = Scaler::Fit(v, ScalingMethod::kMinMax);
  EXPECT_EQ(s.offset(), 2.0);
  EXPECT_EQ(s.scale(), 8.0);
  EXPECT_EQ(s.Apply(2), 0.0);
  EXPECT_EQ(s.Apply(10), 1.0);
  EXPECT_EQ(s.Apply(6), 0.5);
  EXPECT_EQ(s.Apply(14), 1.5);  // outside the training range: not clamped
}

TEST(ScalerTest, ConstantColumnsMapToZero) {
  // 0.1 ten times: a variance computed with rounding would not be exactly 0.
  const std::vector<double> v(10, 0.1);
  for (ScalingMethod m : {ScalingMethod::kStandard, ScalingMethod::kMinMax}) {
    Scaler s = Scaler::Fit(v, m);
    EXPECT_EQ(s.scale(), 1.0) << ScalingMethodName(m);
    EXPECT_EQ(s.Apply(0.1), 0.0) << ScalingMethodName(m);
    EXPECT_EQ(s.Apply(1.1), 1.1 - 0.1) << ScalingMethodName(m);
  }
}

TEST(ScalerTest, NoneIsIdentity) {
  const std::vector<double> v = {3, 100};
  Scaler s = Scaler::Fit(v, ScalingMethod::kNone);
  EXPECT_EQ(s.Apply(0.3), 0.3);
  EXPECT_EQ(s.Apply(-7), -7.0);
}

// ---------------------------------------------------------------------------
// NumericTransform: impute -> clip -> scale, each fitted on the previous
// step's output.

TEST(NumericTransformTest, ChainsTheSteps) {
  NumericTransform::Options o;
  o.impute = ImputeStrategy::kMedian;
  o.outliers = OutlierMethod::kQuantile;
  o.lower_quantile = 0.2;
  o.upper_quantile = 0.8;
  o.scaling = ScalingMethod::kMinMax;
  const std::vector<double> v = {0, kNaN, 10, 20, 30, 40};
  auto t = NumericTransform::Fit(v, o);
  ASSERT_TRUE(t.ok()) << t.status();
  // Median of {0, 10, 20, 30, 40} = 20.
  EXPECT_EQ(t->imputer().fill_value(), 20.0);
  // Imputed, sorted: {0, 10, 20, 20, 30, 40}; h = 0.2 * 5 = 1 -> 10;
  // h = 0.8 * 5 = 4 -> 30.
  EXPECT_EQ(t->clipper().lower(), 10.0);
  EXPECT_EQ(t->clipper().upper(), 30.0);
  // Clipped {10, 20, 10, 20, 30, 30}: min 10, range 20.
  EXPECT_EQ(t->scaler().offset(), 10.0);
  EXPECT_EQ(t->scaler().scale(), 20.0);
  EXPECT_EQ(t->Apply(kNaN), 0.5);  // (20 - 10) / 20
  EXPECT_EQ(t->Apply(-5), 0.0);    // clipped to 10
  EXPECT_EQ(t->Apply(100), 1.0);   // clipped to 30
  EXPECT_EQ(t->Apply(25), 0.75);
}

TEST(NumericTransformTest, EncodeDecode) {
  NumericTransform t(NumericImputer(1.25), OutlierClipper(-2, 3),
                     Scaler(0.5, 4));
  ByteWriter w;
  t.Encode(&w);
  EXPECT_EQ(w.data().size(), 5u * 8);
  ByteReader r(w.data());
  auto d = NumericTransform::Decode(&r);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(r.done());
  for (double x : {kNaN, -10.0, 0.0, 2.0, 7.0}) {
    EXPECT_EQ(d->Apply(x), t.Apply(x)) << x;
  }
  for (size_t n = 0; n < w.data().size(); ++n) {
    ByteReader prefix(absl::string_view(w.data()).substr(0, n));
    EXPECT_EQ(NumericTransform::Decode(&prefix).status().code(),
              absl::StatusCode::kDataLoss)
        << n;
  }
}

TEST(NumericTransformTest, DecodeRejectsInconsistentValues) {
  auto decode = [](double fill, double lo, double hi, double off,
                   double scale) {
    ByteWriter w;
    for (double d : {fill, lo, hi, off, scale}) w.WriteF64(d);
    ByteReader r(w.data());
    return NumericTransform::Decode(&r).status();
  };
  EXPECT_TRUE(decode(0, -kInf, kInf, 0, 1).ok());
  EXPECT_EQ(decode(kNaN, 0, 1, 0, 1).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(kInf, 0, 1, 0, 1).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(0, 2, 1, 0, 1).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(0, kNaN, 1, 0, 1).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(0, 0, 1, 0, 0).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(0, 0, 1, kNaN, 1).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode(0, 0, 1, 0, kInf).code(), absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------
// Categorical imputation and one-hot encoding.

Column Cat(const std::string& name, const std::vector<std::string>& values) {
  std::vector<bool> missing;
  for (const std::string& v : values) missing.push_back(v.empty());
  return Column::CategoricalFromStrings(name, values, missing);
}

TEST(FitCategoricalFillTest, MostFrequentTiesTakeTheFirstSeenRow) {
  // b and a both appear twice; b is seen first (row 0).
  EXPECT_EQ(*FitCategoricalFill(Cat("c", {"b", "a", "a", "b", "", "z"}),
                                ImputeStrategy::kMostFrequent, "missing"),
            "b");
  // First seen in row order, not in dictionary order: the dictionary says
  // {x, y} but y is in row 0.
  Column c = Column::Categorical("c", {1, 0, 0, 1, -1}, {"x", "y"});
  EXPECT_EQ(*FitCategoricalFill(c, ImputeStrategy::kMostFrequent, "m"), "y");
  // A strict majority wins.
  EXPECT_EQ(*FitCategoricalFill(Cat("c", {"p", "q", "q"}),
                                ImputeStrategy::kMostFrequent, "m"),
            "q");
  EXPECT_EQ(*FitCategoricalFill(Cat("c", {"p", "", ""}),
                                ImputeStrategy::kConstant, "unknown"),
            "unknown");
}

TEST(FitCategoricalFillTest, Errors) {
  auto mean =
      FitCategoricalFill(Cat("color", {"a"}), ImputeStrategy::kMean, "m");
  ASSERT_FALSE(mean.ok());
  EXPECT_EQ(mean.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mean.status().message()),
              HasSubstr("column 'color': impute strategy 'mean'"));
  auto empty = FitCategoricalFill(Cat("color", {"", ""}),
                                  ImputeStrategy::kMostFrequent, "m");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.status().message()),
              HasSubstr("column 'color': no non-missing value"));
  auto numeric = FitCategoricalFill(Column::Numeric("n", {1.0}),
                                    ImputeStrategy::kMostFrequent, "m");
  EXPECT_EQ(numeric.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OneHotEncoderTest, LevelsByDescendingCountThenFirstSeen) {
  // red 1 (row 0), green 3 (row 1), blue 3 (row 2).
  Column c =
      Cat("c", {"red", "green", "blue", "blue", "green", "blue", "green"});
  OneHotEncoder e = OneHotEncoder::Fit(c, "green", 10);
  EXPECT_THAT(e.kept_levels(), ElementsAre("green", "blue", "red"));
  EXPECT_FALSE(e.has_other());
  EXPECT_EQ(e.num_outputs(), 3);
  EXPECT_EQ(e.Slot("green"), 0);
  EXPECT_EQ(e.Slot("red"), 2);
  EXPECT_EQ(e.Slot("purple"), -1);
}

TEST(OneHotEncoderTest, MissingRowsCountAsTheFillLevel) {
  // a 2, b 1 + 2 missing imputed as b = 3.
  Column c = Cat("c", {"a", "", "a", "b", ""});
  OneHotEncoder e = OneHotEncoder::Fit(c, "b", 10);
  EXPECT_THAT(e.kept_levels(), ElementsAre("b", "a"));
  // Constant fill: a level of its own, counted with the missing rows
  // (2, first seen at row 1, after a).
  OneHotEncoder k = OneHotEncoder::Fit(c, "missing", 10);
  EXPECT_THAT(k.kept_levels(), ElementsAre("a", "missing", "b"));
  // ... and present even when nothing is missing, last.
  OneHotEncoder n =
      OneHotEncoder::Fit(Cat("c", {"x", "y", "y"}), "missing", 10);
  EXPECT_THAT(n.kept_levels(), ElementsAre("y", "x", "missing"));
  // A constant that is already a level merges with it.
  OneHotEncoder m = OneHotEncoder::Fit(Cat("c", {"x", "", "y"}), "y", 10);
  EXPECT_THAT(m.kept_levels(), ElementsAre("y", "x"));
}

TEST(OneHotEncoderTest, IgnoresDictionaryLevelsThatNoRowUses) {
  // "unused" is in the dictionary (as after Table::SelectRows) but in no row.
  Column c = Column::Categorical("c", {0, 2, 2}, {"p", "unused", "q"});
  OneHotEncoder e = OneHotEncoder::Fit(c, "q", 10);
  EXPECT_THAT(e.kept_levels(), ElementsAre("q", "p"));
  EXPECT_EQ(e.Slot("unused"), -1);
}

TEST(OneHotEncoderTest, CapFoldsRareLevelsIntoOther) {
  // Counts: a 4, b 3, c 2, d 1, e 1; max_levels 3 keeps a, b and folds the
  // rest.
  Column c = Cat("c", {"e", "a", "a", "b", "a", "b", "c", "a", "b", "c", "d"});
  OneHotEncoder e = OneHotEncoder::Fit(c, "a", 3);
  EXPECT_THAT(e.kept_levels(), ElementsAre("a", "b"));
  EXPECT_THAT(e.other_levels(), ElementsAre("c", "e", "d"));
  EXPECT_TRUE(e.has_other());
  EXPECT_EQ(e.num_outputs(), 3);
  EXPECT_EQ(e.Slot("c"), 2);
  EXPECT_EQ(e.Slot("d"), 2);
  EXPECT_EQ(e.Slot("zzz"), -1);
  // Exactly max_levels levels: no "<other>".
  OneHotEncoder f = OneHotEncoder::Fit(Cat("c", {"x", "y", "z"}), "x", 3);
  EXPECT_THAT(f.kept_levels(), ElementsAre("x", "y", "z"));
  EXPECT_FALSE(f.has_other());
}

TEST(OneHotEncoderTest, ApplyWritesExactRows) {
  OneHotEncoder e =
      OneHotEncoder::Fit(Cat("c", {"a", "a", "b", "c", "d"}), "a", 3);
  ASSERT_THAT(e.kept_levels(), ElementsAre("a", "b"));  // + <other>
  // Input with its own dictionary order; "new" was never seen; row 3 is
  // missing (-> a).
  Column in =
      Column::Categorical("c", {0, 1, 2, -1, 3}, {"d", "new", "b", "a"});
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(5, 5);
  e.Apply(in, &out, 1);
  Eigen::MatrixXd expected(5, 5);
  expected << 0, 0, 0, 1, 0,  // d -> <other>
      0, 0, 0, 0, 0,          // new -> all zeros
      0, 0, 1, 0, 0,          // b
      0, 1, 0, 0, 0,          // missing -> a
      0, 1, 0, 0, 0;          // a
  EXPECT_EQ(out, expected);
  // Fewer rows than dictionary levels takes the per-row path: same result.
  Column one = Column::Categorical("c", {2}, {"d", "new", "b", "a"});
  Eigen::MatrixXd row = Eigen::MatrixXd::Zero(1, 3);
  e.Apply(one, &row, 0);
  EXPECT_EQ(row, (Eigen::MatrixXd(1, 3) << 0, 1, 0).finished());
}

TEST(OneHotEncoderTest, CreateRejectsInconsistentState) {
  EXPECT_TRUE(OneHotEncoder::Create({"a", "b"}, {"c"}, "c").ok());
  EXPECT_EQ(OneHotEncoder::Create({"a", "a"}, {}, "a").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OneHotEncoder::Create({"a"}, {"a"}, "a").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto absent = OneHotEncoder::Create({"a"}, {}, "zz");
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(absent.status().message()), HasSubstr("'zz'"));
}

TEST(OneHotEncoderTest, EncodeDecode) {
  OneHotEncoder e =
      OneHotEncoder::Fit(Cat("c", {"a", "a", "b", "c", "d", ""}), "a", 3);
  ByteWriter w;
  e.Encode(&w);
  ByteReader r(w.data());
  auto d = OneHotEncoder::Decode(&r);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(r.done());
  EXPECT_EQ(d->kept_levels(), e.kept_levels());
  EXPECT_EQ(d->other_levels(), e.other_levels());
  EXPECT_EQ(d->fill_level(), "a");
  EXPECT_EQ(d->Slot("d"), 2);
  for (size_t n = 0; n < w.data().size(); ++n) {
    ByteReader prefix(absl::string_view(w.data()).substr(0, n));
    EXPECT_EQ(OneHotEncoder::Decode(&prefix).status().code(),
              absl::StatusCode::kDataLoss)
        << n;
  }
  // A fill level that is not a level is corruption.
  ByteWriter bad;
  bad.WriteString("zz");
  bad.WriteStrings({"a"});
  bad.WriteStrings({});
  ByteReader br(bad.data());
  EXPECT_EQ(OneHotEncoder::Decode(&br).status().code(),
            absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------
// Dates.

TEST(ExpandDateTest, LeapDayAfternoon) {
  const std::optional<double> t = ParseIsoDateTime("2024-02-29T13:30:00");
  ASSERT_TRUE(t.has_value());
  // 2024-02-29 was a Thursday (3 with Monday = 0).
  EXPECT_THAT(ExpandDate(*t), ElementsAre(2024, 2, 29, 3, 13.5));
  EXPECT_THAT(DatePartNames(),
              ElementsAre("year", "month", "day", "day_of_week", "hour"));
}

TEST(ExpandDateTest, BeforeTheEpochAndMissing) {
  // 1969-12-31T23:00:00Z = -3600 s, a Wednesday.
  EXPECT_THAT(ExpandDate(-3600.0), ElementsAre(1969, 12, 31, 2, 23.0));
  for (double p : ExpandDate(kNaN)) EXPECT_TRUE(std::isnan(p));
}

}  // namespace
}  // namespace modelserver
