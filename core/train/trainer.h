// File: core/train/trainer.h
// Train: from a raw Table to a fitted Pipeline + Model with its metrics.
//
//   rows with a missing target are dropped (and counted)
//   -> seeded train/validation split (stratified for classification)
//   -> Pipeline::Fit on the training rows only -> Transform both parts
//   -> exact solver, or an optimizer on ModelObjective with a callback after
//      every epoch (validation loss and metric, early stopping, progress,
//      cancellation)
//   -> metrics on the training and validation rows
//
// Determinism: the same Table and TrainSpec (seed included) give a
// bit-identical model.
//
// Errors: INVALID_ARGUMENT for a bad spec or data (each names the field,
// column or class: unknown target, categorical target for regression, one
// class only, constant target, no rows left, ...); ABORTED when training
// diverges; CANCELLED when the progress callback asks to stop.
//
// Thread-safety: Train and CrossValidate are reentrant: concurrent calls on
// different inputs are safe.
#ifndef MODELSERVER_CORE_TRAIN_TRAINER_H_
#define MODELSERVER_CORE_TRAIN_TRAINER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/table.h"
#include "core/eval/cross_validation.h"
#include "core/eval/metrics.h"
#include "core/model/model.h"
#include "core/prep/pipeline.h"
#include "core/train/importance.h"
#include "core/train/lr_schedule.h"
#include "core/train/optimizer.h"
#include "core/train/rebalance.h"

namespace modelserver {

struct TrainSpec {
  ModelKind kind = ModelKind::kLinearRegression;
  // The column to predict. Required.
  std::string target;
  // Input columns, in order. Empty: every column except the target.
  std::vector<std::string> features;
  PipelineOptions preprocessing;

  // kAuto: exact for linear regression without L1; L-BFGS for linear models
  // otherwise; Adam for MLPs.
  OptimizerKind optimizer = OptimizerKind::kAuto;
  // 0 = the optimizer's default: 0.01 for SGD, 0.001 for Adam.
  double learning_rate = 0.0;
  // Epochs for SGD/Adam, iterations for L-BFGS. 0 = default: 200 (SGD,
  // Adam), 500 (L-BFGS).
  int epochs = 0;
  int batch_size = 32;
  double momentum = 0.9;
  bool nesterov = false;
  // How the learning rate changes per epoch (core/train/lr_schedule.h).
  // SGD and Adam only: a schedule other than constant with the exact solver
  // or L-BFGS (also when kAuto picks one, i.e. for linear and logistic
  // models) is INVALID_ARGUMENT. Default constant.
  LrScheduleSpec lr_schedule;
  // Penalties added to the mean loss: l1 * sum|w| + l2 * sum w^2, on weights
  // only (never biases). Negative = default: l1 0; l2 0 for linear
  // regression, 1 / (2 * training rows) for logistic regression (the
  // objective of scikit-learn's LogisticRegression with C = 1; the rows
  // the optimizer sees, after oversampling and augmentation), 1e-4 for
  // MLPs.
  double l1 = -1.0;
  double l2 = -1.0;

  // MLP only: hidden layer sizes and their activation. Default {64}, relu.
  std::vector<int> hidden_layers = {64};
  Activation activation = Activation::kRelu;

  // Fraction of the rows held out for validation, in [0, 0.9]. 0 disables
  // validation. kDefaultValidation: for SGD and Adam (early stopping
  // watches it) 0.1, but at most 10,000 rows, and 0 for data of fewer than
  // 1,000 rows (too few to spare) or when early stopping cannot act
  // (patience 0, or epochs <= patience); 0 for the exact solver and L-BFGS,
  // which have no use for it and so train on every row (as scikit-learn's
  // LinearRegression and LogisticRegression do).
  static constexpr double kDefaultValidation = -1.0;
  double validation_fraction = kDefaultValidation;
  // SGD/Adam: stop when the validation loss has not improved on the best so
  // far by more than `min_delta` times the best (a relative tolerance, so
  // that it means the same for any target scale) for `patience` epochs, and
  // keep the best epoch's parameters. Without validation rows the training
  // loss is watched instead and the last parameters are kept. Patience 0
  // disables early stopping.
  int early_stopping_patience = 10;
  double early_stopping_min_delta = 1e-6;
  uint64_t seed = 42;

