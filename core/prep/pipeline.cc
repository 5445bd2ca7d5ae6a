#include "core/prep/pipeline.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

// Version of the byte layout written by Pipeline::Encode. Bump it (and keep
// reading the old ones) when the layout changes.
constexpr uint32_t kFormatVersion = 1;

bool ValidImpute(ImputeStrategy s) {
  return static_cast<uint8_t>(s) <=
         static_cast<uint8_t>(ImputeStrategy::kConstant);
}
bool ValidCategoricalImpute(ImputeStrategy s) {
  return s == ImputeStrategy::kMostFrequent || s == ImputeStrategy::kConstant;
}
bool ValidOutliers(OutlierMethod m) {
  return static_cast<uint8_t>(m) <=
         static_cast<uint8_t>(OutlierMethod::kZScore);
}
bool ValidScaling(ScalingMethod m) {
  return static_cast<uint8_t>(m) <=
         static_cast<uint8_t>(ScalingMethod::kMinMax);
}
bool ValidColumnType(ColumnType t) {
  return static_cast<uint8_t>(t) <= static_cast<uint8_t>(ColumnType::kDate);
}

ImputeStrategy StrategyFor(const PipelineOptions& options,
                           const InputColumn& input) {
  auto it = options.column_impute.find(input.name);
  if (it != options.column_impute.end()) return it->second;
  return input.type == ColumnType::kCategorical ? options.categorical_impute
                                                : options.numeric_impute;
}

NumericTransform::Options NumericOptions(const PipelineOptions& options,
                                         ImputeStrategy strategy) {
  NumericTransform::Options o;
  o.impute = strategy;
  o.fill_value = options.numeric_fill_value;
  o.outliers = options.outliers;
  o.lower_quantile = options.lower_quantile;
  o.upper_quantile = options.upper_quantile;
  o.zscore_threshold = options.zscore_threshold;
  o.scaling = options.scaling;
  return o;
}

absl::Status CheckFinite(const Column& column) {
  const std::vector<double>& values = column.values();
  for (size_t row = 0; row < values.size(); ++row) {
    if (std::isinf(values[row])) {
      return absl::InvalidArgumentError(
          absl::StrCat("column '", column.name(), "' row ", row, ": value ",
                       values[row] > 0 ? "inf" : "-inf",
                       " is not finite (use an empty cell for a missing "
                       "value)"));
    }
  }
  return absl::OkStatus();
}

absl::Status WithColumn(const absl::Status& s, absl::string_view column) {
  return absl::Status(s.code(),
                      absl::StrCat("column '", column, "': ", s.message()));
}

absl::Status Corrupted(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupted pipeline: ", what));
}

}  // namespace

absl::Status ValidatePipelineOptions(const PipelineOptions& options) {
  if (!ValidImpute(options.numeric_impute)) {
    return absl::InvalidArgumentError(
        absl::StrCat("numeric_impute: invalid strategy value ",
                     static_cast<int>(options.numeric_impute)));
  }
  if (!ValidCategoricalImpute(options.categorical_impute)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "categorical_impute: '", ImputeStrategyName(options.categorical_impute),
        "' is not valid for categorical columns (use most_frequent or "
        "constant)"));
  }
  if (!std::isfinite(options.numeric_fill_value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("numeric_fill_value: must be finite, got ",
                     options.numeric_fill_value));
  }
  for (const auto& [name, strategy] : options.column_impute) {
    if (!ValidImpute(strategy)) {
      return absl::InvalidArgumentError(
          absl::StrCat("column_impute['", name, "']: invalid strategy value ",
                       static_cast<int>(strategy)));
    }
  }
  if (!ValidOutliers(options.outliers)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "outliers: invalid method value ", static_cast<int>(options.outliers)));
  }
  if (!(options.lower_quantile >= 0.0 && options.lower_quantile <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lower_quantile: must be in [0, 1], got ", options.lower_quantile));
  }
  if (!(options.upper_quantile >= 0.0 && options.upper_quantile <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "upper_quantile: must be in [0, 1], got ", options.upper_quantile));
  }
  if (options.lower_quantile > options.upper_quantile) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lower_quantile (", options.lower_quantile,
        ") must not exceed upper_quantile (", options.upper_quantile, ")"));
  }
  if (!(options.zscore_threshold > 0.0 &&
        std::isfinite(options.zscore_threshold))) {
    return absl::InvalidArgumentError(
        absl::StrCat("zscore_threshold: must be a finite number > 0, got ",
                     options.zscore_threshold));
  }
  if (!ValidScaling(options.scaling)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scaling: invalid method value ", static_cast<int>(options.scaling)));
  }
  if (options.max_levels < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_levels: must be >= 2, got ", options.max_levels));
  }
  return absl::OkStatus();
}

