#include "core/prep/transforms.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/data/datetime.h"
#include "core/util/status_macros.h"

namespace modelserver {

absl::string_view ImputeStrategyName(ImputeStrategy s) {
  switch (s) {
    case ImputeStrategy::kMean:
      return "mean";
    case ImputeStrategy::kMedian:
      return "median";
    case ImputeStrategy::kMostFrequent:
      return "most_frequent";
    case ImputeStrategy::kConstant:
      return "constant";
  }
  return "unknown";
}

absl::string_view OutlierMethodName(OutlierMethod m) {
  switch (m) {
    case OutlierMethod::kNone:
      return "none";
    case OutlierMethod::kQuantile:
      return "quantile";
    case OutlierMethod::kZScore:
      return "zscore";
  }
  return "unknown";
}

absl::string_view ScalingMethodName(ScalingMethod m) {
  switch (m) {
    case ScalingMethod::kNone:
      return "none";
    case ScalingMethod::kStandard:
      return "standard";
    case ScalingMethod::kMinMax:
      return "minmax";
  }
  return "unknown";
}

absl::StatusOr<ImputeStrategy> ParseImputeStrategy(absl::string_view name) {
  for (ImputeStrategy s :
       {ImputeStrategy::kMean, ImputeStrategy::kMedian,
        ImputeStrategy::kMostFrequent, ImputeStrategy::kConstant}) {
    if (name == ImputeStrategyName(s)) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown impute strategy '", name,
                   "' (expected mean, median, most_frequent or constant)"));
}

absl::StatusOr<OutlierMethod> ParseOutlierMethod(absl::string_view name) {
  for (OutlierMethod m : {OutlierMethod::kNone, OutlierMethod::kQuantile,
                          OutlierMethod::kZScore}) {
    if (name == OutlierMethodName(m)) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown outlier method '", name,
                   "' (expected none, quantile or zscore)"));
}

absl::StatusOr<ScalingMethod> ParseScalingMethod(absl::string_view name) {
  for (ScalingMethod m : {ScalingMethod::kNone, ScalingMethod::kStandard,
                          ScalingMethod::kMinMax}) {
    if (name == ScalingMethodName(m)) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scaling method '", name,
                   "' (expected none, standard or minmax)"));
}

// ---------------------------------------------------------------------------
// Statistics.

namespace prep_stats {

double Mean(absl::Span<const double> values) {
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double PopulationStd(absl::Span<const double> values) {
  const double mean = Mean(values);
  double ss = 0.0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(values.size()));
}

double Median(absl::Span<const double> values) {
  std::vector<double> v(values.begin(), values.end());
  const size_t n = v.size();
  const size_t mid = n / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[mid];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + mid);
  return (lower + upper) / 2.0;
}

double Quantile(absl::Span<const double> values, double q) {
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  const double h = q * static_cast<double>(v.size() - 1);
  const double lo_f = std::floor(h);
  size_t lo = static_cast<size_t>(lo_f);
  if (lo >= v.size() - 1) return v.back();
  const double t = h - lo_f;
  const double a = v[lo];
  const double b = v[lo + 1];
  // numpy's _lerp: exact at both ends and monotonic.
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

double MostFrequent(absl::Span<const double> values) {
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  double best = v[0];
  size_t best_count = 0;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j] == v[i]) ++j;
    // Strictly greater: among ties the first run, i.e. the smallest, wins.
    if (j - i > best_count) {
      best_count = j - i;
      best = v[i];
    }
    i = j;
  }
  return best;
}

}  // namespace prep_stats

// ---------------------------------------------------------------------------
// Numeric transforms.

absl::StatusOr<NumericImputer> NumericImputer::Fit(
    absl::Span<const double> values, ImputeStrategy strategy,
    double fill_value) {
  if (strategy == ImputeStrategy::kConstant) return NumericImputer(fill_value);
  std::vector<double> present;
  present.reserve(values.size());
  for (double v : values) {
    if (!std::isnan(v)) present.push_back(v);
  }
  if (present.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no non-missing value in the training rows to compute the ",
        ImputeStrategyName(strategy),
        " from (use the constant impute strategy for this column)"));
  }
  switch (strategy) {
    case ImputeStrategy::kMean:
      return NumericImputer(prep_stats::Mean(present));
    case ImputeStrategy::kMedian:
      return NumericImputer(prep_stats::Median(present));
    case ImputeStrategy::kMostFrequent:
      return NumericImputer(prep_stats::MostFrequent(present));
    case ImputeStrategy::kConstant:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid impute strategy value ", static_cast<int>(strategy)));
}

