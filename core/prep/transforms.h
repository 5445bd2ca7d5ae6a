// File: core/prep/transforms.h
// The individual fitted transforms that the preprocessing Pipeline
// (core/prep/pipeline.h) chains, and the statistics they are fitted with.
// Each transform is fitted once on training values, is immutable afterwards,
// and is applied with the same code at training, evaluation and prediction.
//
//   NumericImputer   NaN -> a fitted fill value (mean, median, most frequent
//                    or a constant)
//   OutlierClipper   clamps to fitted bounds (training quantiles, or
//                    mean +- t * std), or does nothing
//   Scaler           (x - offset) / scale: standard, min-max or identity
//   NumericTransform the three above chained for one numeric output
//   OneHotEncoder    categorical level -> one-hot outputs, with imputation of
//                    missing values and a cap on the number of outputs
//   ExpandDate       seconds since the epoch -> year, month, day,
//                    day_of_week, hour
//
// Every transform has Encode (appends its fitted state to a ByteWriter) and
// Decode (DATA_LOSS on truncated or inconsistent bytes; never crashes).
// See docs/preprocessing.md for the byte layout.
//
// Thread-safety: fitted transforms are immutable; const methods may be
// called concurrently.
#ifndef MODELSERVER_CORE_PREP_TRANSFORMS_H_
#define MODELSERVER_CORE_PREP_TRANSFORMS_H_

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/data/table.h"
#include "core/util/bytes.h"

namespace modelserver {

// How missing values are filled. Part of the artifact format: never
// renumber.
enum class ImputeStrategy : uint8_t {
  kMean = 0,          // numeric only
  kMedian = 1,        // numeric only
  kMostFrequent = 2,  // numeric: smallest of the tied values (as sklearn);
                      // categorical: the first seen of the tied levels
  kConstant = 3,      // a given value / level
};
// How numeric outliers are handled. Part of the artifact format.
enum class OutlierMethod : uint8_t { kNone = 0, kQuantile = 1, kZScore = 2 };
// How numeric values are scaled. Part of the artifact format.
enum class ScalingMethod : uint8_t { kNone = 0, kStandard = 1, kMinMax = 2 };

// "mean", "median", "most_frequent", "constant".
absl::string_view ImputeStrategyName(ImputeStrategy s);
// "none", "quantile", "zscore".
absl::string_view OutlierMethodName(OutlierMethod m);
// "none", "standard", "minmax".
absl::string_view ScalingMethodName(ScalingMethod m);
// Inverses of the above; INVALID_ARGUMENT listing the accepted names.
absl::StatusOr<ImputeStrategy> ParseImputeStrategy(absl::string_view name);
absl::StatusOr<OutlierMethod> ParseOutlierMethod(absl::string_view name);
absl::StatusOr<ScalingMethod> ParseScalingMethod(absl::string_view name);

// Statistics (numpy conventions). REQUIRES for all: `values` non-empty and
// free of NaN.
namespace prep_stats {
double Mean(absl::Span<const double> values);
// Population standard deviation (ddof = 0), two-pass.
double PopulationStd(absl::Span<const double> values);
// The middle value; the midpoint of the two middle values for an even count.
double Median(absl::Span<const double> values);
// numpy.quantile(values, q) with the default "linear" method:
// h = q * (n - 1), result = v[floor(h)] + (h - floor(h)) * (v[floor(h)+1] -
// v[floor(h)]) on the sorted values. REQUIRES: 0 <= q <= 1.
double Quantile(absl::Span<const double> values, double q);
// The most frequent value; the smallest of the tied values.
double MostFrequent(absl::Span<const double> values);
}  // namespace prep_stats

// Fills NaN with a value fitted on the non-missing training values.
class NumericImputer {
 public:
  // `values`: the training values, NaN = missing. `fill_value` is used by
  // kConstant only. INVALID_ARGUMENT if no value is non-missing and the
  // strategy is not kConstant, or the strategy is not a valid value.
  static absl::StatusOr<NumericImputer> Fit(absl::Span<const double> values,
                                            ImputeStrategy strategy,
                                            double fill_value);
  explicit NumericImputer(double fill_value = 0.0) : fill_value_(fill_value) {}

