#include "server/proto_convert.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/datetime.h"
#include "core/model/model.h"
#include "core/prep/transforms.h"
#include "core/train/optimizer.h"
#include "core/util/status_macros.h"
#include "server/explain_convert.h"
#include "server/status_util.h"
#include "server/tune_convert.h"

namespace modelserver::server {
namespace {

// The CSV reader's default missing markers (core/data/csv_reader.h).
bool IsMissingText(absl::string_view text) {
  const absl::string_view t = absl::StripAsciiWhitespace(text);
  return t.empty() || t == "NA" || t == "NaN" || t == "null" || t == "?";
}

bool IsMissing(const v1::Value& v) {
  switch (v.kind_case()) {
    case v1::Value::kNumber:
      return std::isnan(v.number());
    case v1::Value::kText:
      return IsMissingText(v.text());
    default:
      return true;
  }
}

// A whole text (surrounding spaces allowed) as a finite number.
std::optional<double> ParseNumber(absl::string_view text) {
  const absl::string_view t = absl::StripAsciiWhitespace(text);
  if (t.empty()) return std::nullopt;
  const char* begin = t.data();
  const char* end = t.data() + t.size();
  if (*begin == '+') ++begin;  // from_chars does not take a leading '+'
  double value = 0;
  const std::from_chars_result r = std::from_chars(begin, end, value);
  if (r.ec != std::errc() || r.ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::string Quoted(absl::string_view text) {
  return absl::StrCat("'", CapMessage(text, 64), "'");
}

absl::Status CellError(int64_t row, absl::string_view column,
                       absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("row ", row, ", column '", column, "': ", what));
}

absl::StatusOr<Column> NumericColumn(const v1::InlineRows& rows, int c) {
  const std::string& name = rows.columns(c);
  std::vector<double> values(rows.rows_size(), std::nan(""));
  for (int r = 0; r < rows.rows_size(); ++r) {
    const v1::Value& v = rows.rows(r).values(c);
    if (IsMissing(v)) continue;
    if (v.kind_case() == v1::Value::kNumber) {
      if (!std::isfinite(v.number())) {
        return CellError(r, name, "expected a finite number, got infinity");
      }
      values[r] = v.number();
    } else {
      std::optional<double> parsed = ParseNumber(v.text());
      if (!parsed.has_value()) {
        return CellError(
            r, name, absl::StrCat("expected a number, got ", Quoted(v.text())));
      }
      values[r] = *parsed;
    }
  }
  return Column::Numeric(name, std::move(values));
}

absl::StatusOr<Column> DateColumn(const v1::InlineRows& rows, int c) {
  const std::string& name = rows.columns(c);
  std::vector<double> values(rows.rows_size(), std::nan(""));
  for (int r = 0; r < rows.rows_size(); ++r) {
    const v1::Value& v = rows.rows(r).values(c);
    if (IsMissing(v)) continue;
    if (v.kind_case() == v1::Value::kNumber) {
      return CellError(
          r, name,
          absl::StrCat("expected an ISO-8601 date, got the number ",
                       ShortestNumberText(v.number())));
    }
    std::optional<double> seconds = ParseIsoDateTime(v.text());
    if (!seconds.has_value()) {
      return CellError(
          r, name,
          absl::StrCat("expected an ISO-8601 date, got ", Quoted(v.text())));
    }
    values[r] = *seconds;
  }
  return Column::Date(name, std::move(values));
}

Column CategoricalColumn(const v1::InlineRows& rows, int c) {
  std::vector<std::string> values(rows.rows_size());
  std::vector<bool> missing(rows.rows_size(), false);
  for (int r = 0; r < rows.rows_size(); ++r) {
    const v1::Value& v = rows.rows(r).values(c);
    if (IsMissing(v)) {
      missing[r] = true;
    } else if (v.kind_case() == v1::Value::kNumber) {
      values[r] = ShortestNumberText(v.number());
    } else {
      values[r] = v.text();
    }
  }
  return Column::CategoricalFromStrings(rows.columns(c), values, missing);
}

ColumnType InferType(const v1::InlineRows& rows, int c) {
  bool any_number = false;
  bool any_text = false;
  bool all_dates = true;
  for (const v1::Row& row : rows.rows()) {
    const v1::Value& v = row.values(c);
    if (IsMissing(v)) continue;
    if (v.kind_case() == v1::Value::kNumber) {
      any_number = true;
    } else {
      any_text = true;
      if (all_dates && !ParseIsoDateTime(v.text()).has_value()) {
        all_dates = false;
      }
    }
  }
  if (!any_text) return ColumnType::kNumeric;
  if (!any_number && all_dates) return ColumnType::kDate;
  return ColumnType::kCategorical;
}

absl::StatusOr<OptimizerKind> OptimizerFromProto(v1::Optimizer o) {
  switch (o) {
    case v1::OPTIMIZER_UNSPECIFIED:
      return OptimizerKind::kAuto;
    case v1::OPTIMIZER_EXACT:
      return OptimizerKind::kExact;
    case v1::OPTIMIZER_LBFGS:
      return OptimizerKind::kLbfgs;
    case v1::OPTIMIZER_SGD:
      return OptimizerKind::kSgd;
    case v1::OPTIMIZER_ADAM:
      return OptimizerKind::kAdam;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("options.optimizer: unknown value ", o));
  }
}

absl::StatusOr<Activation> ActivationFromProto(v1::Activation a) {
  switch (a) {
    case v1::ACTIVATION_UNSPECIFIED:
    case v1::ACTIVATION_RELU:
      return Activation::kRelu;
    case v1::ACTIVATION_TANH:
      return Activation::kTanh;
    case v1::ACTIVATION_SIGMOID:
      return Activation::kSigmoid;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("options.activation: unknown value ", a));
  }
}

// Zero fields keep the LrScheduleSpec defaults; ValidateTrainSpec checks
// the values.
absl::StatusOr<LrScheduleSpec> LrScheduleFromProto(
    const v1::LearningRateSchedule& s) {
  LrScheduleSpec spec;
  switch (s.kind()) {
    case v1::LR_SCHEDULE_KIND_UNSPECIFIED:
    case v1::LR_SCHEDULE_CONSTANT:
      spec.kind = LrScheduleKind::kConstant;
      break;
    case v1::LR_SCHEDULE_STEP:
      spec.kind = LrScheduleKind::kStep;
      break;
    case v1::LR_SCHEDULE_COSINE:
      spec.kind = LrScheduleKind::kCosine;
      break;
    case v1::LR_SCHEDULE_PLATEAU:
      spec.kind = LrScheduleKind::kPlateau;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "options.lr_schedule.kind: unknown value ", s.kind()));
  }
  if (s.step_size() != 0) spec.step_size = s.step_size();
  if (s.gamma() != 0) spec.gamma = s.gamma();
  spec.min_learning_rate = s.min_learning_rate();
  spec.warmup_epochs = s.warmup_epochs();
  if (s.patience() != 0) spec.patience = s.patience();
  if (s.factor() != 0) spec.factor = s.factor();
  return spec;
}

