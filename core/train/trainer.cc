#include "core/train/trainer.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/eval/metrics.h"
#include "core/model/linear_model.h"
#include "core/model/mlp.h"
#include "core/train/checkpoint.h"
#include "core/train/exact_solver.h"
#include "core/train/model_objective.h"
#include "core/util/crc32c.h"
#include "core/util/parallel.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

constexpr int kMaxEpochs = 1000000;
constexpr int kMaxThreads = 1024;
constexpr int64_t kMaxDefaultValidationRows = 10000;
constexpr int64_t kMinRowsForDefaultValidation = 1000;
constexpr int kMaxBatchSize = 1 << 24;

// Shortest text that reads back as `v` ("3", "2.5", "1e+300").
std::string NumberLabel(double v) {
  if (v == 0) v = 0;  // -0 and 0 are one class
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

TrainSpec ResolveDefaults(const TrainSpec& spec, const Table& table) {
  TrainSpec r = spec;
  if (r.features.empty()) {
    for (const Column& c : table.columns()) {
      if (c.name() != r.target) r.features.push_back(c.name());
    }
  }
  const bool mlp =
      r.kind == ModelKind::kMlpRegressor || r.kind == ModelKind::kMlpClassifier;
  if (r.optimizer == OptimizerKind::kAuto) {
    if (mlp) {
      r.optimizer = OptimizerKind::kAdam;
    } else if (r.kind == ModelKind::kLinearRegression && r.l1 <= 0) {
      r.optimizer = OptimizerKind::kExact;
    } else {
      r.optimizer = OptimizerKind::kLbfgs;
    }
  }
  if (r.learning_rate == 0) {
    r.learning_rate = r.optimizer == OptimizerKind::kAdam ? 0.001 : 0.01;
  }
  if (r.epochs == 0)
    r.epochs = r.optimizer == OptimizerKind::kLbfgs ? 500 : 200;
  if (r.l1 < 0) r.l1 = 0;
  // Logistic regression's default depends on the training rows: resolved
  // after the split (see Train).
  if (r.l2 < 0 && r.kind != ModelKind::kLogisticRegression) {
    r.l2 = r.kind == ModelKind::kLinearRegression ? 0.0 : 1e-4;
  }
  if (!mlp) r.hidden_layers.clear();
  if (r.validation_fraction == TrainSpec::kDefaultValidation) {
    // SGD/Adam: 10% of the rows, at most kMaxDefaultValidationRows (enough
    // to judge early stopping; the rest is better used for training), and
    // none below kMinRowsForDefaultValidation (too few to spare: early
    // stopping then watches the training loss, as scikit-learn does).
    // Nothing is held out either when early stopping cannot act (disabled,
    // or no more epochs than the patience): the rows would serve nothing.
    const bool stochastic = r.optimizer == OptimizerKind::kSgd ||
                            r.optimizer == OptimizerKind::kAdam;
    const bool can_stop_early = r.early_stopping_patience > 0 &&
                                r.epochs > r.early_stopping_patience;
    const int64_t rows = table.num_rows();
    r.validation_fraction =
        !stochastic || !can_stop_early || rows < kMinRowsForDefaultValidation
            ? 0.0
            : std::min(0.1, static_cast<double>(kMaxDefaultValidationRows) /
                                static_cast<double>(rows));
  }
  if (r.threads == 0) r.threads = DefaultThreadCount();
  return r;
}

// CRC-32C over the names, types and values of `columns`.
uint32_t ChecksumColumns(const Table& table,
                         const std::vector<std::string>& columns) {
  uint32_t crc = 0;
  auto bytes = [&](const void* p, size_t n) {
    crc = Crc32cExtend(crc, absl::string_view(static_cast<const char*>(p), n));
  };
  for (const std::string& name : columns) {
    const Column* c = table.Find(name);
    if (c == nullptr) continue;
    bytes(name.data(), name.size() + 0);
    const uint8_t type = static_cast<uint8_t>(c->type());
    bytes(&type, 1);
    if (c->type() == ColumnType::kCategorical) {
      // Hash the text of each value, so that the checksum does not depend on
      // the order in which levels were first seen.
      for (int32_t code : c->codes()) {
        if (code == kMissingCode) {
          bytes("\x00\xff", 2);
        } else {
          const std::string& level = c->levels()[code];
          const uint64_t n = level.size();
          bytes(&n, sizeof(n));
          bytes(level.data(), level.size());
        }
      }
    } else {
      bytes(c->values().data(), c->values().size() * sizeof(double));
    }
  }
  return crc;
}

// What a checkpoint must have been taken with: the resolved settings that
// shape the optimisation (the data is checked by its checksum).
std::string SpecKey(const TrainSpec& s) {
  std::string layers;
  for (int h : s.hidden_layers) absl::StrAppend(&layers, h, ",");
  const LrScheduleSpec& lr = s.lr_schedule;
  return absl::StrCat(
      "kind=", ModelKindName(s.kind), " optimizer=",
      OptimizerKindName(s.optimizer), " lr=", NumberLabel(s.learning_rate),
      " epochs=", s.epochs, " batch=", s.batch_size,
      " momentum=", NumberLabel(s.momentum), " nesterov=", s.nesterov,
      " l1=", NumberLabel(s.l1), " l2=", NumberLabel(s.l2), " hidden=", layers,
      " activation=", static_cast<int>(s.activation),
      " validation=", NumberLabel(s.validation_fraction),
      " patience=", s.early_stopping_patience,
      " min_delta=", NumberLabel(s.early_stopping_min_delta),
      " seed=", s.seed, " schedule=", LrScheduleKindName(lr.kind), ",",
      lr.step_size, ",", NumberLabel(lr.gamma), ",",
      NumberLabel(lr.min_learning_rate), ",", lr.warmup_epochs, ",",
      lr.patience, ",", NumberLabel(lr.factor));
}

Eigen::MatrixXd SelectMatrixRows(const Eigen::MatrixXd& m,
                                 const std::vector<int64_t>& rows) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(rows.size()), m.cols());
  for (Eigen::Index j = 0; j < m.cols(); ++j) {
    for (size_t i = 0; i < rows.size(); ++i) out(i, j) = m(rows[i], j);
  }
  return out;
}

