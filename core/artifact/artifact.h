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
#include "core/artifact/explain.h"
#include "core/data/table.h"
#include "core/eval/gate.h"
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
  // Training resumed from a checkpoint of this epoch after a server restart
  // (metadata tag 40, written only when > 0); 0 = it ran uninterrupted.
  int64_t resumed_from_epoch = 0;
  // The journal entry (core/jobs/job_journal.h) of the job that trained
  // this version (metadata tag 41, written only when set): a server that
  // finds the entry again after a crash knows the job already published.
  std::string job_uid;
  // Set on a version published by a hyperparameter search (core/tune,
  // metadata tag 45).
  std::optional<TuneSummary> tuning;
  // Permutation feature importance computed at training (metadata tag 30);
  // unset when training turned it off or the writer predates it.
  std::optional<FeatureImportanceReport> importance;
  // Class rebalancing and augmentation (metadata tags 35-37): rows added to
  // the training rows, and the class weights applied (class_labels order;
  // empty without class weights).
  int64_t rows_oversampled = 0;
  int64_t rows_augmented = 0;
  std::vector<double> class_weights;
  // The promotion gate's verdict on the holdout rows (tag 38), when the
  // training request had a gate. promoted_label is empty here: the label
  // is set after the version is stored.
  std::optional<GateResult> gate;
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
  // With importance options given to Evaluate (data: "evaluation").
  std::optional<FeatureImportanceReport> importance;
};

// Predictions with their per-column contributions (Artifact::Explain).
struct ExplainedPredictions {
  Predictions predictions;
  Explanations explanations;  // columns in input_schema() order
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

  // Predict plus each row's contributions per raw input column
  // (core/artifact/explain.h): the pipeline runs once. INVALID_ARGUMENT for
  // a model kind without exact contributions (MLPs; checked first) and for
  // what Predict rejects. Predict itself does none of this work.
  absl::StatusOr<ExplainedPredictions> Explain(const Table& table) const;
  // The same on features that pipeline() already produced.
  absl::StatusOr<ExplainedPredictions> ExplainFeatures(
      const Eigen::Ref<const Eigen::MatrixXd>& x) const;

  // Metrics on labelled rows: `table` must hold the target column; rows with
  // a missing target are dropped and counted. INVALID_ARGUMENT when the
  // target is absent, of the wrong type, holds an unknown class (named), or
  // no row has a target.
  // With `importance`, also the permutation feature importance of every
  // input column on those rows (core/train/importance.h); INVALID_ARGUMENT
  // for invalid options.
  absl::StatusOr<Evaluation> Evaluate(
      const Table& table,
      const FeatureImportanceOptions* importance = nullptr) const;

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