absl::StatusOr<ModelKind> KindFromProto(v1::Task task, v1::ModelType model,
                                        ColumnType target_type) {
  if (task != v1::TASK_UNSPECIFIED && task != v1::TASK_REGRESSION &&
      task != v1::TASK_CLASSIFICATION) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.task: unknown value ", task));
  }
  if (model != v1::MODEL_TYPE_UNSPECIFIED && model != v1::MODEL_TYPE_LINEAR &&
      model != v1::MODEL_TYPE_LOGISTIC && model != v1::MODEL_TYPE_MLP) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.model: unknown value ", model));
  }
  if (task == v1::TASK_UNSPECIFIED) {
    if (model == v1::MODEL_TYPE_LINEAR) {
      task = v1::TASK_REGRESSION;
    } else if (model == v1::MODEL_TYPE_LOGISTIC) {
      task = v1::TASK_CLASSIFICATION;
    } else {
      task = target_type == ColumnType::kNumeric ? v1::TASK_REGRESSION
                                                 : v1::TASK_CLASSIFICATION;
    }
  }
  const bool regression = task == v1::TASK_REGRESSION;
  switch (model) {
    case v1::MODEL_TYPE_UNSPECIFIED:
      return regression ? ModelKind::kLinearRegression
                        : ModelKind::kLogisticRegression;
    case v1::MODEL_TYPE_LINEAR:
      if (!regression) {
        return absl::InvalidArgumentError(
            "options.model: LINEAR is a regression model; use LOGISTIC or MLP "
            "for classification");
      }
      return ModelKind::kLinearRegression;
    case v1::MODEL_TYPE_LOGISTIC:
      if (regression) {
        return absl::InvalidArgumentError(
            "options.model: LOGISTIC is a classification model; use LINEAR "
            "or MLP for regression");
      }
      return ModelKind::kLogisticRegression;
    default:  // MLP
      return regression ? ModelKind::kMlpRegressor : ModelKind::kMlpClassifier;
  }
}

absl::Status PreprocessingFromProto(const v1::Preprocessing& p,
                                    PipelineOptions* out) {
  auto field = [](absl::string_view name, const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("options.preprocessing.", name,
                                               ": ", s.message()));
  };
  if (!p.scaling().empty()) {
    absl::StatusOr<ScalingMethod> m = ParseScalingMethod(p.scaling());
    if (!m.ok()) return field("scaling", m.status());
    out->scaling = *m;
  }
  if (!p.numeric_impute().empty()) {
    absl::StatusOr<ImputeStrategy> s = ParseImputeStrategy(p.numeric_impute());
    if (!s.ok()) return field("numeric_impute", s.status());
    out->numeric_impute = *s;
  }
  if (!p.categorical_impute().empty()) {
    absl::StatusOr<ImputeStrategy> s =
        ParseImputeStrategy(p.categorical_impute());
    if (!s.ok()) return field("categorical_impute", s.status());
    out->categorical_impute = *s;
  }
  if (!p.outliers().empty()) {
    absl::StatusOr<OutlierMethod> m = ParseOutlierMethod(p.outliers());
    if (!m.ok()) return field("outliers", m.status());
    out->outliers = *m;
  }
  if (p.max_levels() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.preprocessing.max_levels: must be >= 2 (0 = 50), got ",
        p.max_levels()));
  }
  if (p.max_levels() > 0) out->max_levels = p.max_levels();
  return ValidatePipelineOptions(*out);
}

}  // namespace