void NumericImputer::Encode(ByteWriter* out) const {
  out->WriteF64(fill_value_);
}

absl::StatusOr<NumericImputer> NumericImputer::Decode(ByteReader* in) {
  ASSIGN_OR_RETURN(double fill, in->ReadF64("imputer fill value"));
  if (!std::isfinite(fill)) {
    return absl::DataLossError("corrupted imputer: fill value is not finite");
  }
  return NumericImputer(fill);
}

OutlierClipper OutlierClipper::Fit(absl::Span<const double> values,
                                   OutlierMethod method, double lower_q,
                                   double upper_q, double zscore_threshold) {
  switch (method) {
    case OutlierMethod::kNone:
      break;
    case OutlierMethod::kQuantile:
      return OutlierClipper(prep_stats::Quantile(values, lower_q),
                            prep_stats::Quantile(values, upper_q));
    case OutlierMethod::kZScore: {
      const double mean = prep_stats::Mean(values);
      const double spread =
          zscore_threshold * prep_stats::PopulationStd(values);
      return OutlierClipper(mean - spread, mean + spread);
    }
  }
  return OutlierClipper();
}

void OutlierClipper::Encode(ByteWriter* out) const {
  out->WriteF64(lower_);
  out->WriteF64(upper_);
}

absl::StatusOr<OutlierClipper> OutlierClipper::Decode(ByteReader* in) {
  ASSIGN_OR_RETURN(double lower, in->ReadF64("clipper lower bound"));
  ASSIGN_OR_RETURN(double upper, in->ReadF64("clipper upper bound"));
  if (std::isnan(lower) || std::isnan(upper) || lower > upper) {
    return absl::DataLossError(
        absl::StrCat("corrupted clipper: bounds [", lower, ", ", upper, "]"));
  }
  return OutlierClipper(lower, upper);
}

Scaler Scaler::Fit(absl::Span<const double> values, ScalingMethod method) {
  if (method == ScalingMethod::kNone) return Scaler();
  const auto [min_it, max_it] =
      std::minmax_element(values.begin(), values.end());
  const double min = *min_it;
  const double max = *max_it;
  // Tested on the range rather than on the variance, which rounding can make
  // tiny but non-zero for a constant column.
  if (min == max) return Scaler(min, 1.0);
  if (method == ScalingMethod::kMinMax) return Scaler(min, max - min);
  const double sd = prep_stats::PopulationStd(values);
  return Scaler(prep_stats::Mean(values), sd > 0.0 ? sd : 1.0);
}

void Scaler::Encode(ByteWriter* out) const {
  out->WriteF64(offset_);
  out->WriteF64(scale_);
}

absl::StatusOr<Scaler> Scaler::Decode(ByteReader* in) {
  ASSIGN_OR_RETURN(double offset, in->ReadF64("scaler offset"));
  ASSIGN_OR_RETURN(double scale, in->ReadF64("scaler scale"));
  if (!std::isfinite(offset) || !std::isfinite(scale) || scale == 0.0) {
    return absl::DataLossError(
        absl::StrCat("corrupted scaler: offset ", offset, ", scale ", scale));
  }
  return Scaler(offset, scale);
}

absl::StatusOr<NumericTransform> NumericTransform::Fit(
    absl::Span<const double> values, const Options& options) {
  ASSIGN_OR_RETURN(
      NumericImputer imputer,
      NumericImputer::Fit(values, options.impute, options.fill_value));
  std::vector<double> v(values.begin(), values.end());
  if (v.empty()) v.push_back(imputer.fill_value());  // keeps the REQUIREs
  for (double& x : v) x = imputer.Apply(x);
  const OutlierClipper clipper =
      OutlierClipper::Fit(v, options.outliers, options.lower_quantile,
                          options.upper_quantile, options.zscore_threshold);
  for (double& x : v) x = clipper.Apply(x);
  const Scaler scaler = Scaler::Fit(v, options.scaling);
  // Values near the limits of double can overflow a sum or a range.
  if (!std::isfinite(imputer.fill_value()) || std::isnan(clipper.lower()) ||
      std::isnan(clipper.upper()) || !std::isfinite(scaler.offset()) ||
      !std::isfinite(scaler.scale())) {
    return absl::InvalidArgumentError(
        "values too large in magnitude: a fitted statistic (mean, standard "
        "deviation or range) is not finite; rescale the column");
  }
  return NumericTransform(imputer, clipper, scaler);
}

