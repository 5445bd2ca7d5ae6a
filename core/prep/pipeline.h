// File: core/prep/pipeline.h
// Pipeline: the preprocessing learned from the training rows that turns a
// Table into the numeric matrix a Model consumes. It is fitted once, stored
// inside the model artifact, and the same object transforms rows at
// training, evaluation and prediction.
//
// Per input column, in the order of `features`:
//   numeric      impute -> clip (optional) -> scale            1 output "x"
//   date         5 parts (year, month, day, day_of_week, hour), each imputed,
//                clipped and scaled like a numeric column      5 outputs
//                "x.year", "x.month", "x.day", "x.day_of_week", "x.hour";
//                a missing date makes all 5 parts missing
//   categorical  impute -> one-hot, levels ordered by descending training
//                frequency (ties: first seen in row order); at most
//                max_levels outputs "x=level", the rarest levels sharing
//                "x=<other>"; a level unseen at fit encodes as all zeros
// Statistics are computed on the training rows only (the rows of the table
// given to Fit). See docs/preprocessing.md for details and the byte layout.
//
// Thread-safety: a fitted Pipeline is immutable; const methods (Transform,
// Encode, accessors) may be called concurrently.
#ifndef MODELSERVER_CORE_PREP_PIPELINE_H_
#define MODELSERVER_CORE_PREP_PIPELINE_H_

#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "core/prep/transforms.h"
#include "core/util/bytes.h"
#include "core/util/parallel.h"

namespace modelserver {

struct PipelineOptions {
  // Imputation of numeric columns and of each date part. Default kMean.
  ImputeStrategy numeric_impute = ImputeStrategy::kMean;
  // Imputation of categorical columns: kMostFrequent (default) or kConstant;
  // kMean and kMedian are invalid here.
  ImputeStrategy categorical_impute = ImputeStrategy::kMostFrequent;
  // Fill value of numeric columns and date parts under kConstant. Must be
  // finite. Default 0.
  double numeric_fill_value = 0.0;
  // Fill level of categorical columns under kConstant; it becomes a level
  // (an output) of its own, even if no training row is missing.
  // Default "missing".
  std::string categorical_fill_value = "missing";
  // Per-column override of the two strategies above, by column name. Each
  // name must be one of the features; categorical columns accept only
  // kMostFrequent and kConstant. Default empty.
  absl::flat_hash_map<std::string, ImputeStrategy> column_impute;
  // Outlier clipping of numeric columns and date parts, fitted on the imputed
  // training values. Default kNone.
  OutlierMethod outliers = OutlierMethod::kNone;
  // kQuantile clips to these training quantiles (numpy "linear"
  // interpolation). Require 0 <= lower_quantile <= upper_quantile <= 1.
  // Defaults 0.01 and 0.99.
  double lower_quantile = 0.01;
  double upper_quantile = 0.99;
  // kZScore clips to mean +- zscore_threshold * std (population std) of the
  // imputed training values. Must be > 0 and finite. Default 3.
  double zscore_threshold = 3.0;
  // Scaling of numeric columns and date parts (one-hot outputs are never
  // scaled), fitted on the imputed and clipped training values.
  // Default kStandard.
  ScalingMethod scaling = ScalingMethod::kStandard;
  // At most this many one-hot outputs per categorical column; a column with
  // more levels keeps the max_levels - 1 most frequent (ties: first seen)
  // and maps the others to one "<other>" output. Must be >= 2. Default 50.
  int max_levels = 50;
};

// Checks the field values that do not depend on the data. INVALID_ARGUMENT
// naming the field otherwise.
absl::Status ValidatePipelineOptions(const PipelineOptions& options);

struct InputColumn {
  std::string name;
  ColumnType type;
};

class Pipeline {
 public:
  // An empty pipeline (no inputs, no outputs); real ones come from Fit or
  // Decode.
  Pipeline() = default;

  // Fits on all rows of `table`, using the columns `features` in that order.
  // INVALID_ARGUMENT (naming the column or option) when: a feature is not in
  // the table, a feature is listed twice, `features` is empty, the table has
  // zero rows, the options are invalid, a column_impute entry names no
  // feature or gives a categorical column kMean/kMedian, a column has no
  // non-missing value and its strategy is not kConstant, or a numeric or
  // date value is infinite (named with its row).
  // With `pool`, columns are fitted in parallel (same result).
  static absl::StatusOr<Pipeline> Fit(const Table& table,
                                      const std::vector<std::string>& features,
                                      const PipelineOptions& options,
                                      ThreadPool* pool = nullptr);

  // One row per row of `table`, num_outputs() columns in the order of
  // output_names(). Columns are found by name, extra columns are ignored.
  // Missing values are imputed with the fitted statistics; a categorical
  // level not seen at fit encodes as all zeros. INVALID_ARGUMENT naming the
  // column when a required column is absent, has another type ("column 'x':
  // expected categorical, got numeric"), or holds an infinite value (also
  // naming the row).
  // With `pool`, columns are transformed in parallel (same result). The
  // pipeline is read-only here: concurrent Transform calls are safe.
  absl::StatusOr<Eigen::MatrixXd> Transform(const Table& table,
                                            ThreadPool* pool = nullptr) const;

  const std::vector<InputColumn>& inputs() const { return inputs_; }
  int num_outputs() const { return static_cast<int>(output_names_.size()); }
  // "age", "color=red", "color=<other>", "when.year", "when.month",
  // "when.day", "when.day_of_week", "when.hour".
  const std::vector<std::string>& output_names() const { return output_names_; }
  // Index into inputs() of the column each output comes from.
  const std::vector<int>& output_sources() const { return output_sources_; }
  const PipelineOptions& options() const { return options_; }

  // The fitted transforms of input i: NumericTransforms for numeric (1) and
  // date (5, in DatePartNames() order) columns, the OneHotEncoder for
  // categorical ones (empty otherwise).
  const std::vector<NumericTransform>& numeric_transforms(int i) const {
    return columns_[i].numeric;
  }
  const OneHotEncoder& one_hot_encoder(int i) const {
    return columns_[i].one_hot;
  }

  // Appends the options and the fitted state (docs/preprocessing.md).
  void Encode(ByteWriter* out) const;
  // Reads what Encode wrote, leaving `in` just after it. DATA_LOSS on
  // truncated, corrupted or inconsistent bytes.
  static absl::StatusOr<Pipeline> Decode(ByteReader* in);

 private:
  struct FittedColumn {
    std::vector<NumericTransform> numeric;
    OneHotEncoder one_hot;
  };

  // Fills output_names_ and output_sources_ from inputs_ and columns_.
  void BuildOutputs();

  PipelineOptions options_;
  std::vector<InputColumn> inputs_;
  std::vector<FittedColumn> columns_;
  std::vector<std::string> output_names_;
  std::vector<int> output_sources_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_PREP_PIPELINE_H_