// ----------------------------------------------------------------- enums

v1::ColumnType ColumnTypeToProto(ColumnType type) {
  switch (type) {
    case ColumnType::kNumeric:
      return v1::COLUMN_TYPE_NUMERIC;
    case ColumnType::kCategorical:
      return v1::COLUMN_TYPE_CATEGORICAL;
    case ColumnType::kDate:
      return v1::COLUMN_TYPE_DATE;
  }
  return v1::COLUMN_TYPE_UNSPECIFIED;
}

absl::StatusOr<ColumnType> ColumnTypeFromProto(v1::ColumnType type) {
  switch (type) {
    case v1::COLUMN_TYPE_NUMERIC:
      return ColumnType::kNumeric;
    case v1::COLUMN_TYPE_CATEGORICAL:
      return ColumnType::kCategorical;
    case v1::COLUMN_TYPE_DATE:
      return ColumnType::kDate;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("not a column type: ", static_cast<int>(type)));
  }
}

absl::StatusOr<ColumnTypes> ColumnTypesFromProto(
    const google::protobuf::Map<std::string, v1::ColumnType>& types) {
  ColumnTypes out;
  for (const auto& [name, type] : types) {
    if (type == v1::COLUMN_TYPE_UNSPECIFIED) continue;
    absl::StatusOr<ColumnType> t = ColumnTypeFromProto(type);
    if (!t.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "data.column_types['", name, "']: ", t.status().message()));
    }
    out[name] = *t;
  }
  return out;
}

v1::JobState JobStateToProto(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return v1::JOB_STATE_QUEUED;
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kSucceeded:
      return v1::JOB_STATE_SUCCEEDED;
    case JobState::kFailed:
      return v1::JOB_STATE_FAILED;
    case JobState::kCancelled:
      return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

// ------------------------------------------------------------------ data

std::string ShortestNumberText(double value) {
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, r.ptr);
}

namespace {

// Column names must be non-empty and unique; `what` prefixes the error
// ("rows", "columns"). Small sets are compared pairwise (no allocation).
template <typename NameAt>
absl::Status CheckColumnNames(absl::string_view what, int num_columns,
                              NameAt name_at) {
  if (num_columns == 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no columns"));
  }
  auto duplicate = [&](int first, int second) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": duplicate column name '", name_at(second),
                     "' (columns ", first, " and ", second, ")"));
  };
  for (int c = 0; c < num_columns; ++c) {
    if (name_at(c).empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": column ", c, " has an empty name"));
    }
  }
  if (num_columns <= 32) {
    for (int c = 1; c < num_columns; ++c) {
      const absl::string_view a = name_at(c);
      for (int d = 0; d < c; ++d) {
        const absl::string_view b = name_at(d);
        // Length and first byte first: most pairs differ there, without a
        // call to memcmp.
        if (a.size() == b.size() && a[0] == b[0] && a == b) {
          return duplicate(d, c);
        }
      }
    }
    return absl::OkStatus();
  }
  absl::flat_hash_map<absl::string_view, int> seen;
  for (int c = 0; c < num_columns; ++c) {
    auto [it, inserted] = seen.emplace(name_at(c), c);
    if (!inserted) return duplicate(it->second, c);
  }
  return absl::OkStatus();
}