EncodedTarget SelectTargetRows(const EncodedTarget& t,
                               const std::vector<int64_t>& rows) {
  EncodedTarget out;
  out.y = SelectMatrixRows(t.y, rows);
  out.rows.reserve(rows.size());
  for (int64_t r : rows) {
    out.rows.push_back(t.rows[r]);
    if (!t.classes.empty()) out.classes.push_back(t.classes[r]);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Model>> CreateModel(const TrainSpec& spec,
                                                   int num_inputs,
                                                   int num_classes) {
  switch (spec.kind) {
    case ModelKind::kLinearRegression:
    case ModelKind::kLogisticRegression: {
      ASSIGN_OR_RETURN(auto m,
                       LinearModel::Create(spec.kind, num_inputs, num_classes));
      return std::unique_ptr<Model>(std::move(m));
    }
    case ModelKind::kMlpRegressor:
    case ModelKind::kMlpClassifier: {
      ASSIGN_OR_RETURN(auto m,
                       Mlp::Create(spec.kind, num_inputs, spec.hidden_layers,
                                   spec.activation, num_classes, spec.seed));
      return std::unique_ptr<Model>(std::move(m));
    }
  }
  return absl::InvalidArgumentError("unknown model kind");
}

// The main validation metric of an output matrix: r2 or accuracy.
double MainMetric(ModelKind kind, const Eigen::MatrixXd& out,
                  const EncodedTarget& t) {
  return modelserver::MainMetric(kind, out, t.y, t.classes);
}

// The training rows the optimizer sees for `spec` (rebalance.h), from the
// preprocessed training rows. INVALID_ARGUMENT naming a class_weights label
// that is not a class.
absl::StatusOr<ExpandedRows> ExpandForSpec(
    const TrainSpec& spec, const std::vector<std::string>& labels,
    const Pipeline& pipeline, const Eigen::MatrixXd& x,
    const EncodedTarget& y) {
  ExpansionOptions o;
  o.rebalance = spec.rebalance;
  o.noise = spec.augment_noise;
  o.copies = spec.augment_copies > 0 ? spec.augment_copies : 1;
  o.class_weight = spec.class_weight;
  o.seed = spec.seed;
  if (spec.class_weight == ClassWeightMode::kExplicit) {
    o.explicit_weights.assign(labels.size(), 1.0);
    for (const auto& [label, weight] : spec.class_weights) {
      auto it = std::find(labels.begin(), labels.end(), label);
      if (it == labels.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "class_weights: '", label, "' is not a class of target '",
            spec.target, "' (its classes are: ", absl::StrJoin(labels, ", "),
            ")"));
      }
      o.explicit_weights[it - labels.begin()] = weight;
    }
  }
  std::vector<bool> noisy(pipeline.num_outputs(), false);
  for (int j = 0; j < pipeline.num_outputs(); ++j) {
    noisy[j] = pipeline.inputs()[pipeline.output_sources()[j]].type ==
               ColumnType::kNumeric;
  }
  return ExpandTrainingRows(x, y.y, y.classes,
                            static_cast<int>(labels.size()), noisy, o);
}

