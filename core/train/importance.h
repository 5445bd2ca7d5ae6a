// File: core/train/importance.h
// Permutation feature importance: how much a trained model's main metric
// drops when one raw input column's values are shuffled across rows.
//
//   rows: at most max_rows of the given rows, sampled without replacement
//         with the seed (all rows, in order, when there are fewer)
//   baseline = metric of the model on those rows
//   for each raw column c and repeat r = 0 .. repeats - 1:
//     shuffle column c across the rows (ImportancePermutation(rows, seed,
//     r, c)), keep every other column, predict
//     drop[c][r] = baseline - metric
//   importance[c] = mean and population standard deviation of drop[c][.]
// The metric is the main one of the model kind: r2 for regression,
// accuracy for classification (MainMetric below). A column the model
// ignores has importance 0; a negative mean means shuffling happened to
// help (noise).
//
// Raw columns, not pipeline outputs: every pipeline output comes from one
// raw column (Pipeline::output_sources) and is computed from that row's
// value alone (imputation, clipping, scaling, one-hot encoding and date
// parts are row-wise with statistics fitted once). Shuffling the rows of a
// raw column and running the pipeline again therefore gives exactly the
// transformed matrix with the rows of that column's outputs shuffled the
// same way (all one-hot levels or all five date parts together): this is
// how the shuffle is applied, on the design matrix, without the raw table.
//
// Cost: linear and logistic models are not re-run: only the shuffled
// columns change the logits (Z' = Z + (X'_g - X_g) W_g, exact up to
// rounding, so a column with zero weights drops exactly 0), rows x |group|
// x outputs per shuffle. Other models (MLPs) predict every shuffled row set
// in full; for them the rows are further limited so that columns x repeats
// x rows x parameters stays within options.mlp_work_budget multiply-adds
// (2^35 by default; never below 200 rows): report.rows is the number used.
//
// Determinism: the result depends only on the inputs and the options (the
// seed included), never on the thread count: each (column, repeat) has its
// own permutation and rows are predicted in fixed blocks.
//
// Thread-safety: PermutationImportance is reentrant; `model` is only read.
#ifndef MODELSERVER_CORE_TRAIN_IMPORTANCE_H_
#define MODELSERVER_CORE_TRAIN_IMPORTANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/model.h"
#include "core/util/parallel.h"

namespace modelserver {

struct FeatureImportanceOptions {
  // Shuffles per column, in [1, kMaxImportanceRepeats]. Default 5.
  int repeats = 5;
  // Rows used at most, in [1, kMaxImportanceRows]; more rows are sampled
  // down with the seed. Default 10,000.
  int64_t max_rows = 10000;
  uint64_t seed = 42;
  // MLPs (and any model that is not linear/logistic): rows are further
  // limited so that columns x repeats x rows x parameters stays within this
  // many multiply-adds, but never below 200 rows. Finite, > 0. Default 2^35.
  double mlp_work_budget = 34359738368.0;
};
inline constexpr int kMaxImportanceRepeats = 100;
inline constexpr int64_t kMaxImportanceRows = 1000000;

// INVALID_ARGUMENT naming the field ("importance repeats", "importance
// max_rows") when a value is out of range.
absl::Status ValidateImportanceOptions(const FeatureImportanceOptions& o);

struct ColumnImportance {
  std::string column;
  double mean = 0;
  double std = 0;             // population standard deviation of `drops`
  std::vector<double> drops;  // one per repeat
};

struct FeatureImportanceReport {
  std::string metric;  // "r2" or "accuracy"
  double baseline = 0;
  // Which rows: "validation", "training" (set by the trainer) or
  // "evaluation" (Artifact::Evaluate).
  std::string data;
  int64_t rows = 0;
  int repeats = 0;
  uint64_t seed = 0;
  std::vector<ColumnImportance> columns;  // in raw input column order
};

// The main metric of `model`'s outputs (Model::Predict) against the truth:
// regression r2 = 1 - SS_res / SS_tot against y.col(0) (1 when the target
// is constant and matched exactly, else 0 for a constant target);
// classification accuracy against `classes` (binary: P(class 1) > 0.5).
// NaN for no rows. "r2" or "accuracy" is MainMetricName(kind).
double MainMetric(ModelKind kind, const Eigen::MatrixXd& outputs,
                  const Eigen::MatrixXd& y,
                  const std::vector<int32_t>& classes);
const char* MainMetricName(ModelKind kind);

// The permutation of [0, n) applied to column `column` in repeat `repeat`
// (a Fisher-Yates shuffle seeded from (seed, repeat, column)): row i takes
// the values of row perm[i].
std::vector<int64_t> ImportancePermutation(int64_t n, uint64_t seed, int repeat,
                                           int column);

// The rows kept from n when at most max_rows are wanted: [0, n) when
// n <= max_rows, else max_rows rows drawn without replacement with `seed`,
// ascending.
std::vector<int64_t> ImportanceSample(int64_t n, int64_t max_rows,
                                      uint64_t seed);

// Importance of each raw column on the design matrix `x` (rows x
// model.num_inputs(), the pipeline's outputs). `sources[j]` is the raw
// column of x's column j (Pipeline::output_sources), `columns` the raw
// column names. `y` has the model's target layout (EncodedTarget::y) and
// `classes` the class per row (classifiers; empty for regression).
// `data` is copied into the report. With `pool`, (column, repeat) pairs
// run in parallel (same result).
// INVALID_ARGUMENT for invalid options, x without rows, or sizes that do
// not agree (x and y rows, x columns and sources, a source out of range).
absl::StatusOr<FeatureImportanceReport> PermutationImportance(
    const Model& model, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
    const std::vector<int32_t>& classes, const std::vector<int>& sources,
    const std::vector<std::string>& columns,
    const FeatureImportanceOptions& options, const std::string& data,
    ThreadPool* pool = nullptr);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_IMPORTANCE_H_