void NumericTransform::Encode(ByteWriter* out) const {
  imputer_.Encode(out);
  clipper_.Encode(out);
  scaler_.Encode(out);
}

absl::StatusOr<NumericTransform> NumericTransform::Decode(ByteReader* in) {
  ASSIGN_OR_RETURN(NumericImputer imputer, NumericImputer::Decode(in));
  ASSIGN_OR_RETURN(OutlierClipper clipper, OutlierClipper::Decode(in));
  ASSIGN_OR_RETURN(Scaler scaler, Scaler::Decode(in));
  return NumericTransform(imputer, clipper, scaler);
}

// ---------------------------------------------------------------------------
// Categorical transforms.

namespace {

// A distinct level spelling of a categorical column's rows.
struct LevelCount {
  std::string name;
  int64_t count = 0;
  int64_t first_row = -1;  // -1: no row
};

// Counts the rows of `column` per distinct spelling (a dictionary may in
// principle repeat a string; levels no row uses are left out), in order of
// first row. Missing rows are returned in *missing / *first_missing.
std::vector<LevelCount> CountLevels(const Column& column, int64_t* missing,
                                    int64_t* first_missing) {
  const std::vector<std::string>& dict = column.levels();
  std::vector<int64_t> count(dict.size(), 0), first(dict.size(), -1);
  *missing = 0;
  *first_missing = -1;
  const std::vector<int32_t>& codes = column.codes();
  for (size_t row = 0; row < codes.size(); ++row) {
    const int32_t code = codes[row];
    if (code < 0 || static_cast<size_t>(code) >= dict.size()) {
      if ((*missing)++ == 0) *first_missing = static_cast<int64_t>(row);
      continue;
    }
    if (count[code]++ == 0) first[code] = static_cast<int64_t>(row);
  }
  std::vector<LevelCount> levels;
  absl::flat_hash_map<absl::string_view, size_t> index;
  for (size_t i = 0; i < dict.size(); ++i) {
    if (count[i] == 0) continue;
    auto [it, inserted] = index.try_emplace(dict[i], levels.size());
    if (inserted) levels.push_back(LevelCount{dict[i], 0, first[i]});
    LevelCount& l = levels[it->second];
    l.count += count[i];
    l.first_row = std::min(l.first_row, first[i]);
  }
  std::sort(levels.begin(), levels.end(),
            [](const LevelCount& a, const LevelCount& b) {
              return a.first_row < b.first_row;
            });
  return levels;
}

// Descending count, ties by first row; a level no row has goes last.
bool MoreFrequent(const LevelCount& a, const LevelCount& b) {
  if (a.count != b.count) return a.count > b.count;
  return static_cast<uint64_t>(a.first_row) <
         static_cast<uint64_t>(b.first_row);
}

}  // namespace

absl::StatusOr<std::string> FitCategoricalFill(const Column& column,
                                               ImputeStrategy strategy,
                                               absl::string_view fill_value) {
  if (column.type() != ColumnType::kCategorical) {
    return absl::InvalidArgumentError(
        absl::StrCat("column '", column.name(), "' is not categorical"));
  }
  if (strategy == ImputeStrategy::kConstant) return std::string(fill_value);
  if (strategy != ImputeStrategy::kMostFrequent) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column '", column.name(), "': impute strategy '",
        ImputeStrategyName(strategy),
        "' is not valid for a categorical column (use most_frequent or "
        "constant)"));
  }
  int64_t missing, first_missing;
  const std::vector<LevelCount> levels =
      CountLevels(column, &missing, &first_missing);
  if (levels.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column '", column.name(),
        "': no non-missing value in the training rows to compute the "
        "most_frequent from (use the constant impute strategy for this "
        "column)"));
  }
  return std::min_element(levels.begin(), levels.end(), MoreFrequent)->name;
}

OneHotEncoder OneHotEncoder::Fit(const Column& column,
                                 absl::string_view fill_level, int max_levels) {
  int64_t missing, first_missing;
  std::vector<LevelCount> levels =
      CountLevels(column, &missing, &first_missing);
  // Missing rows count as the fill level (added if no row has it).
  auto it =
      std::find_if(levels.begin(), levels.end(),
                   [&](const LevelCount& l) { return l.name == fill_level; });
  if (it == levels.end()) {
    levels.push_back(LevelCount{std::string(fill_level), missing,
                                missing > 0 ? first_missing : -1});
  } else if (missing > 0) {
    it->count += missing;
    it->first_row = std::min(it->first_row, first_missing);
  }
  std::stable_sort(levels.begin(), levels.end(), MoreFrequent);
  const size_t keep = levels.size() <= static_cast<size_t>(max_levels)
                          ? levels.size()
                          : static_cast<size_t>(max_levels - 1);
  std::vector<std::string> kept, other;
  for (size_t i = 0; i < levels.size(); ++i) {
    (i < keep ? kept : other).push_back(std::move(levels[i].name));
  }
  // Distinct levels and a present fill level by construction.
  return *Create(std::move(kept), std::move(other), std::string(fill_level));
}