absl::StatusOr<Column> PackedColumn(const v1::ColumnarRows::Column& in,
                                    const ColumnTypes& types) {
  const std::string& name = in.name();
  const auto& numbers = in.numbers();
  const auto& texts = in.texts();
  const bool has_numbers = !numbers.empty();
  auto forced = types.find(name);
  ColumnType type = ColumnType::kNumeric;
  if (forced != types.end()) {
    type = forced->second;
  } else if (!has_numbers) {
    type = ColumnType::kDate;
    for (const std::string& t : texts) {
      if (!IsMissingText(t) && !ParseIsoDateTime(t).has_value()) {
        type = ColumnType::kCategorical;
        break;
      }
    }
  }
  const int n = has_numbers ? numbers.size() : texts.size();
  switch (type) {
    case ColumnType::kNumeric: {
      std::vector<double> values(n);
      if (has_numbers) {
        for (int r = 0; r < n; ++r) {
          if (std::isinf(numbers[r])) {
            return CellError(r, name, "expected a finite number, got infinity");
          }
        }
        std::copy(numbers.begin(), numbers.end(), values.begin());
      } else {
        for (int r = 0; r < n; ++r) {
          if (IsMissingText(texts[r])) {
            values[r] = std::nan("");
            continue;
          }
          std::optional<double> parsed = ParseNumber(texts[r]);
          if (!parsed.has_value()) {
            return CellError(
                r, name,
                absl::StrCat("expected a number, got ", Quoted(texts[r])));
          }
          values[r] = *parsed;
        }
      }
      return Column::Numeric(name, std::move(values));
    }
    case ColumnType::kDate: {
      if (has_numbers) {
        return absl::InvalidArgumentError(absl::StrCat(
            "column '", name,
            "' is a date column: give ISO-8601 dates in texts, not numbers"));
      }
      std::vector<double> values(n, std::nan(""));
      for (int r = 0; r < n; ++r) {
        if (IsMissingText(texts[r])) continue;
        std::optional<double> seconds = ParseIsoDateTime(texts[r]);
        if (!seconds.has_value()) {
          return CellError(r, name,
                           absl::StrCat("expected an ISO-8601 date, got ",
                                        Quoted(texts[r])));
        }
        values[r] = *seconds;
      }
      return Column::Date(name, std::move(values));
    }
    case ColumnType::kCategorical: {
      std::vector<std::string> values(n);
      std::vector<bool> missing(n, false);
      for (int r = 0; r < n; ++r) {
        if (has_numbers) {
          if (std::isnan(numbers[r])) {
            missing[r] = true;
          } else {
            values[r] = ShortestNumberText(numbers[r]);
          }
        } else if (IsMissingText(texts[r])) {
          missing[r] = true;
        } else {
          values[r] = texts[r];
        }
      }
      return Column::CategoricalFromStrings(name, values, missing);
    }
  }
  return absl::InternalError("unknown column type");
}

}  // namespace

absl::StatusOr<Table> TableFromColumns(const v1::ColumnarRows& columns,
                                       const ColumnTypes& types) {
  const int num_columns = columns.columns_size();
  RETURN_IF_ERROR(CheckColumnNames(
      "columns", num_columns,
      [&](int c) -> const std::string& { return columns.columns(c).name(); }));
  int64_t rows = -1;
  for (int c = 0; c < num_columns; ++c) {
    const v1::ColumnarRows::Column& col = columns.columns(c);
    if (!col.numbers().empty() && !col.texts().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", col.name(), "': set numbers or texts, not both"));
    }
    const int64_t n = std::max(col.numbers_size(), col.texts_size());
    if (rows < 0) rows = n;
    if (n != rows) {
      return absl::InvalidArgumentError(
          absl::StrCat("column '", col.name(), "' has ", n, " values; column '",
                       columns.columns(0).name(), "' has ", rows));
    }
  }
  if (rows == 0) return absl::InvalidArgumentError("columns: no rows");
  Table table;
  table.Reserve(num_columns);
  for (const v1::ColumnarRows::Column& col : columns.columns()) {
    ASSIGN_OR_RETURN(Column column, PackedColumn(col, types));
    RETURN_IF_ERROR(table.AddColumn(std::move(column)));
  }
  return table;
}

