// File: core/artifact/artifact.h
// Artifact: everything needed to serve a trained model: the fitted Pipeline,
// the Model and its metadata. It is what a training run produces, what the
// model directory stores (core/artifact/model_store.h) and what Predict and
// Evaluate run. The byte format is documented in docs/artifact-format.md.
//
// Thread-safety: an Artifact is immutable once built; its const methods
// (Predict, Evaluate, Encode) may run concurrently.
#ifndef MODELSERVER_CORE_ARTIFACT_ARTIFACT_H_
#define MODELSERVER_CORE_ARTIFACT_ARTIFACT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "Eigen/Core"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"
#include "core/model/model.h"
#include "core/prep/pipeline.h"
#include "core/train/trainer.h"
#include "core/tune/tune.h"

namespace modelserver {

// The artifact format version this library writes; it reads versions
// 1..kArtifactFormatVersion.
inline constexpr uint32_t kArtifactFormatVersion = 1;

struct ModelMetadata {
  std::string name;
  int64_t version = 0;
  ModelKind kind = ModelKind::kLinearRegression;
  std::string target;
  ColumnType target_type = ColumnType::kNumeric;
  std::vector<std::string> class_labels;  // classifiers: class index -> label
  // Every training setting as text ("learning_rate" -> "0.001", ...).
  std::vector<std::pair<std::string, std::string>> hyperparameters;
  uint64_t seed = 0;
  MetricList train_metrics;
  MetricList validation_metrics;
  int64_t rows_total = 0;
  int64_t rows_dropped = 0;  // missing target
  int64_t rows_train = 0;
  int64_t rows_validation = 0;
  uint32_t data_checksum = 0;  // CRC-32C of the training columns
  int64_t created_unix_micros = 0;
  std::string library_version;
  std::string optimizer;
  int64_t epochs_run = 0;
  bool early_stopped = false;
  double training_seconds = 0;
  // Set on a version published by a hyperparameter search (core/tune,
  // metadata tag 45).
  std::optional<TuneSummary> tuning;
};

// Outputs of Artifact::Predict for n rows.
struct Predictions {
  // Regression: the predicted values (n). Empty for classifiers.
  Eigen::VectorXd values;
  // Classifiers: class probabilities (n x classes, columns in class_labels
  // order) and the predicted class (argmax). Empty for regression.
  Eigen::MatrixXd probabilities;
  std::vector<int32_t> classes;
};

struct Evaluation {
  MetricList metrics;
  // Classifiers: per-class precision/recall/F1 and the confusion matrix
  // (rows: true class, columns: predicted, in class_labels order).
  std::optional<ClassificationMetrics> classification;
  int64_t rows_used = 0;
  int64_t rows_dropped = 0;  // target missing
};

class Artifact {
 public:
  Artifact(ModelMetadata metadata, Pipeline pipeline,
           std::unique_ptr<Model> model);
  Artifact(Artifact&&) = default;
  Artifact& operator=(Artifact&&) = default;

  // Builds the artifact of a training run. `name` and `version` may be set
  // later by the model store.
  static Artifact FromTrainResult(TrainResult result, std::string name,
                                  int64_t version);

  const ModelMetadata& metadata() const { return metadata_; }
  ModelMetadata& mutable_metadata() { return metadata_; }
  const Pipeline& pipeline() const { return pipeline_; }
  const Model& model() const { return *model_; }
  // The raw columns Predict needs, with their types.
  const std::vector<InputColumn>& input_schema() const {
    return pipeline_.inputs();
  }
  // The same as a name -> type map (built once, for request conversion).
  const absl::flat_hash_map<std::string, ColumnType>& input_types() const {
    return input_types_;
  }

  // Runs the pipeline and the model on every row of `table` (raw values;
  // extra columns are ignored). INVALID_ARGUMENT naming a missing column or
  // a column of the wrong type.
  absl::StatusOr<Predictions> Predict(const Table& table) const;
  // The model alone on features that pipeline() already produced (x: rows x
  // pipeline().num_outputs()): Predict(table) is
  // PredictFeatures(pipeline().Transform(table)).
  Predictions PredictFeatures(const Eigen::Ref<const Eigen::MatrixXd>& x) const;
  // Whether every input column is numeric; then pipeline() output i comes
  // from input i alone, through numeric_transforms(i)[0].
  bool numeric_inputs_only() const { return numeric_inputs_only_; }

  // Metrics on labelled rows: `table` must hold the target column; rows with
  // a missing target are dropped and counted. INVALID_ARGUMENT when the
  // target is absent, of the wrong type, holds an unknown class (named), or
  // no row has a target.
  absl::StatusOr<Evaluation> Evaluate(const Table& table) const;

  // Serialised bytes (docs/artifact-format.md).
  std::string Encode() const;
  // Parses bytes written by Encode. DATA_LOSS for a truncated or corrupted
  // input (bad magic, checksum mismatch, inconsistent sections);
  // FAILED_PRECONDITION for a format version newer than this library.
  static absl::StatusOr<Artifact> Decode(absl::string_view bytes);

 private:
  ModelMetadata metadata_;
  Pipeline pipeline_;
  std::unique_ptr<Model> model_;
  absl::flat_hash_map<std::string, ColumnType> input_types_;
  bool numeric_inputs_only_ = true;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_ARTIFACT_ARTIFACT_H_