absl::StatusOr<OneHotEncoder> OneHotEncoder::Create(
    std::vector<std::string> kept, std::vector<std::string> other,
    std::string fill_level) {
  OneHotEncoder e;
  e.slots_.reserve(kept.size() + other.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!e.slots_.try_emplace(kept[i], static_cast<int>(i)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("one-hot level '", kept[i], "' appears twice"));
    }
  }
  const int other_slot = static_cast<int>(kept.size());
  for (const std::string& level : other) {
    if (!e.slots_.try_emplace(level, other_slot).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("one-hot level '", level, "' appears twice"));
    }
  }
  auto it = e.slots_.find(fill_level);
  if (it == e.slots_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "one-hot fill level '", fill_level, "' is not one of the levels"));
  }
  e.fill_slot_ = it->second;
  e.kept_ = std::move(kept);
  e.other_ = std::move(other);
  e.fill_level_ = std::move(fill_level);
  return e;
}

int OneHotEncoder::Slot(absl::string_view level) const {
  auto it = slots_.find(level);
  return it == slots_.end() ? -1 : it->second;
}

void OneHotEncoder::Apply(const Column& column, Eigen::MatrixXd* out,
                          int first_col) const {
  const std::vector<int32_t>& codes = column.codes();
  const std::vector<std::string>& levels = column.levels();
  const int64_t rows = static_cast<int64_t>(codes.size());
  auto set = [&](int64_t row, int slot) {
    if (slot >= 0) (*out)(row, first_col + slot) = 1.0;
  };
  auto slot_of_code = [&](int32_t code) {
    if (code < 0 || static_cast<size_t>(code) >= levels.size()) {
      return fill_slot_;
    }
    return Slot(levels[code]);
  };
  if (static_cast<size_t>(rows) <= levels.size()) {
    // Few rows (a prediction request): look each row up.
    for (int64_t row = 0; row < rows; ++row) set(row, slot_of_code(codes[row]));
    return;
  }
  // Many rows: resolve each level of the input's dictionary once.
  std::vector<int> slot(levels.size());
  for (size_t i = 0; i < levels.size(); ++i) slot[i] = Slot(levels[i]);
  for (int64_t row = 0; row < rows; ++row) {
    const int32_t code = codes[row];
    set(row, code < 0 || static_cast<size_t>(code) >= levels.size()
                 ? fill_slot_
                 : slot[code]);
  }
}

void OneHotEncoder::Encode(ByteWriter* out) const {
  out->WriteString(fill_level_);
  out->WriteStrings(kept_);
  out->WriteStrings(other_);
}

absl::StatusOr<OneHotEncoder> OneHotEncoder::Decode(ByteReader* in) {
  ASSIGN_OR_RETURN(std::string fill, in->ReadString("one-hot fill level"));
  ASSIGN_OR_RETURN(std::vector<std::string> kept,
                   in->ReadStrings("one-hot kept levels"));
  ASSIGN_OR_RETURN(std::vector<std::string> other,
                   in->ReadStrings("one-hot other levels"));
  absl::StatusOr<OneHotEncoder> e =
      Create(std::move(kept), std::move(other), std::move(fill));
  if (!e.ok()) {
    return absl::DataLossError(
        absl::StrCat("corrupted one-hot encoder: ", e.status().message()));
  }
  return e;
}

// ---------------------------------------------------------------------------
// Dates.

const std::array<absl::string_view, kNumDateParts>& DatePartNames() {
  static constexpr std::array<absl::string_view, kNumDateParts> kNames = {
      "year", "month", "day", "day_of_week", "hour"};
  return kNames;
}

std::array<double, kNumDateParts> ExpandDate(double seconds) {
  if (std::isnan(seconds)) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {nan, nan, nan, nan, nan};
  }
  const CivilTime t = ToCivil(seconds);
  return {static_cast<double>(t.year), static_cast<double>(t.month),
          static_cast<double>(t.day), static_cast<double>(t.day_of_week),
          t.seconds_of_day / 3600.0};
}

}  // namespace modelserver
