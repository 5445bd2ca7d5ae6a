// File: server/tune_convert.cc
#include "server/tune_convert.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"
#include "server/proto_convert.h"

namespace modelserver::server {
namespace {

TuneNumber NumberFromProto(const google::protobuf::RepeatedField<double>& values,
                           bool has_range, const v1::TuneRange& range) {
  TuneNumber n;
  n.values.assign(values.begin(), values.end());
  if (has_range) n.range = TuneRange{range.low(), range.high(), range.log()};
  return n;
}

}  // namespace

absl::StatusOr<TuneOptions> TuneOptionsFromProto(const v1::TuneRequest& request,
                                                 ColumnType target_type) {
  TuneOptions o;
  ASSIGN_OR_RETURN(o.base, TrainSpecFromProto(request.options(), target_type));
  const v1::TuneSpace& space = request.space();
  for (int i = 0; i < space.models_size(); ++i) {
    if (space.models(i) == v1::MODEL_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "space.models[", i, "]: unspecified; name LINEAR, LOGISTIC or MLP"));
    }
    // The kind options.model = models[i] would train (one implementation
    // of the task/model rules: TrainSpecFromProto's).
    v1::TrainOptions with_model = request.options();
    with_model.set_model(space.models(i));
    absl::StatusOr<TrainSpec> spec =
        TrainSpecFromProto(with_model, target_type);
    if (!spec.ok()) {
      std::string message(spec.status().message());
      if (absl::StartsWith(message, "options.model: ")) {
        message = message.substr(15);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("space.models[", i, "]: ", message));
    }
    o.space.kinds.push_back(spec->kind);
  }
  o.space.learning_rate =
      NumberFromProto(space.learning_rates(), space.has_learning_rate_range(),
                      space.learning_rate_range());
  o.space.l1 =
      NumberFromProto(space.l1(), space.has_l1_range(), space.l1_range());
  o.space.l2 =
      NumberFromProto(space.l2(), space.has_l2_range(), space.l2_range());
  for (const v1::TuneLayers& layers : space.hidden_layers()) {
    o.space.hidden_layers.emplace_back(layers.units().begin(),
                                       layers.units().end());
  }
  o.space.epochs.assign(space.epochs().begin(), space.epochs().end());
  for (int i = 0; i < space.scalings_size(); ++i) {
    absl::StatusOr<ScalingMethod> m = ParseScalingMethod(space.scalings(i));
    if (!m.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("space.scalings[", i, "]: unknown scaling '",
                       space.scalings(i), "'; one of standard, minmax, none"));
    }
    o.space.scaling.push_back(*m);
  }
  switch (request.mode()) {
    case v1::TUNE_MODE_UNSPECIFIED:
    case v1::TUNE_MODE_GRID:
      o.mode = TuneMode::kGrid;
      break;
    case v1::TUNE_MODE_RANDOM:
      o.mode = TuneMode::kRandom;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("mode: unknown value ", request.mode()));
  }
  o.max_trials = request.max_trials();
  o.time_budget_seconds = request.time_budget_seconds();
  o.folds = request.folds() == 0 ? 5 : request.folds();
  o.metric = request.metric();
  o.seed = request.has_seed()              ? request.seed()
           : request.options().has_seed() ? request.options().seed()
                                           : 42;
  RETURN_IF_ERROR(ValidateTuneOptions(o));
  return o;
}

absl::Status ValidateTuneRequest(const v1::TuneRequest& request) {
  bool classification = request.options().task() == v1::TASK_CLASSIFICATION ||
                        request.options().model() == v1::MODEL_TYPE_LOGISTIC;
  for (int m : request.space().models()) {
    classification = classification || m == v1::MODEL_TYPE_LOGISTIC;
  }
  const ColumnType first =
      classification ? ColumnType::kCategorical : ColumnType::kNumeric;
  const ColumnType second =
      classification ? ColumnType::kNumeric : ColumnType::kCategorical;
  absl::Status likely = TuneOptionsFromProto(request, first).status();
  if (likely.ok()) return likely;
  if (TuneOptionsFromProto(request, second).ok()) return absl::OkStatus();
  return likely;
}

v1::TuneTrial TuneTrialToProto(const TuneTrial& trial) {
  v1::TuneTrial out;
  out.set_trial(trial.trial);
  for (const auto& [key, value] : trial.params) {
    v1::Hyperparameter* h = out.add_params();
    h->set_key(key);
    h->set_value(value);
  }
  out.set_mean(trial.mean);
  out.set_stddev(trial.stddev);
  out.set_seconds(trial.seconds);
  out.set_error(trial.error);
  return out;
}

v1::TuneProgress TuneProgressToProto(const TuneProgress& progress) {
  v1::TuneProgress out;
  out.set_trials_done(progress.trials_done);
  out.set_max_trials(progress.max_trials);
  *out.mutable_trial() = TuneTrialToProto(progress.trial);
  out.set_best_trial(progress.best_trial);
  out.set_best_score(progress.best_score);
  out.set_metric(progress.metric);
  out.set_elapsed_seconds(progress.elapsed_seconds);
  return out;
}

v1::TuneSummary TuneSummaryToProto(const TuneSummary& summary) {
  v1::TuneSummary out;
  out.set_metric(summary.metric);
  out.set_higher_is_better(summary.higher_is_better);
  out.set_folds(summary.folds);
  out.set_mode(summary.mode);
  out.set_stop_reason(summary.stop_reason);
  for (const TuneTrial& t : summary.trials) {
    *out.add_trials() = TuneTrialToProto(t);
  }
  out.set_best_trial(summary.best_trial);
  out.set_seed(summary.seed);
  out.set_max_trials(summary.max_trials);
  out.set_search_seconds(summary.search_seconds);
  return out;
}

}  // namespace modelserver::server
