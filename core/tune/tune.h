// File: core/tune/tune.h
// Hyperparameter search: k-fold cross-validation (CrossValidate, core/train/
// trainer.h) of every configuration of a search space, grid or random, then
// the best configuration trained on every row. docs/tuning.md is the user's
// description; this header is the contract.
//
// Search space: a base TrainSpec and, per parameter, a list of values or
// (random mode only) a range. The parameters, in their fixed order:
//   model, learning_rate, l1, l2, hidden_layers, epochs, scaling.
// A parameter without values keeps the base spec's value.
//
// Grid: the cartesian product of the lists, the LAST parameter varying
// fastest (like itertools.product over the order above). A grid larger than
// max_trials is refused (INVALID_ARGUMENT), never truncated.
// Random: max_trials draws. Each trial draws, in the parameter order above,
// one value per searched parameter from an Rng seeded with TuneOptions::seed:
// a list -> one of its values (uniform choice, Rng::UniformInt); a range ->
// low + (high - low) * u, or exp(log low + (log high - log low) * u) for a
// log range (u = Rng::Uniform()). Draws may repeat a configuration.
//
// Every trial trains with the base spec's seed, so every trial sees the
// same folds and its score is reproducible: trial i of a given TuneOptions
// always has the same configuration and the same fold metrics.
//
// Scoring: the metric's mean over the k folds (sample standard deviation
// alongside). The best trial has the highest mean (the lowest for mse,
// rmse, mae, log_loss); ties go to the earlier trial. A trial whose training
// diverges (ABORTED) is recorded with its error and not scored; any other
// training error ends the search with that error.
//
// Stopping: after max_trials trials (stop_reason "max_trials"), or when the
// time budget expires (stop_reason "time_budget"): the trial running at
// that moment is ABANDONED (its training is interrupted at its next epoch;
// the exact solver, which has no epochs, always completes) and not
// recorded. The budget covers the search only, not the final training.
// DEADLINE_EXCEEDED when the budget expires before any trial was scored.
// Cancellation: `should_stop` returning true, or a callback returning false,
// ends everything with CANCELLED.
//
// Thread-safety: the functions are reentrant; callbacks run on the calling
// thread.
#ifndef MODELSERVER_CORE_TUNE_TUNE_H_
#define MODELSERVER_CORE_TUNE_TUNE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"
#include "core/prep/transforms.h"
#include "core/train/trainer.h"