bool NumericFeaturesFromRows(const v1::InlineRows& rows,
                             const Artifact& artifact, Eigen::MatrixXd* x) {
  constexpr int kMaxColumns = 64;
  const int num_columns = rows.columns_size();
  const int num_rows = rows.rows_size();
  if (!artifact.numeric_inputs_only() || num_columns == 0 ||
      num_columns > kMaxColumns || num_rows == 0) {
    return false;
  }
  if (!CheckColumnNames("rows", num_columns, [&](int c) -> const std::string& {
         return rows.columns(c);
       }).ok()) {
    return false;
  }
  // The request column of each model input.
  const std::vector<InputColumn>& inputs = artifact.input_schema();
  std::vector<int> source(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& name = inputs[i].name;
    int found = -1;
    for (int c = 0; c < num_columns && found < 0; ++c) {
      const std::string& column = rows.columns(c);
      if (column.size() == name.size() && column == name) found = c;
    }
    if (found < 0) return false;
    source[i] = found;
  }
  for (const v1::Row& row : rows.rows()) {
    if (row.values_size() != num_columns) return false;
    for (const v1::Value& v : row.values()) {
      if (v.kind_case() == v1::Value::KIND_NOT_SET) continue;  // missing
      if (v.kind_case() != v1::Value::kNumber || std::isinf(v.number())) {
        return false;
      }
    }
  }
  const Pipeline& pipeline = artifact.pipeline();
  x->resize(num_rows, static_cast<Eigen::Index>(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const NumericTransform& t =
        pipeline.numeric_transforms(static_cast<int>(i))[0];
    const int c = source[i];
    for (int r = 0; r < num_rows; ++r) {
      const v1::Value& v = rows.rows(r).values(c);
      (*x)(r, static_cast<Eigen::Index>(i)) = t.Apply(
          v.kind_case() == v1::Value::kNumber ? v.number() : std::nan(""));
    }
  }
  return true;
}

absl::StatusOr<Table> TableFromRows(const v1::InlineRows& rows,
                                    const ColumnTypes& types) {
  const int num_columns = rows.columns_size();
  RETURN_IF_ERROR(CheckColumnNames(
      "rows", num_columns,
      [&](int c) -> const std::string& { return rows.columns(c); }));
  for (int r = 0; r < rows.rows_size(); ++r) {
    if (rows.rows(r).values_size() != num_columns) {
      return absl::InvalidArgumentError(
          absl::StrCat("row ", r, " has ", rows.rows(r).values_size(),
                       " values, expected ", num_columns, " (one per column)"));
    }
  }
  Table table;
  table.Reserve(num_columns);
  for (int c = 0; c < num_columns; ++c) {
    auto forced = types.find(rows.columns(c));
    const ColumnType type =
        forced != types.end() ? forced->second : InferType(rows, c);
    switch (type) {
      case ColumnType::kNumeric: {
        ASSIGN_OR_RETURN(Column column, NumericColumn(rows, c));
        RETURN_IF_ERROR(table.AddColumn(std::move(column)));
        break;
      }
      case ColumnType::kDate: {
        ASSIGN_OR_RETURN(Column column, DateColumn(rows, c));
        RETURN_IF_ERROR(table.AddColumn(std::move(column)));
        break;
      }
      case ColumnType::kCategorical:
        RETURN_IF_ERROR(table.AddColumn(CategoricalColumn(rows, c)));
        break;
    }
  }
  return table;
}

// -------------------------------------------------------------- training

namespace {

// Whether the options ask for something only classifiers do.
bool AsksForClassification(const v1::TrainOptions& o) {
  return !o.class_weight().empty() || o.class_weights_size() > 0 ||
         !o.rebalance().empty();
}

// class_weight, class_weights, rebalance and augmentation into `spec`;
// INVALID_ARGUMENT naming the field for what the proto alone makes wrong
// (ValidateTrainSpec checks the rest).
absl::Status RebalanceFromProto(const v1::TrainOptions& o, TrainSpec* spec) {
  ASSIGN_OR_RETURN(spec->class_weight,
                   ParseClassWeightMode(o.class_weight(),
                                        "options.class_weight"));
  if (o.class_weights_size() > 0) {
    if (spec->class_weight != ClassWeightMode::kNone) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.class_weights: per-label weights and class_weight '",
          o.class_weight(), "' exclude each other: set one"));
    }
    spec->class_weight = ClassWeightMode::kExplicit;
    for (const v1::ClassWeight& w : o.class_weights()) {
      spec->class_weights.emplace_back(w.label(), w.weight());
    }
  }
  ASSIGN_OR_RETURN(spec->rebalance,
                   ParseRebalanceMode(o.rebalance(), "options.rebalance"));
  const v1::AugmentationOptions& a = o.augmentation();
  if (!(a.noise() >= 0 && a.noise() <= kMaxAugmentNoise)) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.augmentation.noise: must be in [0, ",
                     kMaxAugmentNoise, "] (0 = off), got ", a.noise()));
  }
  if (a.copies() < 0 || a.copies() > kMaxAugmentCopies) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.augmentation.copies: must be in [0, ", kMaxAugmentCopies,
        "] (0 = 1 with noise), got ", a.copies()));
  }
  if (a.copies() > 0 && a.noise() == 0) {
    return absl::InvalidArgumentError(
        "options.augmentation.copies: noisy copies need augmentation.noise "
        "> 0");
  }
  spec->augment_noise = a.noise();
  spec->augment_copies = a.copies();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainSpec> TrainSpecFromProto(const v1::TrainOptions& o,
                                             ColumnType target_type) {
  TrainSpec spec;
  if (o.target().empty()) {
    return absl::InvalidArgumentError(
        "options.target: a target column is required");
  }
  spec.target = o.target();
  spec.features.assign(o.features().begin(), o.features().end());
  for (size_t i = 0; i < spec.features.size(); ++i) {
    if (spec.features[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.features[", i, "] is empty"));
    }
  }
  ASSIGN_OR_RETURN(spec.kind, KindFromProto(o.task(), o.model(), target_type));
  ASSIGN_OR_RETURN(spec.optimizer, OptimizerFromProto(o.optimizer()));
  if (o.epochs() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.epochs: must be >= 0 (0 = default), got ", o.epochs()));
  }
  spec.epochs = o.epochs();
  if (o.batch_size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.batch_size: must be >= 0 (0 = 32), got ", o.batch_size()));
  }
  if (o.batch_size() > 0) spec.batch_size = o.batch_size();
  spec.learning_rate = o.learning_rate();
  // Set penalties must be >= 0: TrainSpec reads a negative one as "default",
  // which would silently replace what the client asked for.
  if (o.has_l1() && !(o.l1() >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.l1: must be >= 0 (unset = default), got ", o.l1()));
  }
  if (o.has_l2() && !(o.l2() >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.l2: must be >= 0 (unset = default), got ", o.l2()));
  }
  if (o.has_l1()) spec.l1 = o.l1();
  if (o.has_l2()) spec.l2 = o.l2();
  if (o.hidden_layers_size() > 0) {
    spec.hidden_layers.assign(o.hidden_layers().begin(),
                              o.hidden_layers().end());
  }
  ASSIGN_OR_RETURN(spec.activation, ActivationFromProto(o.activation()));
  if (o.has_validation_split()) {
    if (!(o.validation_split() >= 0 && o.validation_split() <= 0.9)) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.validation_split: must be in [0, 0.9], got ",
                       o.validation_split()));
    }
    spec.validation_fraction = o.validation_split();
  }
  if (o.has_early_stopping_patience()) {
    spec.early_stopping_patience = o.early_stopping_patience();
  }
  if (o.has_seed()) spec.seed = o.seed();
  if (o.has_momentum()) spec.momentum = o.momentum();
  spec.nesterov = o.nesterov();
  ASSIGN_OR_RETURN(spec.lr_schedule, LrScheduleFromProto(o.lr_schedule()));
  if (o.has_importance_repeats()) {
    spec.importance_repeats = o.importance_repeats();
  }
  if (o.has_importance_max_rows()) {
    spec.importance_max_rows = o.importance_max_rows();
  }
  RETURN_IF_ERROR(
      PreprocessingFromProto(o.preprocessing(), &spec.preprocessing));
  RETURN_IF_ERROR(RebalanceFromProto(o, &spec));
  absl::Status valid = ValidateTrainSpec(spec);
  if (!valid.ok()) {
    std::string message = absl::StrCat("options.", valid.message());
    if (o.task() == v1::TASK_UNSPECIFIED &&
        o.model() != v1::MODEL_TYPE_LINEAR &&
        target_type == ColumnType::kNumeric && !IsClassifier(spec.kind) &&
        AsksForClassification(o)) {
      absl::StrAppend(&message, " (the task follows from the target '",
                      o.target(),
                      "', which is numeric: set task to classification)");
    }
    return absl::Status(valid.code(), message);
  }
  return spec;
}