// `release`, when not null, is `table` itself: emptied as soon as the design
// matrices exist, so that training runs without the raw columns in memory.
absl::StatusOr<TrainResult> TrainImpl(
    const Table& table, const TrainSpec& raw_spec,
    const ProgressCallback& progress,
    const std::vector<std::string>* forced_labels, Table* release = nullptr,
    const CheckpointOptions* checkpoints = nullptr) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(ValidateTrainSpec(raw_spec));
  const Column* target = table.Find(raw_spec.target);
  if (target == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("target column '", raw_spec.target,
                     "' is not in the data; the columns are: ",
                     absl::StrJoin(table.column_names(), ", ")));
  }
  TrainSpec spec = ResolveDefaults(raw_spec, table);
  if (spec.features.empty()) {
    return absl::InvalidArgumentError(
        "the data has no column besides the target to learn from");
  }
  for (const std::string& f : spec.features) {
    if (f == spec.target) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", f, "' is the target and cannot also be a feature"));
    }
    if (table.Find(f) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature column '", f, "' is not in the data"));
    }
  }
  if (spec.optimizer == OptimizerKind::kExact &&
      (spec.kind != ModelKind::kLinearRegression || spec.l1 > 0)) {
    return absl::InvalidArgumentError(
        "optimizer 'exact' solves linear regression without L1 only");
  }
  const bool epoch_based = spec.optimizer == OptimizerKind::kSgd ||
                           spec.optimizer == OptimizerKind::kAdam;
  if (epoch_based) {
    RETURN_IF_ERROR(ValidateLrScheduleFor(spec.lr_schedule, spec.learning_rate,
                                          spec.epochs));
  }

  TrainResult result;
  result.target = spec.target;
  result.target_type = target->type();
  result.rows_total = table.num_rows();
  const bool classifier = IsClassifier(spec.kind);
  if (classifier) {
    result.class_labels =
        forced_labels != nullptr ? *forced_labels : ClassLabels(*target);
    if (result.class_labels.size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target column '", spec.target, "' has ",
          result.class_labels.empty()
              ? std::string("no values")
              : absl::StrCat("a single class '", result.class_labels[0], "'"),
          ": classification needs at least two classes"));
    }
  }
  ASSIGN_OR_RETURN(EncodedTarget all,
                   EncodeTarget(*target, spec.kind, result.class_labels));
  result.rows_dropped =
      table.num_rows() - static_cast<int64_t>(all.rows.size());
  if (all.rows.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no rows to train on: ",
        table.num_rows() == 0
            ? std::string("the data has no rows")
            : absl::StrCat("the target '", spec.target, "' is missing in all ",
                           table.num_rows(), " rows")));
  }
  if (!classifier) {
    const Eigen::VectorXd y = all.y.col(0);
    if (y.maxCoeff() == y.minCoeff()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target column '", spec.target, "' is constant (every row is ",
          NumberLabel(y[0]), "): there is nothing to learn"));
    }
  }
  const int64_t n = static_cast<int64_t>(all.rows.size());
  // Keep only the rows with a target, then renumber them 0..n-1.
  std::optional<Table> kept_storage;
  if (result.rows_dropped > 0) kept_storage = table.SelectRows(all.rows);
  const Table& kept = kept_storage ? *kept_storage : table;
  for (int64_t i = 0; i < n; ++i) all.rows[i] = i;

  Split split;
  if (spec.validation_fraction > 0 && n >= 2) {
    ASSIGN_OR_RETURN(
        split, TrainValidationSplit(n, spec.validation_fraction, spec.seed,
                                    classifier ? &all.classes : nullptr));
  } else {
    split.train.resize(n);
    for (int64_t i = 0; i < n; ++i) split.train[i] = i;
  }
  const EncodedTarget y_train = SelectTargetRows(all, split.train);
  const EncodedTarget y_val = SelectTargetRows(all, split.validation);
  result.rows_train = static_cast<int64_t>(split.train.size());
  result.rows_validation = static_cast<int64_t>(split.validation.size());

  // The row copies live only until the design matrices exist; without a
  // validation part the training rows are `kept` itself, in order: no copy.
  ThreadPool pool(spec.threads);
  std::optional<Pipeline> fitted;
  Eigen::MatrixXd x_train, x_val;
  {
    std::optional<Table> train_copy, val_copy;
    if (!split.validation.empty()) {
      train_copy = kept.SelectRows(split.train);
      val_copy = kept.SelectRows(split.validation);
    }
    const Table& train_table = train_copy ? *train_copy : kept;
    ASSIGN_OR_RETURN(fitted, Pipeline::Fit(train_table, spec.features,
                                           spec.preprocessing, &pool));
    ASSIGN_OR_RETURN(x_train, fitted->Transform(train_table, &pool));
    if (val_copy) {
      ASSIGN_OR_RETURN(x_val, fitted->Transform(*val_copy, &pool));
    } else {
      x_val.resize(0, x_train.cols());
    }
  }
  Pipeline pipeline = *std::move(fitted);
  {
    std::vector<std::string> used = spec.features;
    used.push_back(spec.target);
    result.data_checksum = ChecksumColumns(table, used);
  }
  kept_storage.reset();
  if (release != nullptr) *release = Table();

  // Oversampling, noise augmentation and class weights
  // (core/train/rebalance.h): the optimizer sees fit_x/fit_y (weighted);
  // the training metrics are those of the original training rows.
  if (spec.augment_noise > 0 && spec.augment_copies == 0) {
    spec.augment_copies = 1;
  }
  ASSIGN_OR_RETURN(ExpandedRows expanded,
                   ExpandForSpec(spec, result.class_labels, pipeline, x_train,
                                 y_train));
  const Eigen::MatrixXd& fit_x = expanded.expanded ? expanded.x : x_train;
  const Eigen::MatrixXd& fit_y = expanded.expanded ? expanded.y : y_train.y;
  const Eigen::VectorXd* fit_weights =
      expanded.row_weights.size() > 0 ? &expanded.row_weights : nullptr;
  result.rows_oversampled = expanded.rows_oversampled;
  result.rows_augmented = expanded.rows_augmented;
  result.class_weights = expanded.class_weights;
  if (spec.l2 < 0) {
    // scikit-learn's C = 1: ||w||^2 / 2 added to the summed loss, which for
    // the mean loss is l2 = 1 / (2 n), n the rows the optimizer sees.
    spec.l2 = 0.5 / static_cast<double>(fit_x.rows());
  }

  ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                   CreateModel(spec, pipeline.num_outputs(),
                               static_cast<int>(result.class_labels.size())));

  const bool has_validation = x_val.rows() > 0;
  // The validation loss (no penalty) on the pool, in cache-sized blocks.
  std::optional<ModelObjective> val_objective;
  if (has_validation) val_objective.emplace(*model, x_val, y_val.y, 0, 0, &pool);
  const std::string metric_name = MainMetricName(spec.kind);
  bool cancelled = false;
  // SGD/Adam: the schedule and the rate of the running epoch.
  std::optional<LrSchedule> schedule;
  double epoch_rate = 0.0;
  // Training time before the checkpoint this run resumed from.
  double elapsed_offset = 0.0;
  if (epoch_based) {
    schedule.emplace(spec.lr_schedule, spec.learning_rate, spec.epochs);
  }
  auto report = [&](int epoch, double train_loss,
                    const Eigen::VectorXd& w) -> std::pair<bool, double> {
    EpochEvent ev;
    ev.epoch = epoch;
    ev.max_epochs = spec.optimizer == OptimizerKind::kExact ? 1 : spec.epochs;
    ev.train_loss = train_loss;
    ev.metric_name = metric_name;
    ev.validation_loss = std::numeric_limits<double>::quiet_NaN();
    ev.validation_metric = std::numeric_limits<double>::quiet_NaN();
    if (has_validation) {
      ev.validation_loss = val_objective->Evaluate(w, nullptr);
      ev.validation_metric =
          MainMetric(spec.kind, model->Forward(w, x_val), y_val);
    }
    ev.elapsed_seconds =
        elapsed_offset +
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    ev.remaining_seconds =
        ev.elapsed_seconds / epoch * std::max(0, ev.max_epochs - epoch);
    ev.learning_rate = epoch_rate;
    if (progress && !progress(ev)) cancelled = true;
    return {!cancelled, ev.validation_loss};
  };

  Eigen::VectorXd w = model->parameters();
  if (spec.optimizer == OptimizerKind::kExact) {
    ASSIGN_OR_RETURN(
        w, SolveLinearLeastSquares(fit_x, fit_y.col(0), spec.l2, &pool));
    const double loss = model->Loss(w, fit_x, fit_y, nullptr);
    report(1, loss, w);
    result.epochs_run = 1;
  } else {
    OptimizerOptions opts;
    opts.learning_rate = spec.learning_rate;
    opts.max_epochs = spec.epochs;
    opts.batch_size = spec.batch_size;
    opts.momentum = spec.momentum;
    opts.nesterov = spec.nesterov;
    opts.seed = spec.seed;
    if (schedule) {
      opts.epoch_learning_rate = [&](int epoch) {
        epoch_rate = schedule->Rate(epoch);
        return epoch_rate;
      };
    }
    // Watches the validation loss, or without validation rows the training
    // loss (then the last parameters are kept: the training loss of the
    // best epoch is no estimate of quality on new data).
    const bool early_stopping = spec.early_stopping_patience > 0 &&
                                spec.optimizer != OptimizerKind::kLbfgs;
    double best_loss = std::numeric_limits<double>::infinity();
    Eigen::VectorXd best_w;
    int since_best = 0;
    ModelObjective objective(*model, fit_x, fit_y, spec.l1, spec.l2, &pool,
                             fit_weights);
    EpochCallback callback = [&](int epoch, double loss,
                                 const Eigen::VectorXd& params) {
      auto [keep_going, val_loss] = report(epoch, loss, params);
      if (!keep_going) return false;
      const double watched = has_validation ? val_loss : loss;
      if (schedule) schedule->Observe(watched);
      if (!early_stopping) return true;
      const bool first = std::isinf(best_loss);  // no best yet
      if (first || watched < best_loss - spec.early_stopping_min_delta *
                                             std::abs(best_loss)) {
        best_loss = watched;
        if (has_validation) best_w = params;
        since_best = 0;
      } else if (++since_best >= spec.early_stopping_patience) {
        result.early_stopped = true;
        return false;
      }
      return true;
    };
    // Checkpoints: what identifies this training, and the state to resume.
    const std::string spec_key = SpecKey(spec);
    std::optional<TrainingCheckpoint> resumed;
    if (checkpoints != nullptr && epoch_based &&
        !checkpoints->resume.empty()) {
      ASSIGN_OR_RETURN(resumed,
                       DecodeTrainingCheckpoint(checkpoints->resume));
      if (resumed->data_checksum != result.data_checksum) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "checkpoint: taken on other data (data checksum crc32c:%08x, "
            "the data now crc32c:%08x): the data changed since the job "
            "started",
            resumed->data_checksum, result.data_checksum));
      }
      if (resumed->spec_key != spec_key) {
        return absl::FailedPreconditionError(
            absl::StrCat("checkpoint: taken with other training settings (",
                         resumed->spec_key, " instead of ", spec_key, ")"));
      }
      if (resumed->optimizer.w.size() != w.size() ||
          (resumed->best_w.size() != 0 &&
           resumed->best_w.size() != w.size())) {
        return absl::FailedPreconditionError(absl::StrCat(
            "checkpoint: holds ", resumed->optimizer.w.size(),
            " parameters, the model has ", w.size()));
      }
      best_loss = resumed->best_loss;
      best_w = resumed->best_w;
      since_best = resumed->since_best;
      if (schedule) schedule->Restore(resumed->schedule);
      elapsed_offset = resumed->elapsed_seconds;
      result.resumed_from_epoch = resumed->optimizer.epoch;
      opts.resume = &resumed->optimizer;
    }
    auto last_checkpoint = std::chrono::steady_clock::now();
    if (checkpoints != nullptr && epoch_based && checkpoints->save &&
        checkpoints->every_epochs > 0) {
      opts.checkpoint_every = checkpoints->every_epochs;
      opts.checkpoint = [&](const MiniBatchState& state) {
        const auto now = std::chrono::steady_clock::now();
        if (std::chrono::duration<double>(now - last_checkpoint).count() <
            checkpoints->min_seconds) {
          return;
        }
        last_checkpoint = now;
        TrainingCheckpoint c;
        c.data_checksum = result.data_checksum;
        c.spec_key = spec_key;
        c.elapsed_seconds =
            elapsed_offset + std::chrono::duration<double>(now - start).count();
        c.optimizer = state;
        c.best_loss = best_loss;
        c.best_w = best_w;
        c.since_best = since_best;
        if (schedule) c.schedule = schedule->state();
        checkpoints->save(EncodeTrainingCheckpoint(c), state.epoch);
      };
    }
    ASSIGN_OR_RETURN(OptimizeResult r,
                     Minimize(spec.optimizer, opts, objective, &w, callback));
    if (cancelled) {
      return absl::CancelledError(
          absl::StrCat("training cancelled after epoch ", r.epochs));
    }
    if (early_stopping && best_w.size() == w.size()) w = best_w;
    result.epochs_run = r.epochs;
  }
  if (cancelled) return absl::CancelledError("training cancelled");
  model->mutable_parameters() = w;

  ASSIGN_OR_RETURN(result.train_metrics,
                   ScoreModel(*model, x_train, y_train, result.class_labels));
  if (has_validation) {
    ASSIGN_OR_RETURN(result.validation_metrics,
                     ScoreModel(*model, x_val, y_val, result.class_labels));
  }
  if (spec.importance_repeats > 0) {
    FeatureImportanceOptions io;
    io.repeats = spec.importance_repeats;
    io.max_rows = spec.importance_max_rows;
    io.seed = spec.seed;
    std::vector<std::string> columns;
    for (const InputColumn& c : pipeline.inputs()) columns.push_back(c.name);
    const bool on_validation = has_validation;
    const EncodedTarget& y_imp = on_validation ? y_val : y_train;
    ASSIGN_OR_RETURN(
        result.importance,
        PermutationImportance(*model, on_validation ? x_val : x_train,
                              y_imp.y, y_imp.classes,
                              pipeline.output_sources(), columns, io,
                              on_validation ? "validation" : "training",
                              &pool));
  }
  result.optimizer = spec.optimizer;
  result.pipeline = std::move(pipeline);
  result.model = std::move(model);
  result.spec = std::move(spec);
  result.training_seconds =
      elapsed_offset +
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

