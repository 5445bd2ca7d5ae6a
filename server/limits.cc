// File: server/limits.cc
#include "server/limits.h"

#include <algorithm>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace modelserver::server {

absl::Status CheckTrainLimits(const v1::TrainOptions& options,
                              const Limits& limits) {
  if (options.epochs() > limits.max_epochs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.epochs: ", options.epochs(), " is more than the server's "
        "--max-epochs=", limits.max_epochs));
  }
  if (options.hidden_layers_size() > limits.max_hidden_layers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.hidden_layers: ", options.hidden_layers_size(),
        " layers are more than the server's --max-hidden-layers=",
        limits.max_hidden_layers));
  }
  for (int i = 0; i < options.hidden_layers_size(); ++i) {
    if (options.hidden_layers(i) > limits.max_hidden_units) {
      return absl::InvalidArgumentError(absl::StrCat(
          "options.hidden_layers[", i, "]: ", options.hidden_layers(i),
          " units are more than the server's --max-hidden-units=",
          limits.max_hidden_units));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTuneLimits(const v1::TuneRequest& request,
                             const Limits& limits) {
  const v1::TuneSpace& space = request.space();
  int64_t planned = request.max_trials();
  if (planned <= 0 && request.mode() == v1::TUNE_MODE_RANDOM) planned = 20;
  if (planned <= 0) {
    planned = 1;
    for (int n : {space.models_size(), space.learning_rates_size(),
                  space.l1_size(), space.l2_size(),
                  space.hidden_layers_size(), space.epochs_size(),
                  space.scalings_size()}) {
      // Saturates instead of overflowing.
      const int64_t size = std::max(n, 1);
      planned = planned > std::numeric_limits<int64_t>::max() / size
                    ? std::numeric_limits<int64_t>::max()
                    : planned * size;
    }
  }
  if (planned > limits.max_tune_trials) {
    return absl::InvalidArgumentError(absl::StrCat(
        request.max_trials() > 0 ? "max_trials: " : "space: the grid's size ",
        planned, " trials are more than the server's --max-tune-trials=",
        limits.max_tune_trials));
  }
  for (int i = 0; i < space.epochs_size(); ++i) {
    if (space.epochs(i) > limits.max_epochs) {
      return absl::InvalidArgumentError(absl::StrCat(
          "space.epochs[", i, "]: ", space.epochs(i),
          " is more than the server's --max-epochs=", limits.max_epochs));
    }
  }
  for (int i = 0; i < space.hidden_layers_size(); ++i) {
    const v1::TuneLayers& layers = space.hidden_layers(i);
    if (layers.units_size() > limits.max_hidden_layers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "space.hidden_layers[", i, "]: ", layers.units_size(),
          " layers are more than the server's --max-hidden-layers=",
          limits.max_hidden_layers));
    }
    for (int u : layers.units()) {
      if (u > limits.max_hidden_units) {
        return absl::InvalidArgumentError(absl::StrCat(
            "space.hidden_layers[", i, "]: ", u,
            " units are more than the server's --max-hidden-units=",
            limits.max_hidden_units));
      }
    }
  }
  return CheckTrainLimits(request.options(), limits);
}

absl::Status CheckDatasetLimits(const Table& table, const Limits& limits) {
  if (table.num_rows() > limits.max_rows) {
    return absl::ResourceExhaustedError(
        absl::StrCat("data: ", table.num_rows(), " rows are more than the "
                     "server's --max-rows=", limits.max_rows));
  }
  if (table.num_columns() > limits.max_columns) {
    return absl::ResourceExhaustedError(
        absl::StrCat("data: ", table.num_columns(), " columns are more than "
                     "the server's --max-columns=", limits.max_columns));
  }
  for (const Column& column : table.columns()) {
    if (column.type() == ColumnType::kCategorical &&
        static_cast<int64_t>(column.levels().size()) >
            limits.max_categorical_levels) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "data: column '", column.name(), "' has ",
          column.levels().size(), " distinct values, more than the server's "
          "--max-categorical-levels=", limits.max_categorical_levels));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPredictLimits(int64_t rows, int64_t columns,
                                absl::string_view what, const Limits& limits) {
  if (rows > limits.max_predict_rows) {
    return absl::ResourceExhaustedError(absl::StrCat(
        what, ": ", rows, " rows are more than the server's "
        "--max-predict-rows=", limits.max_predict_rows));
  }
  if (columns > limits.max_columns) {
    return absl::ResourceExhaustedError(absl::StrCat(
        what, ": ", columns, " columns are more than the server's "
        "--max-columns=", limits.max_columns));
  }
  return absl::OkStatus();
}

absl::Status ExplainCsvLimit(absl::Status status,
                             absl::string_view rows_flag) {
  if (!absl::IsResourceExhausted(status)) return status;
  const absl::string_view message = status.message();
  absl::string_view flag;
  if (absl::StrContains(message, "max_rows=")) {
    flag = rows_flag;
  } else if (absl::StrContains(message, "max_columns=")) {
    flag = "--max-columns";
  } else {
    return status;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat(message, " (the server's ", flag, ")"));
}

}  // namespace modelserver::server