  double fill_value() const { return fill_value_; }
  double Apply(double x) const { return std::isnan(x) ? fill_value_ : x; }

  void Encode(ByteWriter* out) const;
  // DATA_LOSS if truncated or the fill value is not finite.
  static absl::StatusOr<NumericImputer> Decode(ByteReader* in);

 private:
  double fill_value_;
};

// Clamps values to [lower, upper]; (-inf, +inf) when disabled.
class OutlierClipper {
 public:
  // `values`: non-missing training values, non-empty.
  //   kNone:     no clipping.
  //   kQuantile: [Quantile(lower_q), Quantile(upper_q)].
  //   kZScore:   [mean - t * std, mean + t * std], population std.
  // REQUIRES: 0 <= lower_q <= upper_q <= 1, t > 0 (checked by the Pipeline).
  static OutlierClipper Fit(absl::Span<const double> values,
                            OutlierMethod method, double lower_q,
                            double upper_q, double zscore_threshold);
  OutlierClipper()
      : lower_(-std::numeric_limits<double>::infinity()),
        upper_(std::numeric_limits<double>::infinity()) {}
  OutlierClipper(double lower, double upper) : lower_(lower), upper_(upper) {}

  double lower() const { return lower_; }
  double upper() const { return upper_; }
  double Apply(double x) const {
    return x < lower_ ? lower_ : (x > upper_ ? upper_ : x);
  }

  void Encode(ByteWriter* out) const;
  // DATA_LOSS if truncated, a bound is NaN or lower > upper.
  static absl::StatusOr<OutlierClipper> Decode(ByteReader* in);

 private:
  double lower_;
  double upper_;
};

// (x - offset) / scale.
class Scaler {
 public:
  // `values`: non-missing training values, non-empty.
  //   kNone:     offset 0, scale 1 (identity).
  //   kStandard: offset = mean, scale = population std; a constant column
  //              gets offset = its value and scale 1 (so it maps to 0).
  //   kMinMax:   offset = min, scale = max - min (training range -> [0, 1]);
  //              a constant column gets scale 1 (maps to 0).
  static Scaler Fit(absl::Span<const double> values, ScalingMethod method);
  Scaler() = default;
  Scaler(double offset, double scale) : offset_(offset), scale_(scale) {}

  double offset() const { return offset_; }
  double scale() const { return scale_; }
  double Apply(double x) const { return (x - offset_) / scale_; }

  void Encode(ByteWriter* out) const;
  // DATA_LOSS if truncated, a field is not finite or scale is 0.
  static absl::StatusOr<Scaler> Decode(ByteReader* in);

 private:
  double offset_ = 0.0;
  double scale_ = 1.0;
};

// Impute -> clip -> scale for one numeric output.
class NumericTransform {
 public:
  struct Options {
    ImputeStrategy impute = ImputeStrategy::kMean;
    double fill_value = 0.0;  // kConstant
    OutlierMethod outliers = OutlierMethod::kNone;
    double lower_quantile = 0.01;
    double upper_quantile = 0.99;
    double zscore_threshold = 3.0;
    ScalingMethod scaling = ScalingMethod::kStandard;
  };
  // Fits the imputer on the non-missing `values`, the clipper on the imputed
  // values and the scaler on the imputed and clipped values. Errors as
  // NumericImputer::Fit, and INVALID_ARGUMENT if a fitted statistic
  // overflows (values near the limits of double).
  static absl::StatusOr<NumericTransform> Fit(absl::Span<const double> values,
                                              const Options& options);
  NumericTransform() = default;
  NumericTransform(NumericImputer imputer, OutlierClipper clipper,
                   Scaler scaler)
      : imputer_(imputer), clipper_(clipper), scaler_(scaler) {}