namespace {

// Runs fn(0) .. fn(n - 1) (one per column), on the pool's threads in
// contiguous groups when there are enough cells to be worth it; returns the
// error of the lowest failing index, or OK.
absl::Status ForEachColumn(ThreadPool* pool, size_t n, int64_t rows,
                           const std::function<absl::Status(size_t)>& fn) {
  constexpr int64_t kMinCellsPerPart = 1 << 16;
  const int64_t count = static_cast<int64_t>(n);
  const int parts = PartCount(pool, count, rows, kMinCellsPerPart);
  std::vector<absl::Status> status(n);
  RunParts(
      pool,
      [&](int p) {
        for (int64_t i = PartBegin(count, parts, p);
             i < PartBegin(count, parts, p + 1); ++i) {
          status[i] = fn(static_cast<size_t>(i));
        }
      },
      parts);
  for (const absl::Status& s : status) RETURN_IF_ERROR(s);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Pipeline> Pipeline::Fit(const Table& table,
                                       const std::vector<std::string>& features,
                                       const PipelineOptions& options,
                                       ThreadPool* pool) {
  RETURN_IF_ERROR(ValidatePipelineOptions(options));
  if (features.empty()) {
    return absl::InvalidArgumentError("no feature columns given");
  }
  if (table.num_rows() == 0) {
    return absl::InvalidArgumentError(
        "cannot fit the preprocessing on zero training rows");
  }
  Pipeline p;
  p.options_ = options;
  absl::flat_hash_map<std::string, int> seen;  // name -> input index
  for (const std::string& name : features) {
    if (!seen.try_emplace(name, static_cast<int>(seen.size())).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature column '", name, "' is listed twice"));
    }
    const Column* column = table.Find(name);
    if (column == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature column '", name, "' is not in the training data (columns: ",
          absl::StrJoin(table.column_names(), ", "), ")"));
    }
    p.inputs_.push_back(InputColumn{name, column->type()});
  }
  for (const auto& [name, strategy] : options.column_impute) {
    if (!seen.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column_impute: column '", name, "' is not one of the features"));
    }
  }

  p.columns_.resize(p.inputs_.size());
  // Columns are fitted independently: on the pool, in contiguous groups;
  // the first failing column (in feature order) is reported.
  auto fit_column = [&](size_t i) -> absl::Status {
    const InputColumn& input = p.inputs_[i];
    const Column& column = *table.Find(input.name);
    const ImputeStrategy strategy = StrategyFor(options, input);
    FittedColumn& fitted = p.columns_[i];
    switch (input.type) {
      case ColumnType::kNumeric: {
        RETURN_IF_ERROR(CheckFinite(column));
        absl::StatusOr<NumericTransform> t = NumericTransform::Fit(
            column.values(), NumericOptions(options, strategy));
        if (!t.ok()) return WithColumn(t.status(), input.name);
        fitted.numeric.push_back(*t);
        break;
      }
      case ColumnType::kDate: {
        RETURN_IF_ERROR(CheckFinite(column));
        std::vector<std::vector<double>> parts(
            kNumDateParts, std::vector<double>(column.values().size()));
        for (size_t row = 0; row < column.values().size(); ++row) {
          const auto expanded = ExpandDate(column.values()[row]);
          for (int k = 0; k < kNumDateParts; ++k) parts[k][row] = expanded[k];
        }
        for (int k = 0; k < kNumDateParts; ++k) {
          absl::StatusOr<NumericTransform> t = NumericTransform::Fit(
              parts[k], NumericOptions(options, strategy));
          if (!t.ok()) return WithColumn(t.status(), input.name);
          fitted.numeric.push_back(*t);
        }
        break;
      }
      case ColumnType::kCategorical: {
        ASSIGN_OR_RETURN(std::string fill,
                         FitCategoricalFill(column, strategy,
                                            options.categorical_fill_value));
        fitted.one_hot = OneHotEncoder::Fit(column, fill, options.max_levels);
        break;
      }
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(
      ForEachColumn(pool, p.inputs_.size(), table.num_rows(), fit_column));
  p.BuildOutputs();
  return p;
}

void Pipeline::BuildOutputs() {
  output_names_.clear();
  output_sources_.clear();
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const InputColumn& input = inputs_[i];
    const int source = static_cast<int>(i);
    switch (input.type) {
      case ColumnType::kNumeric:
        output_names_.push_back(input.name);
        output_sources_.push_back(source);
        break;
      case ColumnType::kDate:
        for (absl::string_view part : DatePartNames()) {
          output_names_.push_back(absl::StrCat(input.name, ".", part));
          output_sources_.push_back(source);
        }
        break;
      case ColumnType::kCategorical: {
        const OneHotEncoder& e = columns_[i].one_hot;
        for (const std::string& level : e.kept_levels()) {
          output_names_.push_back(absl::StrCat(input.name, "=", level));
          output_sources_.push_back(source);
        }
        if (e.has_other()) {
          output_names_.push_back(
              absl::StrCat(input.name, "=", OneHotEncoder::kOtherLevel));
          output_sources_.push_back(source);
        }
        break;
      }
    }
  }
}

absl::StatusOr<Eigen::MatrixXd> Pipeline::Transform(const Table& table,
                                                    ThreadPool* pool) const {
  std::vector<const Column*> columns(inputs_.size());
  std::vector<std::string> absent;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const InputColumn& input = inputs_[i];
    columns[i] = table.Find(input.name);
    if (columns[i] == nullptr) {
      absent.push_back(absl::StrCat("'", input.name, "'"));
    } else if (columns[i]->type() != input.type) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", input.name, "': expected ", ColumnTypeName(input.type),
          ", got ", ColumnTypeName(columns[i]->type())));
    }
  }
  if (!absent.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        absent.size() == 1 ? "required column " : "required columns ",
        absl::StrJoin(absent, ", "), absent.size() == 1 ? " is" : " are",
        " absent from the input"));
  }

  const Eigen::Index rows = static_cast<Eigen::Index>(table.num_rows());
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(rows, num_outputs());
  // First output column of each input (from output_sources_: inputs own
  // consecutive output columns, in input order).
  std::vector<int> first_col(inputs_.size());
  for (int k = num_outputs(); k-- > 0;) first_col[output_sources_[k]] = k;
  // Each input writes only its own output columns: safe in parallel.
  auto transform_column = [&](size_t i) -> absl::Status {
    const Column& column = *columns[i];
    const FittedColumn& fitted = columns_[i];
    const int col = first_col[i];
    switch (inputs_[i].type) {
      case ColumnType::kNumeric: {
        RETURN_IF_ERROR(CheckFinite(column));
        const NumericTransform& t = fitted.numeric[0];
        const std::vector<double>& values = column.values();
        double* dst = out.col(col).data();
        for (Eigen::Index r = 0; r < rows; ++r) dst[r] = t.Apply(values[r]);
        break;
      }
      case ColumnType::kDate: {
        RETURN_IF_ERROR(CheckFinite(column));
        const std::vector<double>& values = column.values();
        for (Eigen::Index r = 0; r < rows; ++r) {
          const auto parts = ExpandDate(values[r]);
          for (int k = 0; k < kNumDateParts; ++k) {
            out(r, col + k) = fitted.numeric[k].Apply(parts[k]);
          }
        }
        break;
      }
      case ColumnType::kCategorical:
        fitted.one_hot.Apply(column, &out, col);
        break;
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(
      ForEachColumn(pool, inputs_.size(), table.num_rows(), transform_column));
  return out;
}

void Pipeline::Encode(ByteWriter* out) const {
  out->WriteU32(kFormatVersion);
  const PipelineOptions& o = options_;
  out->WriteU8(static_cast<uint8_t>(o.numeric_impute));
  out->WriteU8(static_cast<uint8_t>(o.categorical_impute));
  out->WriteF64(o.numeric_fill_value);
  out->WriteString(o.categorical_fill_value);
  // Sorted by name so that equal pipelines encode to equal bytes.
  std::vector<std::pair<std::string, ImputeStrategy>> overrides(
      o.column_impute.begin(), o.column_impute.end());
  std::sort(overrides.begin(), overrides.end());
  out->WriteU64(overrides.size());
  for (const auto& [name, strategy] : overrides) {
    out->WriteString(name);
    out->WriteU8(static_cast<uint8_t>(strategy));
  }
  out->WriteU8(static_cast<uint8_t>(o.outliers));
  out->WriteF64(o.lower_quantile);
  out->WriteF64(o.upper_quantile);
  out->WriteF64(o.zscore_threshold);
  out->WriteU8(static_cast<uint8_t>(o.scaling));
  out->WriteU32(static_cast<uint32_t>(o.max_levels));

  out->WriteU64(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    out->WriteString(inputs_[i].name);
    out->WriteU8(static_cast<uint8_t>(inputs_[i].type));
    if (inputs_[i].type == ColumnType::kCategorical) {
      columns_[i].one_hot.Encode(out);
    } else {
      for (const NumericTransform& t : columns_[i].numeric) t.Encode(out);
    }
  }
}

absl::StatusOr<Pipeline> Pipeline::Decode(ByteReader* in) {
  ASSIGN_OR_RETURN(uint32_t version, in->ReadU32("pipeline format version"));
  if (version != kFormatVersion) {
    return absl::DataLossError(
        absl::StrCat("unsupported pipeline format version ", version,
                     " (this build reads version ", kFormatVersion, ")"));
  }
  Pipeline p;
  PipelineOptions& o = p.options_;
  ASSIGN_OR_RETURN(uint8_t numeric_impute,
                   in->ReadU8("pipeline numeric_impute"));
  ASSIGN_OR_RETURN(uint8_t categorical_impute,
                   in->ReadU8("pipeline categorical_impute"));
  o.numeric_impute = static_cast<ImputeStrategy>(numeric_impute);
  o.categorical_impute = static_cast<ImputeStrategy>(categorical_impute);
  ASSIGN_OR_RETURN(o.numeric_fill_value,
                   in->ReadF64("pipeline numeric_fill_value"));
  ASSIGN_OR_RETURN(o.categorical_fill_value,
                   in->ReadString("pipeline categorical_fill_value"));
  ASSIGN_OR_RETURN(uint64_t num_overrides,
                   in->ReadU64("pipeline column_impute count"));
  // Each entry takes at least 9 bytes (name length and strategy).
  if (num_overrides > in->remaining() / 9) {
    return absl::DataLossError(absl::StrCat(
        "truncated data reading pipeline column_impute: ", num_overrides,
        " entries do not fit in the ", in->remaining(), " bytes left"));
  }
  for (uint64_t k = 0; k < num_overrides; ++k) {
    ASSIGN_OR_RETURN(std::string name,
                     in->ReadString("pipeline column_impute name"));
    ASSIGN_OR_RETURN(uint8_t strategy,
                     in->ReadU8("pipeline column_impute strategy"));
    if (!o.column_impute
             .try_emplace(std::move(name),
                          static_cast<ImputeStrategy>(strategy))
             .second) {
      return Corrupted("column_impute names a column twice");
    }
  }
  ASSIGN_OR_RETURN(uint8_t outliers, in->ReadU8("pipeline outliers"));
  o.outliers = static_cast<OutlierMethod>(outliers);
  ASSIGN_OR_RETURN(o.lower_quantile, in->ReadF64("pipeline lower_quantile"));
  ASSIGN_OR_RETURN(o.upper_quantile, in->ReadF64("pipeline upper_quantile"));
  ASSIGN_OR_RETURN(o.zscore_threshold,
                   in->ReadF64("pipeline zscore_threshold"));
  ASSIGN_OR_RETURN(uint8_t scaling, in->ReadU8("pipeline scaling"));
  o.scaling = static_cast<ScalingMethod>(scaling);
  ASSIGN_OR_RETURN(uint32_t max_levels, in->ReadU32("pipeline max_levels"));
  if (max_levels > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    return Corrupted(absl::StrCat("max_levels ", max_levels));
  }
  o.max_levels = static_cast<int>(max_levels);
  if (absl::Status s = ValidatePipelineOptions(o); !s.ok()) {
    return Corrupted(s.message());
  }

  ASSIGN_OR_RETURN(uint64_t num_inputs, in->ReadU64("pipeline input count"));
  // Each input takes at least 9 bytes (name length and type).
  if (num_inputs == 0 || num_inputs > in->remaining() / 9) {
    return Corrupted(absl::StrCat("input count ", num_inputs, " with ",
                                  in->remaining(), " bytes left"));
  }
  absl::flat_hash_map<std::string, int> names;  // name -> input index
  for (uint64_t i = 0; i < num_inputs; ++i) {
    InputColumn input;
    ASSIGN_OR_RETURN(input.name, in->ReadString("pipeline input name"));
    ASSIGN_OR_RETURN(uint8_t type, in->ReadU8("pipeline input type"));
    input.type = static_cast<ColumnType>(type);
    if (!ValidColumnType(input.type)) {
      return Corrupted(absl::StrCat("column '", input.name, "' has type value ",
                                    static_cast<int>(type)));
    }
    if (!names.try_emplace(input.name, static_cast<int>(i)).second) {
      return Corrupted(absl::StrCat("column '", input.name, "' appears twice"));
    }
    const ImputeStrategy strategy = StrategyFor(o, input);
    FittedColumn fitted;
    if (input.type == ColumnType::kCategorical) {
      ASSIGN_OR_RETURN(fitted.one_hot, OneHotEncoder::Decode(in));
      const OneHotEncoder& e = fitted.one_hot;
      const size_t kept = e.kept_levels().size();
      const bool consistent =
          ValidCategoricalImpute(strategy) && e.num_outputs() >= 1 &&
          (e.has_other() ? kept + 1 == static_cast<size_t>(o.max_levels)
                         : kept <= static_cast<size_t>(o.max_levels)) &&
          (strategy == ImputeStrategy::kConstant
               ? e.fill_level() == o.categorical_fill_value
               : e.Slot(e.fill_level()) == 0);
      if (!consistent) {
        return Corrupted(absl::StrCat("column '", input.name,
                                      "': one-hot levels disagree with the "
                                      "options"));
      }
    } else {
      const int parts = input.type == ColumnType::kDate ? kNumDateParts : 1;
      for (int k = 0; k < parts; ++k) {
        ASSIGN_OR_RETURN(NumericTransform t, NumericTransform::Decode(in));
        if (strategy == ImputeStrategy::kConstant &&
            t.imputer().fill_value() != o.numeric_fill_value) {
          return Corrupted(absl::StrCat("column '", input.name,
                                        "': fill value disagrees with the "
                                        "options"));
        }
        fitted.numeric.push_back(t);
      }
    }
    p.inputs_.push_back(std::move(input));
    p.columns_.push_back(std::move(fitted));
  }
  for (const auto& [name, strategy] : o.column_impute) {
    if (!names.contains(name)) {
      return Corrupted(
          absl::StrCat("column_impute names '", name, "', not an input"));
    }
  }
  p.BuildOutputs();
  return p;
}

}  // namespace modelserver