// The class weight, rebalance and augmentation fields of ValidateTrainSpec.
absl::Status ValidateRebalanceSpec(const TrainSpec& spec) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  const bool classifier = IsClassifier(spec.kind);
  if (spec.class_weight != ClassWeightMode::kNone && !classifier) {
    return bad("class_weight",
               absl::StrCat("applies to classifiers only; the model is ",
                            ModelKindName(spec.kind), " (a regressor)"));
  }
  if (spec.rebalance != RebalanceMode::kNone && !classifier) {
    return bad("rebalance",
               absl::StrCat("applies to classifiers only; the model is ",
                            ModelKindName(spec.kind), " (a regressor)"));
  }
  if (spec.class_weight == ClassWeightMode::kExplicit) {
    if (spec.class_weights.empty()) {
      return bad("class_weights", "explicit class weights need at least one "
                                  "label=weight entry");
    }
    absl::flat_hash_set<std::string> labels;
    for (const auto& [label, weight] : spec.class_weights) {
      if (label.empty()) return bad("class_weights", "a label is empty");
      if (!labels.insert(label).second) {
        return bad("class_weights",
                   absl::StrCat("label '", label, "' is listed twice"));
      }
      if (!(weight > 0) || !std::isfinite(weight)) {
        return bad("class_weights",
                   absl::StrCat("the weight of '", label,
                                "' must be finite and > 0, got ", weight));
      }
    }
  } else if (!spec.class_weights.empty()) {
    return bad("class_weights",
               absl::StrCat("per-label weights go with class_weight "
                            "explicit, not ",
                            ClassWeightModeName(spec.class_weight)));
  }
  if (!(spec.augment_noise >= 0 && spec.augment_noise <= kMaxAugmentNoise)) {
    return bad("augment_noise",
               absl::StrCat("must be in [0, ", kMaxAugmentNoise,
                            "] (0 = off), got ", spec.augment_noise));
  }
  if (spec.augment_copies < 0 || spec.augment_copies > kMaxAugmentCopies) {
    return bad("augment_copies",
               absl::StrCat("must be in [0, ", kMaxAugmentCopies,
                            "] (0 = 1 with noise), got ", spec.augment_copies));
  }
  if (spec.augment_copies > 0 && spec.augment_noise == 0) {
    return bad("augment_copies",
               "noisy copies need augment_noise > 0 (copies without noise "
               "would only repeat the rows)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTrainSpec(const TrainSpec& spec) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  if (spec.target.empty()) return bad("target", "a target column is required");
  switch (spec.kind) {
    case ModelKind::kLinearRegression:
    case ModelKind::kLogisticRegression:
    case ModelKind::kMlpRegressor:
    case ModelKind::kMlpClassifier:
      break;
    default:
      return bad("model", "unknown model kind");
  }
  if (!(spec.learning_rate >= 0) || !std::isfinite(spec.learning_rate)) {
    return bad("learning_rate", absl::StrCat("must be > 0 (0 = default), got ",
                                             spec.learning_rate));
  }
  if (spec.epochs < 0 || spec.epochs > kMaxEpochs) {
    return bad("epochs", absl::StrCat("must be in [1, ", kMaxEpochs,
                                      "] (0 = default), got ", spec.epochs));
  }
  if (spec.batch_size < 1 || spec.batch_size > kMaxBatchSize) {
    return bad("batch_size", absl::StrCat("must be in [1, ", kMaxBatchSize,
                                          "], got ", spec.batch_size));
  }
  if (!(spec.momentum >= 0 && spec.momentum < 1)) {
    return bad("momentum",
               absl::StrCat("must be in [0, 1), got ", spec.momentum));
  }
  if (std::isnan(spec.l1) || std::isinf(spec.l1)) {
    return bad("l1", "must be a finite number >= 0");
  }
  if (std::isnan(spec.l2) || std::isinf(spec.l2)) {
    return bad("l2", "must be a finite number >= 0");
  }
  if (!(spec.validation_fraction >= 0 && spec.validation_fraction <= 0.9) &&
      spec.validation_fraction != TrainSpec::kDefaultValidation) {
    return bad("validation_fraction", absl::StrCat("must be in [0, 0.9], got ",
                                                   spec.validation_fraction));
  }
  if (spec.threads < 0 || spec.threads > kMaxThreads) {
    return bad("threads", absl::StrCat("must be in [0, ", kMaxThreads,
                                       "] (0 = all), got ", spec.threads));
  }
  if (spec.early_stopping_patience < 0) {
    return bad("early_stopping_patience", "must be >= 0 (0 disables)");
  }
  RETURN_IF_ERROR(ValidateRebalanceSpec(spec));
  if (spec.importance_repeats < 0 ||
      spec.importance_repeats > kMaxImportanceRepeats) {
    return bad("importance_repeats",
               absl::StrCat("must be in [0, ", kMaxImportanceRepeats,
                            "] (0 = off), got ", spec.importance_repeats));
  }
  if (spec.importance_max_rows < 1 ||
      spec.importance_max_rows > kMaxImportanceRows) {
    return bad("importance_max_rows",
               absl::StrCat("must be in [1, ", kMaxImportanceRows, "], got ",
                            spec.importance_max_rows));
  }
  if (!(spec.early_stopping_min_delta >= 0) ||
      !std::isfinite(spec.early_stopping_min_delta)) {
    return bad("early_stopping_min_delta", "must be a finite number >= 0");
  }
  for (int h : spec.hidden_layers) {
    if (h < 1) {
      return bad("hidden_layers",
                 absl::StrCat("layer sizes must be >= 1, got ", h));
    }
  }
  if (spec.optimizer == OptimizerKind::kExact &&
      spec.kind != ModelKind::kLinearRegression) {
    return bad("optimizer", "'exact' solves linear regression only");
  }
  RETURN_IF_ERROR(ValidateLrScheduleSpec(spec.lr_schedule));
  if (spec.lr_schedule.kind != LrScheduleKind::kConstant) {
    const bool linear = spec.kind == ModelKind::kLinearRegression ||
                        spec.kind == ModelKind::kLogisticRegression;
    const bool epoch_based = spec.optimizer == OptimizerKind::kSgd ||
                             spec.optimizer == OptimizerKind::kAdam;
    if (!epoch_based && (spec.optimizer != OptimizerKind::kAuto || linear)) {
      return bad(
          "lr_schedule",
          absl::StrCat("a '", LrScheduleKindName(spec.lr_schedule.kind),
                       "' schedule needs optimizer sgd or adam, but the "
                       "optimizer is ",
                       spec.optimizer == OptimizerKind::kAuto
                           ? std::string("auto (exact or L-BFGS for this "
                                         "model)")
                           : absl::StrCat("'",
                                          OptimizerKindName(spec.optimizer),
                                          "'"),
                       ", which has no learning rate"));
    }
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& f : spec.features) {
    if (!seen.insert(f).second) {
      return bad("features", absl::StrCat("column '", f, "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> ClassLabels(const Column& target) {
  std::vector<std::string> labels;
  if (target.type() == ColumnType::kCategorical) {
    std::vector<bool> used(target.levels().size(), false);
    for (int32_t c : target.codes()) {
      if (c != kMissingCode) used[c] = true;
    }
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i]) labels.push_back(target.levels()[i]);
    }
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    return labels;
  }
  std::vector<double> values;
  for (double v : target.values()) {
    if (!std::isnan(v)) values.push_back(v == 0 ? 0.0 : v);
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (double v : values) labels.push_back(NumberLabel(v));
  return labels;
}

absl::StatusOr<EncodedTarget> EncodeTarget(
    const Column& target, ModelKind kind,
    const std::vector<std::string>& labels) {
  EncodedTarget out;
  const int64_t n = target.size();
  if (!IsClassifier(kind)) {
    if (target.type() != ColumnType::kNumeric) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target column '", target.name(), "' is ",
          ColumnTypeName(target.type()), "; ", ModelKindName(kind),
          " needs a numeric target (use a classifier for labels)"));
    }
    std::vector<double> y;
    for (int64_t i = 0; i < n; ++i) {
      const double v = target.values()[i];
      if (std::isnan(v)) continue;
      out.rows.push_back(i);
      y.push_back(v);
    }
    out.y = Eigen::Map<const Eigen::VectorXd>(
        y.data(), static_cast<Eigen::Index>(y.size()));
    return out;
  }
  if (target.type() == ColumnType::kDate) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target column '", target.name(),
        "' holds dates; a classifier needs labels (categorical or numeric)"));
  }
  absl::flat_hash_map<std::string, int32_t> index;
  for (size_t i = 0; i < labels.size(); ++i) {
    index.emplace(labels[i], static_cast<int32_t>(i));
  }
  // Per categorical level, its class (or -1 when unknown).
  std::vector<int32_t> level_class;
  if (target.type() == ColumnType::kCategorical) {
    for (const std::string& level : target.levels()) {
      auto it = index.find(level);
      level_class.push_back(it == index.end() ? -1 : it->second);
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (target.is_missing(i)) continue;
    int32_t cls;
    if (target.type() == ColumnType::kCategorical) {
      cls = level_class[target.codes()[i]];
    } else {
      auto it = index.find(NumberLabel(target.values()[i]));
      cls = it == index.end() ? -1 : it->second;
    }
    if (cls < 0) {
      const std::string label = target.type() == ColumnType::kCategorical
                                    ? target.levels()[target.codes()[i]]
                                    : NumberLabel(target.values()[i]);
      return absl::InvalidArgumentError(absl::StrCat(
          "row ", i + 1, ": target '", target.name(), "' has class '", label,
          "', which the model does not know (its classes are: ",
          absl::StrJoin(labels, ", "), ")"));
    }
    out.rows.push_back(i);
    out.classes.push_back(cls);
  }
  const Eigen::Index rows = static_cast<Eigen::Index>(out.rows.size());
  const int k = static_cast<int>(labels.size());
  if (k == 2) {
    out.y.resize(rows, 1);
    for (Eigen::Index i = 0; i < rows; ++i) out.y(i, 0) = out.classes[i];
  } else {
    out.y = Eigen::MatrixXd::Zero(rows, k);
    for (Eigen::Index i = 0; i < rows; ++i) out.y(i, out.classes[i]) = 1.0;
  }
  return out;
}