bool EpochBasedTraining(const v1::TrainOptions& options) {
  return options.optimizer() == v1::OPTIMIZER_SGD ||
         options.optimizer() == v1::OPTIMIZER_ADAM ||
         (options.optimizer() == v1::OPTIMIZER_UNSPECIFIED &&
          options.model() == v1::MODEL_TYPE_MLP);
}

int CheckpointEveryEpochs(const v1::TrainOptions& options) {
  if (!EpochBasedTraining(options)) return 0;
  return options.has_checkpoint_every_epochs()
             ? options.checkpoint_every_epochs()
             : kDefaultCheckpointEveryEpochs;
}

absl::Status ValidateTrainOptions(const v1::TrainOptions& options) {
  if (options.has_checkpoint_every_epochs() &&
      (options.checkpoint_every_epochs() < 0 ||
       options.checkpoint_every_epochs() > kMaxCheckpointEveryEpochs)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.checkpoint_every_epochs: must be in [0, ",
        kMaxCheckpointEveryEpochs, "] (0 = no checkpoints), got ",
        options.checkpoint_every_epochs()));
  }
  // Class weights and rebalancing imply a classifier: with the task left to
  // the target's type, a numeric target is only known to be wrong once the
  // data is read (the job then fails with the hint above).
  if (!(options.task() == v1::TASK_UNSPECIFIED &&
        AsksForClassification(options))) {
    RETURN_IF_ERROR(
        TrainSpecFromProto(options, ColumnType::kNumeric).status());
  }
  return TrainSpecFromProto(options, ColumnType::kCategorical).status();
}

// ------------------------------------------------------------- results

void MetricsToProto(const MetricList& metrics,
                    google::protobuf::RepeatedPtrField<v1::Metric>* out) {
  for (const auto& [name, value] : metrics) {
    v1::Metric* m = out->Add();
    m->set_name(name);
    m->set_value(value);
  }
}

v1::EvaluateResponse EvaluationToProto(const Evaluation& evaluation,
                                       const ModelMetadata& metadata) {
  v1::EvaluateResponse out;
  out.set_name(metadata.name);
  out.set_version(metadata.version);
  MetricsToProto(evaluation.metrics, out.mutable_metrics());
  out.set_rows_used(evaluation.rows_used);
  out.set_rows_dropped(evaluation.rows_dropped);
  if (evaluation.importance.has_value()) {
    ImportanceToProto(*evaluation.importance, out.mutable_importance());
  }
  if (evaluation.classification.has_value()) {
    const ClassificationMetrics& c = *evaluation.classification;
    v1::ConfusionMatrix* cm = out.mutable_confusion_matrix();
    for (const ClassMetrics& m : c.per_class) {
      v1::ClassMetrics* p = out.add_per_class();
      p->set_label(m.label);
      p->set_precision(m.precision);
      p->set_recall(m.recall);
      p->set_f1(m.f1);
      p->set_support(m.support);
      cm->add_labels(m.label);
    }
    for (Eigen::Index i = 0; i < c.confusion.rows(); ++i) {
      for (Eigen::Index j = 0; j < c.confusion.cols(); ++j) {
        cm->add_counts(c.confusion(i, j));
      }
    }
  }
  return out;
}

