// File: server/limits.h
// Limits: how much one request may ask of the server. Each is a flag of
// `modelserver` (docs/operations.md lists them with their defaults).
// Exceeding a size limit of data (rows, columns, categorical levels, rows
// of one prediction request) is RESOURCE_EXHAUSTED; asking for a model or a
// training run beyond the limits (hidden units, hidden layers, epochs) is
// INVALID_ARGUMENT. Every message names the limit's flag and the value
// found. (Message size, upload size and training-queue length are limits
// too; gRPC, UploadStore and JobManager enforce them.)
#ifndef MODELSERVER_SERVER_LIMITS_H_
#define MODELSERVER_SERVER_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"
#include "modelserver/v1/model_service.pb.h"

namespace modelserver::server {

struct Limits {
  // Data rows of a training or evaluation dataset (--max-rows).
  int64_t max_rows = 10'000'000;
  // Columns of a dataset or of one prediction request (--max-columns).
  int64_t max_columns = 10'000;
  // Distinct values of one categorical column of a dataset
  // (--max-categorical-levels).
  int64_t max_categorical_levels = 10'000;
  // Units of one MLP hidden layer (--max-hidden-units) and hidden layers
  // (--max-hidden-layers).
  int64_t max_hidden_units = 4'096;
  int64_t max_hidden_layers = 16;
  // Epochs (SGD, Adam) or iterations (L-BFGS) one Train may ask for
  // (--max-epochs).
  int64_t max_epochs = 100'000;
  // Rows of one Predict, ModelInfer or REST infer request
  // (--max-predict-rows).
  int64_t max_predict_rows = 1'000'000;
  // Trials of one Tune (--max-tune-trials): its max_trials, or its grid's
  // size when max_trials is 0. Each trial is also held to the limits above.
  int64_t max_tune_trials = 1'000;
};

// OK, or INVALID_ARGUMENT naming the first limit that a field of `options`
// (epochs, hidden_layers) exceeds.
absl::Status CheckTrainLimits(const v1::TrainOptions& options,
                              const Limits& limits);

// OK, or INVALID_ARGUMENT naming --max-tune-trials when the trials a Tune
// plans (max_trials; else the grid's size, the product of its list sizes,
// (saturating), or 20 for random) exceed it, or the first of CheckTrainLimits' limits that
// the base options or a searched value (space.epochs, space.hidden_layers)
// exceeds.
absl::Status CheckTuneLimits(const v1::TuneRequest& request,
                             const Limits& limits);

// OK, or RESOURCE_EXHAUSTED when `table` (a training or evaluation
// dataset) has more rows, columns, or levels in one categorical column than
// the limits allow.
absl::Status CheckDatasetLimits(const Table& table, const Limits& limits);

// OK, or RESOURCE_EXHAUSTED when a prediction request of `rows` rows and
// `columns` columns (-1 = not known yet) exceeds the limits. `what` names
// the part of the request ("rows", "input 'x'").
absl::Status CheckPredictLimits(int64_t rows, int64_t columns,
                                absl::string_view what, const Limits& limits);

// Adds which flag applies to a RESOURCE_EXHAUSTED status of the CSV reader
// (its message names CsvOptions' field, e.g. max_rows=..., not the flag):
// `rows_flag` for rows ("--max-rows", "--max-predict-rows"), --max-columns
// for columns.
absl::Status ExplainCsvLimit(absl::Status status,
                             absl::string_view rows_flag = "--max-rows");

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_LIMITS_H_
