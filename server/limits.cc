// File: server/limits.cc
#include "server/limits.h"

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