void PredictionsToProto(const Predictions& predictions,
                        const ModelMetadata& metadata, bool packed,
                        v1::PredictResponse* out) {
  out->set_name(metadata.name);
  out->set_version(metadata.version);
  if (packed) {
    if (!IsClassifier(metadata.kind)) {
      out->mutable_values()->Add(
          predictions.values.data(),
          predictions.values.data() + predictions.values.size());
      return;
    }
    for (const std::string& label : metadata.class_labels) {
      out->add_class_labels(label);
    }
    out->mutable_label_indices()->Add(predictions.classes.begin(),
                                      predictions.classes.end());
    // Row-major: the transpose of the column-major probabilities.
    const Eigen::Index n = predictions.probabilities.rows();
    const Eigen::Index k = predictions.probabilities.cols();
    auto* p = out->mutable_probabilities();
    p->Resize(static_cast<int>(n * k), 0.0);
    Eigen::Map<
        Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        p->mutable_data(), n, k) = predictions.probabilities;
    return;
  }
  if (!IsClassifier(metadata.kind)) {
    const int n = static_cast<int>(predictions.values.size());
    out->mutable_predictions()->Reserve(n);
    for (int i = 0; i < n; ++i) {
      out->add_predictions()->set_value(predictions.values[i]);
    }
    return;
  }
  for (const std::string& label : metadata.class_labels) {
    out->add_class_labels(label);
  }
  const int n = static_cast<int>(predictions.classes.size());
  const int k = static_cast<int>(predictions.probabilities.cols());
  out->mutable_predictions()->Reserve(n);
  for (int i = 0; i < n; ++i) {
    v1::Prediction* p = out->add_predictions();
    const int32_t cls = predictions.classes[i];
    if (cls >= 0 && static_cast<size_t>(cls) < metadata.class_labels.size()) {
      p->set_label(metadata.class_labels[cls]);
    }
    auto* probabilities = p->mutable_probabilities();
    probabilities->Reserve(k);
    for (int c = 0; c < k; ++c) {
      probabilities->AddAlreadyReserved(predictions.probabilities(i, c));
    }
  }
}

v1::PredictResponse PredictionsToProto(const Predictions& predictions,
                                       const ModelMetadata& metadata) {
  v1::PredictResponse out;
  PredictionsToProto(predictions, metadata, /*packed=*/false, &out);
  return out;
}

v1::VersionInfo VersionInfoToProto(const Artifact& artifact) {
  const ModelMetadata& m = artifact.metadata();
  v1::VersionInfo out;
  out.set_version(m.version);
  out.set_kind(std::string(ModelKindName(m.kind)));
  out.set_target(m.target);
  out.set_target_type(ColumnTypeToProto(m.target_type));
  for (const std::string& label : m.class_labels) out.add_class_labels(label);
  for (const InputColumn& c : artifact.input_schema()) {
    v1::InputColumn* in = out.add_inputs();
    in->set_name(c.name);
    in->set_type(ColumnTypeToProto(c.type));
  }
  MetricsToProto(m.train_metrics, out.mutable_train_metrics());
  MetricsToProto(m.validation_metrics, out.mutable_validation_metrics());
  for (const auto& [key, value] : m.hyperparameters) {
    v1::Hyperparameter* h = out.add_hyperparameters();
    h->set_key(key);
    h->set_value(value);
  }
  out.set_rows_total(m.rows_total);
  out.set_rows_train(m.rows_train);
  out.set_rows_validation(m.rows_validation);
  out.set_rows_dropped(m.rows_dropped);
  out.set_data_checksum(absl::StrFormat("crc32c:%08x", m.data_checksum));
  out.set_created_unix_micros(m.created_unix_micros);
  out.set_library_version(m.library_version);
  out.set_epochs(m.epochs_run);
  out.set_early_stopped(m.early_stopped);
  out.set_training_seconds(m.training_seconds);
  out.set_optimizer(m.optimizer);
  out.set_resumed_from_epoch(static_cast<int32_t>(m.resumed_from_epoch));
  if (m.tuning.has_value()) {
    *out.mutable_tuning() = TuneSummaryToProto(*m.tuning);
  }
  if (m.importance.has_value()) {
    ImportanceToProto(*m.importance, out.mutable_importance());
  }
  if (m.rows_oversampled != 0 || m.rows_augmented != 0 ||
      !m.class_weights.empty() || m.gate.has_value()) {
    v1::AugmentationSummary* a = out.mutable_augmentation();
    a->set_rows_oversampled(m.rows_oversampled);
    a->set_rows_augmented(m.rows_augmented);
    for (size_t c = 0; c < m.class_weights.size(); ++c) {
      v1::ClassWeight* w = a->add_class_weights();
      if (c < m.class_labels.size()) w->set_label(m.class_labels[c]);
      w->set_weight(m.class_weights[c]);
    }
    if (m.gate.has_value()) *a->mutable_gate() = GateResultToProto(*m.gate);
  }
  return out;
}