absl::StatusOr<Scores> ScoreModelDetailed(
    const Model& model, const Eigen::MatrixXd& x, const EncodedTarget& target,
    const std::vector<std::string>& labels) {
  Scores scores;
  if (x.rows() == 0) return scores;
  const Eigen::MatrixXd out = model.Predict(x);
  if (!IsClassifier(model.kind())) {
    ASSIGN_OR_RETURN(RegressionMetrics m,
                     ComputeRegressionMetrics(target.y.col(0), out.col(0)));
    scores.metrics = NamedMetrics(m);
    return scores;
  }
  ASSIGN_OR_RETURN(ClassificationMetrics m,
                   ComputeClassificationMetrics(
                       target.classes, ClassProbabilities(out), labels));
  scores.metrics = NamedMetrics(m);
  scores.classification = std::move(m);
  return scores;
}

absl::StatusOr<MetricList> ScoreModel(const Model& model,
                                      const Eigen::MatrixXd& x,
                                      const EncodedTarget& target,
                                      const std::vector<std::string>& labels) {
  ASSIGN_OR_RETURN(Scores s, ScoreModelDetailed(model, x, target, labels));
  return std::move(s.metrics);
}

absl::StatusOr<TrainResult> Train(Table&& table, const TrainSpec& spec,
                                  const ProgressCallback& progress) {
  Table owned = std::move(table);
  return TrainImpl(owned, spec, progress, nullptr, &owned);
}