  // Imbalanced classes and augmentation (core/train/rebalance.h; applied to
  // the training rows only). class_weight and rebalance are for classifiers
  // only (INVALID_ARGUMENT naming the field for regression).
  // kExplicit takes `class_weights` (label -> weight, finite and > 0, each
  // label a class of the target, else INVALID_ARGUMENT naming it); the
  // other modes require it empty. Default kNone.
  ClassWeightMode class_weight = ClassWeightMode::kNone;
  std::vector<std::pair<std::string, double>> class_weights;
  RebalanceMode rebalance = RebalanceMode::kNone;
  // Gaussian noise on numeric features, in units of each feature's training
  // standard deviation, in [0, kMaxAugmentNoise]; 0 (default) = off.
  double augment_noise = 0.0;
  // Noisy copies appended, in [0, kMaxAugmentCopies]; 0 = 1 when
  // augment_noise > 0 (copies without noise are INVALID_ARGUMENT).
  int augment_copies = 0;

  // Threads for the data-parallel parts of training (gradient passes, the
  // Gram matrix); 0 = every hardware thread. Not part of the model: the
  // result depends on it only through rounding (and is bit-identical for a
  // given value).
  int threads = 0;

  // Permutation feature importance after training (core/train/importance.h)
  // on the validation rows, or the training rows without validation, at
  // most importance_max_rows of them (sampled with `seed`):
  // importance_repeats shuffles per raw column, 0 = not computed. Ranges:
  // repeats [0, kMaxImportanceRepeats], max_rows [1, kMaxImportanceRows].
  // Defaults 5 and 10,000.
  int importance_repeats = 5;
  int64_t importance_max_rows = 10000;
};

// Checks the spec alone (not the data); INVALID_ARGUMENT naming the field.
absl::Status ValidateTrainSpec(const TrainSpec& spec);

// Reported after every epoch (L-BFGS: iteration).
struct EpochEvent {
  int epoch = 0;  // 1-based
  int max_epochs = 0;
  double train_loss = 0;  // objective on the training rows
  // Validation loss and main metric (r2 for regression, accuracy for
  // classification); NaN without validation rows.
  double validation_loss = 0;
  std::string metric_name;
  double validation_metric = 0;
  double elapsed_seconds = 0;
  double remaining_seconds = 0;  // estimate from the mean epoch time
  // The learning rate used in this epoch (SGD, Adam); 0 for the exact
  // solver and L-BFGS.
  double learning_rate = 0;
};
// Return false to cancel training (Train then returns CANCELLED).
using ProgressCallback = std::function<bool(const EpochEvent&)>;

// Checkpoints of SGD/Adam training (core/train/checkpoint.h); the exact
// solver and L-BFGS ignore them.
struct CheckpointOptions {
  // After every this many epochs (and never after the last one), unless
  // training stops there; 0 = never.
  int every_epochs = 0;
  // A due checkpoint is skipped until this many seconds have passed since
  // training (or the previous checkpoint) started: bounds the cost of
  // checkpoints when epochs are short. 0 = none skipped.
  double min_seconds = 0;
  // Receives each encoded checkpoint (EncodeTrainingCheckpoint) and its
  // epoch, on the training thread.
  std::function<void(std::string bytes, int epoch)> save;
  // An encoded checkpoint to continue from (empty = start at epoch 1).
  // Train then reports epochs from the checkpoint's epoch + 1 on, and
  // fails with DATA_LOSS when it cannot be decoded, FAILED_PRECONDITION
  // when it was taken on other data (data checksum) or another spec.
  std::string resume;
};

using MetricList = std::vector<std::pair<std::string, double>>;

struct TrainResult {
  Pipeline pipeline;
  std::unique_ptr<Model> model;
  std::string target;
  ColumnType target_type = ColumnType::kNumeric;
  std::vector<std::string> class_labels;  // classifiers: class index -> label
  MetricList train_metrics;
  MetricList validation_metrics;  // empty without validation rows
  int64_t rows_total = 0;         // rows in the input table
  int64_t rows_dropped = 0;       // missing target
  int64_t rows_train = 0;
  int64_t rows_validation = 0;
  // Rows added to the training rows by oversampling and by noise
  // augmentation (the optimizer saw rows_train + both).
  int64_t rows_oversampled = 0;
  int64_t rows_augmented = 0;
  // With class weights: the weight of each class (class_labels order) as
  // applied (after rescaling); empty otherwise.
  std::vector<double> class_weights;
  uint32_t data_checksum = 0;  // CRC-32C of the columns used
  OptimizerKind optimizer = OptimizerKind::kAuto;  // the one that ran
  int epochs_run = 0;
  bool early_stopped = false;
  double training_seconds = 0;
  // Set unless spec.importance_repeats == 0 (data: "validation" or
  // "training").
  std::optional<FeatureImportanceReport> importance;
  // The spec with every default resolved (what was actually used).
  TrainSpec spec;
  // Training continued from a checkpoint of this epoch (0 = from scratch).
  int resumed_from_epoch = 0;
};

absl::StatusOr<TrainResult> Train(const Table& table, const TrainSpec& spec,
                                  const ProgressCallback& progress = {});
// Same, taking the table: its columns are freed once the design matrices
// are built, so peak memory during training is the matrices, not the
// matrices plus the raw columns (the server trains this way).
absl::StatusOr<TrainResult> Train(Table&& table, const TrainSpec& spec,
                                  const ProgressCallback& progress = {});
// Same, with checkpoints (see CheckpointOptions).
absl::StatusOr<TrainResult> Train(Table&& table, const TrainSpec& spec,
                                  const ProgressCallback& progress,
                                  const CheckpointOptions& checkpoints);

// k-fold cross-validation: trains on k-1 folds (with the spec's own
// validation split inside them) and evaluates on the held-out fold.
// Stratified for classifiers. Returns each fold's metrics and their summary.
// `progress`, when set, receives every fold's epochs (epoch numbers restart
// at 1 in each fold); returning false stops at once with CANCELLED.
struct CrossValidationResult {
  std::vector<MetricList> folds;
  std::vector<MetricSummary> summary;
};
absl::StatusOr<CrossValidationResult> CrossValidate(
    const Table& table, const TrainSpec& spec, int k,
    const ProgressCallback& progress = {});

// A target column encoded for a model: `y` has the model's output layout
// (value; 0/1 for binary; one-hot for k >= 3 classes), `classes` the class
// index per row (classifiers), `rows` the table rows kept (target present).
struct EncodedTarget {
  Eigen::MatrixXd y;
  std::vector<int32_t> classes;
  std::vector<int64_t> rows;
};
// INVALID_ARGUMENT when the column has the wrong type for `kind` or holds a
// label not in `labels` (naming the label and its row).
absl::StatusOr<EncodedTarget> EncodeTarget(
    const Column& target, ModelKind kind,
    const std::vector<std::string>& labels);

// Metrics of `model` on features `x` against `target` (rows aligned).
struct Scores {
  // mse, rmse, mae, r2 for regression; accuracy, precision/recall/f1
  // (macro, weighted), log_loss and, for binary problems, roc_auc for
  // classifiers (core/eval/metrics.h). Empty when `x` has no rows.
  MetricList metrics;
  // Classifiers: per-class precision/recall/F1 and the confusion matrix.
  std::optional<ClassificationMetrics> classification;
};
absl::StatusOr<Scores> ScoreModelDetailed(
    const Model& model, const Eigen::MatrixXd& x, const EncodedTarget& target,
    const std::vector<std::string>& labels);
// The `metrics` of ScoreModelDetailed.
absl::StatusOr<MetricList> ScoreModel(const Model& model,
                                      const Eigen::MatrixXd& x,
                                      const EncodedTarget& target,
                                      const std::vector<std::string>& labels);

// Class labels of a target column in canonical order: numeric values
// ascending (spelled by their shortest round-trip text), categorical levels
// sorted as strings. Missing values are skipped.
std::vector<std::string> ClassLabels(const Column& target);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_TRAINER_H_