absl::StatusOr<GateSpec> GateSpecFromProto(const v1::Gate& gate) {
  GateSpec g;
  for (int i = 0; i < gate.conditions_size(); ++i) {
    const v1::GateCondition& c = gate.conditions(i);
    GateCondition condition;
    condition.metric = c.metric();
    ASSIGN_OR_RETURN(condition.op,
                     ParseGateOp(c.op(), absl::StrCat("gate.conditions[", i,
                                                      "].op")));
    condition.value = c.value();
    g.conditions.push_back(std::move(condition));
  }
  g.better_than_label = gate.better_than_label();
  g.compare_metric = gate.compare_metric();
  return g;
}

v1::GateResult GateResultToProto(const GateResult& g) {
  v1::GateResult out;
  out.set_passed(g.passed);
  out.set_reason(g.reason);
  for (const GateConditionResult& c : g.conditions) {
    v1::GateConditionResult* p = out.add_conditions();
    p->set_condition(c.condition);
    p->set_passed(c.passed);
    p->set_value(c.value);
    p->set_baseline_value(c.baseline_value);
    p->set_baseline_version(c.baseline_version);
  }
  MetricsToProto(g.holdout_metrics, out.mutable_holdout_metrics());
  out.set_holdout_rows(g.holdout_rows);
  out.set_promoted_label(g.promoted_label);
  return out;
}


v1::JobFailed JobFailedToProto(const absl::Status& error) {
  const grpc::Status s = ToGrpcStatus(error);
  v1::JobFailed out;
  out.set_code(static_cast<int>(s.error_code()));
  out.set_message(s.error_message());
  return out;
}

v1::Job JobToProto(const JobSnapshot& job) {
  v1::Job out;
  out.set_job_id(job.id);
  out.set_name(job.name);
  out.set_state(JobStateToProto(job.state));
  out.set_epoch(job.epoch);
  out.set_max_epochs(job.max_epochs);
  out.set_train_loss(job.train_loss);
  out.set_validation_loss(job.validation_loss);
  out.set_version(job.version);
  if (!job.error.ok()) *out.mutable_error() = JobFailedToProto(job.error);
  out.set_created_unix_micros(job.created_unix_micros);
  out.set_started_unix_micros(job.started_unix_micros);
  out.set_finished_unix_micros(job.finished_unix_micros);
  out.set_resumed_from_epoch(job.resumed_from_epoch);
  out.set_checkpoint_epoch(job.checkpoint_epoch);
  out.set_kind(job.tune ? "tune" : "train");
  if (job.tune) *out.mutable_tune() = TuneProgressToProto(job.tune_progress);
  return out;
}

v1::TrainEvent TrainEventToProto(const std::string& job_id,
                                 const std::string& name,
                                 const JobEvent& event) {
  v1::TrainEvent out;
  out.set_job_id(job_id);
  switch (event.type) {
    case JobEvent::Type::kAccepted: {
      v1::JobAccepted* a = out.mutable_accepted();
      a->set_job_id(job_id);
      a->set_name(name);
      break;
    }
    case JobEvent::Type::kEpoch: {
      const EpochEvent& e = event.epoch;
      v1::EpochProgress* p = out.mutable_epoch();
      p->set_epoch(e.epoch);
      p->set_max_epochs(e.max_epochs);
      p->set_train_loss(e.train_loss);
      p->set_validation_loss(e.validation_loss);
      p->set_metric_name(e.metric_name);
      p->set_validation_metric(e.validation_metric);
      p->set_elapsed_seconds(e.elapsed_seconds);
      p->set_remaining_seconds(e.remaining_seconds);
      p->set_learning_rate(e.learning_rate);
      break;
    }
    case JobEvent::Type::kSucceeded: {
      const JobOutcome& o = event.outcome;
      v1::TrainResult* r = out.mutable_result();
      r->set_name(o.name.empty() ? name : o.name);
      r->set_version(o.version);
      MetricsToProto(o.validation_metrics, r->mutable_validation_metrics());
      MetricsToProto(o.train_metrics, r->mutable_train_metrics());
      r->set_epochs(o.epochs);
      r->set_early_stopped(o.early_stopped);
      r->set_training_seconds(o.training_seconds);
      r->set_rows_train(o.rows_train);
      r->set_rows_validation(o.rows_validation);
      r->set_rows_dropped(o.rows_dropped);
      r->set_rows_oversampled(o.rows_oversampled);
      r->set_rows_augmented(o.rows_augmented);
      if (o.gate != nullptr) *r->mutable_gate() = GateResultToProto(*o.gate);
      break;
    }
    case JobEvent::Type::kFailed:
      *out.mutable_failed() = JobFailedToProto(event.error);
      break;
    case JobEvent::Type::kResumed: {
      v1::JobResumed* r = out.mutable_resumed();
      r->set_from_epoch(event.resumed_from_epoch);
      r->set_note(event.resume_note);
      break;
    }
    case JobEvent::Type::kTrial:
      *out.mutable_tune_progress() = TuneProgressToProto(event.trial);
      break;
    case JobEvent::Type::kSearchDone:
      if (event.search != nullptr) {
        *out.mutable_tune_summary() = TuneSummaryToProto(*event.search);
      }
      break;
  }
  return out;
}

}  // namespace modelserver::server