  const NumericImputer& imputer() const { return imputer_; }
  const OutlierClipper& clipper() const { return clipper_; }
  const Scaler& scaler() const { return scaler_; }
  double Apply(double x) const {
    return scaler_.Apply(clipper_.Apply(imputer_.Apply(x)));
  }

  void Encode(ByteWriter* out) const;
  static absl::StatusOr<NumericTransform> Decode(ByteReader* in);

 private:
  NumericImputer imputer_;
  OutlierClipper clipper_;
  Scaler scaler_;
};

// The level that missing categorical values are imputed with.
//   kMostFrequent: the most frequent level among the non-missing rows (ties:
//                  the one seen first in row order).
//   kConstant:     `fill_value` (a level of its own, or an existing level of
//                  the same spelling).
// INVALID_ARGUMENT for kMean / kMedian, a column that is not categorical, or
// kMostFrequent on a column without any non-missing row.
absl::StatusOr<std::string> FitCategoricalFill(const Column& column,
                                               ImputeStrategy strategy,
                                               absl::string_view fill_value);

// One output per kept level, plus one shared "<other>" output when the
// column has more than `max_levels` distinct levels. Missing values are
// encoded as the fill level; a level not seen at fit gets all zeros.
class OneHotEncoder {
 public:
  static constexpr absl::string_view kOtherLevel = "<other>";

  // Counts the levels of the rows of `column` (missing rows count as
  // `fill_level`; levels of the dictionary that no row uses are ignored).
  // Levels are ordered by descending count, ties by first appearance in row
  // order. With at most `max_levels` distinct levels all are kept; otherwise
  // the first max_levels - 1 are kept and the others share "<other>".
  // With kConstant imputation the caller passes the constant as `fill_level`:
  // it is always a level (count 0 if no row is missing).
  // REQUIRES: column is categorical, max_levels >= 2.
  static OneHotEncoder Fit(const Column& column, absl::string_view fill_level,
                           int max_levels);
  // From fitted state. INVALID_ARGUMENT if a level repeats (within or
  // across `kept` and `other`) or `fill_level` is none of them.
  static absl::StatusOr<OneHotEncoder> Create(std::vector<std::string> kept,
                                              std::vector<std::string> other,
                                              std::string fill_level);
  OneHotEncoder() = default;

  // Kept levels in output order.
  const std::vector<std::string>& kept_levels() const { return kept_; }
  // Seen levels folded into "<other>"; empty when there is no "<other>".
  const std::vector<std::string>& other_levels() const { return other_; }
  const std::string& fill_level() const { return fill_level_; }
  bool has_other() const { return !other_.empty(); }
  int num_outputs() const {
    return static_cast<int>(kept_.size()) + (has_other() ? 1 : 0);
  }
  // Output index of `level`, or -1 if it was not seen at fit.
  int Slot(absl::string_view level) const;

  // Writes the one-hot encoding of every row of `column` into columns
  // [first_col, first_col + num_outputs()) of `out`, which must be zero
  // there. REQUIRES: column is categorical, out->rows() == column.size().
  void Apply(const Column& column, Eigen::MatrixXd* out, int first_col) const;

  void Encode(ByteWriter* out) const;
  // DATA_LOSS if truncated or inconsistent (as Create).
  static absl::StatusOr<OneHotEncoder> Decode(ByteReader* in);

 private:
  std::vector<std::string> kept_;
  std::vector<std::string> other_;
  std::string fill_level_;
  int fill_slot_ = -1;
  // Every seen level -> output index; built at Fit / Create / Decode.
  absl::flat_hash_map<std::string, int> slots_;
};

// Date columns expand to these parts, in this order.
inline constexpr int kNumDateParts = 5;
// "year", "month", "day", "day_of_week" (0 = Monday), "hour"
// (seconds_of_day / 3600, fractional).
const std::array<absl::string_view, kNumDateParts>& DatePartNames();
// The calendar parts (UTC) of `seconds` since the epoch; all NaN if
// `seconds` is NaN. REQUIRES: seconds is not infinite.
std::array<double, kNumDateParts> ExpandDate(double seconds);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_PREP_TRANSFORMS_H_