namespace modelserver {

// A numeric range for random search: uniform in [low, high], or log-uniform
// (`log`, which needs low > 0).
struct TuneRange {
  double low = 0;
  double high = 0;
  bool log = false;
};

// A numeric parameter: a list of values, or a range (random mode only).
struct TuneNumber {
  std::vector<double> values;
  std::optional<TuneRange> range;
  bool searched() const { return !values.empty() || range.has_value(); }
};

struct TuneSpace {
  std::vector<ModelKind> kinds;  // all regressors or all classifiers
  TuneNumber learning_rate;      // values > 0
  TuneNumber l1;                 // values >= 0
  TuneNumber l2;                 // values >= 0
  std::vector<std::vector<int>> hidden_layers;  // each non-empty, units >= 1
  std::vector<int> epochs;                      // >= 1
  std::vector<ScalingMethod> scaling;
};

enum class TuneMode { kGrid, kRandom };
absl::string_view TuneModeName(TuneMode mode);  // "grid", "random"

struct TuneOptions {
  // Target, features, preprocessing, optimizer, seed, ... of every trial.
  TrainSpec base;
  TuneSpace space;
  TuneMode mode = TuneMode::kGrid;
  // Trials to run; 0 = the grid's size (grid) or kDefaultRandomTrials
  // (random).
  int max_trials = 0;
  static constexpr int kDefaultRandomTrials = 20;
  // Seconds of search; 0 = no budget. Must be finite and >= 0.
  double time_budget_seconds = 0;
  int folds = 5;  // k >= 2
  // A metric CrossValidate reports for the task (regression: mse, rmse,
  // mae, r2; classification: accuracy, precision_macro, recall_macro,
  // f1_macro, precision_weighted, recall_weighted, f1_weighted, log_loss,
  // roc_auc (two classes)). "" = r2 for regression, accuracy for
  // classification.
  std::string metric;
  uint64_t seed = 42;  // the random draws
};

// Whether a larger value of `metric` is better (false for mse, rmse, mae,
// log_loss).
bool HigherIsBetter(absl::string_view metric);

// The searched parameters of one configuration as text, in the parameter
// order ("model" -> "mlp_regressor", "learning_rate" -> "0.01",
// "hidden_layers" -> "64,32", "scaling" -> "minmax", ...).
using TuneParams = std::vector<std::pair<std::string, std::string>>;

struct TuneCandidate {
  TrainSpec spec;
  TuneParams params;
};

// Checks the options alone (not the data). INVALID_ARGUMENT naming the
// field (TuneRequest's names: space.models, space.learning_rates,
// space.learning_rate_range, space.l1, space.l1_range, space.l2,
// space.l2_range, space.hidden_layers, space.epochs, space.scalings,
// max_trials, time_budget_seconds, folds, metric, options.*): no parameter
// searched; a bad value; low > high or a log range with low <= 0; a range in
// grid mode; a list and a range for one parameter; regressors mixed with
// classifiers; an unknown metric for the task; a grid larger than
// max_trials; a candidate the trainer would refuse (ValidateTrainSpec).
absl::Status ValidateTuneOptions(const TuneOptions& options);

// How many trials the options plan: max_trials when set, else the grid's
// size (the product of the list sizes, saturating at INT64_MAX) or
// kDefaultRandomTrials. Needs no validation; lets a caller bound a request
// before PlanTrials builds it.
int64_t PlannedTrials(const TuneOptions& options);

// The configurations the search tries, in order (see the header comment):
// the whole grid, or max_trials random draws. Validates first.
absl::StatusOr<std::vector<TuneCandidate>> PlanTrials(
    const TuneOptions& options);

struct TuneTrial {
  int trial = 0;  // 1-based, in search order
  TuneParams params;
  double mean = 0;    // NaN when failed
  double stddev = 0;  // NaN when failed
  double seconds = 0;
  std::string error;  // set when the trial diverged (not scored)
};

// What a search did; stored in the published version's metadata.
struct TuneSummary {
  std::string metric;
  bool higher_is_better = true;
  int folds = 0;
  std::string mode;         // "grid" | "random"
  std::string stop_reason;  // "max_trials" | "time_budget"
  std::vector<TuneTrial> trials;  // every finished trial, in search order
  int best_trial = 0;             // 1-based
  uint64_t seed = 0;
  int max_trials = 0;  // trials planned
  double search_seconds = 0;
};

// Reported after every finished trial.
struct TuneProgress {
  int trials_done = 0;
  int max_trials = 0;
  TuneTrial trial;
  int best_trial = 0;  // 0 = none scored yet
  double best_score = 0;
  std::string metric;
  double elapsed_seconds = 0;
};

struct TuneCallbacks {
  // After each trial; false cancels.
  std::function<bool(const TuneProgress&)> trial;
  // Once, when the search has ended and before the final training; false
  // cancels.
  std::function<bool(const TuneSummary&)> search_done;
  // The final training's epochs (Train's ProgressCallback); false cancels.
  ProgressCallback epoch;
  // Polled at every epoch of every trial; true cancels.
  std::function<bool()> should_stop;
};

// The search alone: the summary and the best configuration's spec.
struct SearchResult {
  TuneSummary summary;
  TrainSpec best_spec;
};
absl::StatusOr<SearchResult> Search(const Table& table,
                                    const TuneOptions& options,
                                    const TuneCallbacks& callbacks = {});

// Search, then Train(table, best spec) on every row.
struct TuneResult {
  TuneSummary summary;
  TrainResult model;
};
absl::StatusOr<TuneResult> Tune(const Table& table, const TuneOptions& options,
                                const TuneCallbacks& callbacks = {});

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TUNE_TUNE_H_