absl::StatusOr<TrainResult> Train(Table&& table, const TrainSpec& spec,
                                  const ProgressCallback& progress,
                                  const CheckpointOptions& checkpoints) {
  Table owned = std::move(table);
  return TrainImpl(owned, spec, progress, nullptr, &owned, &checkpoints);
}

absl::StatusOr<TrainResult> Train(const Table& table, const TrainSpec& spec,
                                  const ProgressCallback& progress) {
  return TrainImpl(table, spec, progress, nullptr);
}

absl::StatusOr<CrossValidationResult> CrossValidate(
    const Table& table, const TrainSpec& spec, int k,
    const ProgressCallback& progress) {
  RETURN_IF_ERROR(ValidateTrainSpec(spec));
  const Column* target = table.Find(spec.target);
  if (target == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("target column '", spec.target, "' is not in the data"));
  }
  std::vector<std::string> labels;
  if (IsClassifier(spec.kind)) labels = ClassLabels(*target);
  ASSIGN_OR_RETURN(EncodedTarget all, EncodeTarget(*target, spec.kind, labels));
  const Table kept = table.SelectRows(all.rows);
  const int64_t n = kept.num_rows();
  ASSIGN_OR_RETURN(
      std::vector<Split> splits,
      KFoldSplits(n, k, spec.seed,
                  IsClassifier(spec.kind) ? &all.classes : nullptr));
  CrossValidationResult cv;
  // The folds' models are not kept: no importance is computed for them.
  TrainSpec fold_spec = spec;
  fold_spec.importance_repeats = 0;
  for (const Split& fold : splits) {
    const Table train_rows = kept.SelectRows(fold.train);
    const Table test_rows = kept.SelectRows(fold.validation);
    ASSIGN_OR_RETURN(TrainResult r,
                     TrainImpl(train_rows, fold_spec, progress,
                               IsClassifier(spec.kind) ? &labels : nullptr));
    ASSIGN_OR_RETURN(Eigen::MatrixXd x, r.pipeline.Transform(test_rows));
    ASSIGN_OR_RETURN(EncodedTarget y, EncodeTarget(*test_rows.Find(spec.target),
                                                   spec.kind, r.class_labels));
    ASSIGN_OR_RETURN(MetricList m, ScoreModel(*r.model, x, y, r.class_labels));
    cv.folds.push_back(std::move(m));
  }
  ASSIGN_OR_RETURN(cv.summary, SummarizeFolds(cv.folds));
  return cv;
}

}  // namespace modelserver
