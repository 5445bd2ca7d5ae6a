#include "core/tune/tune.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/rng.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

constexpr const char* kRegressionMetrics[] = {"mse", "rmse", "mae", "r2"};
constexpr const char* kClassificationMetrics[] = {
    "accuracy",         "precision_macro", "recall_macro",
    "f1_macro",         "precision_weighted", "recall_weighted",
    "f1_weighted",      "log_loss",        "roc_auc"};

std::string FormatDouble(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string FormatLayers(const std::vector<int>& layers) {
  return absl::StrJoin(layers, ",");
}

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status CheckRange(absl::string_view field, const TuneRange& r) {
  if (!std::isfinite(r.low) || !std::isfinite(r.high)) {
    return Bad(field, absl::StrCat("low and high must be finite, got [", r.low,
                                   ", ", r.high, "]"));
  }
  if (r.low > r.high) {
    return Bad(field, absl::StrCat("low ", r.low, " > high ", r.high));
  }
  if (r.log && r.low <= 0) {
    return Bad(field, absl::StrCat("a log range needs low > 0, got low ",
                                   r.low));
  }
  return absl::OkStatus();
}

// `min_exclusive`: values must be > 0 (learning rate), else >= 0.
absl::Status CheckNumber(absl::string_view list_field,
                         absl::string_view range_field, const TuneNumber& p,
                         bool min_exclusive, TuneMode mode) {
  if (!p.values.empty() && p.range.has_value()) {
    return Bad(range_field, absl::StrCat("give a list (", list_field,
                                         ") or a range, not both"));
  }
  for (size_t i = 0; i < p.values.size(); ++i) {
    const double v = p.values[i];
    if (!std::isfinite(v) || v < 0 || (min_exclusive && v == 0)) {
      return Bad(absl::StrCat(list_field, "[", i, "]"),
                 absl::StrCat("must be ", min_exclusive ? "> 0" : ">= 0",
                              " and finite, got ", v));
    }
  }
  if (p.range.has_value()) {
    if (mode == TuneMode::kGrid) {
      return Bad(range_field,
                 "ranges need mode random (grid mode takes lists of values)");
    }
    RETURN_IF_ERROR(CheckRange(range_field, *p.range));
    if (p.range->low < 0 || (min_exclusive && p.range->low <= 0)) {
      return Bad(range_field,
                 absl::StrCat("low must be ", min_exclusive ? "> 0" : ">= 0",
                              ", got ", p.range->low));
    }
  }
  return absl::OkStatus();
}

bool Searched(const TuneSpace& s) {
  return !s.kinds.empty() || s.learning_rate.searched() || s.l1.searched() ||
         s.l2.searched() || !s.hidden_layers.empty() || !s.epochs.empty() ||
         !s.scaling.empty();
}

// The list sizes of the grid, in parameter order (1 for an unsearched one).
std::vector<int64_t> GridDims(const TuneSpace& s) {
  auto n = [](size_t size) { return static_cast<int64_t>(size ? size : 1); };
  return {n(s.kinds.size()),         n(s.learning_rate.values.size()),
          n(s.l1.values.size()),     n(s.l2.values.size()),
          n(s.hidden_layers.size()), n(s.epochs.size()),
          n(s.scaling.size())};
}

int64_t GridSize(const TuneSpace& s) {
  int64_t total = 1;
  for (int64_t d : GridDims(s)) {
    if (total > std::numeric_limits<int64_t>::max() / d) {
      return std::numeric_limits<int64_t>::max();
    }
    total *= d;
  }
  return total;
}

// Parameter values chosen for one candidate (index into each list, or a
// drawn number).
struct Choice {
  int kind = -1;
  double learning_rate = 0;
  bool has_learning_rate = false;
  double l1 = 0;
  bool has_l1 = false;
  double l2 = 0;
  bool has_l2 = false;
  int hidden_layers = -1;
  int epochs = -1;
  int scaling = -1;
};

TuneCandidate Build(const TuneOptions& o, const Choice& c) {
  TuneCandidate cand;
  cand.spec = o.base;
  const TuneSpace& s = o.space;
  if (c.kind >= 0) {
    cand.spec.kind = s.kinds[c.kind];
    cand.params.emplace_back("model", std::string(ModelKindName(cand.spec.kind)));
  }
  if (c.has_learning_rate) {
    cand.spec.learning_rate = c.learning_rate;
    cand.params.emplace_back("learning_rate", FormatDouble(c.learning_rate));
  }
  if (c.has_l1) {
    cand.spec.l1 = c.l1;
    cand.params.emplace_back("l1", FormatDouble(c.l1));
  }
  if (c.has_l2) {
    cand.spec.l2 = c.l2;
    cand.params.emplace_back("l2", FormatDouble(c.l2));
  }
  if (c.hidden_layers >= 0) {
    cand.spec.hidden_layers = s.hidden_layers[c.hidden_layers];
    cand.params.emplace_back("hidden_layers",
                             FormatLayers(cand.spec.hidden_layers));
  }
  if (c.epochs >= 0) {
    cand.spec.epochs = s.epochs[c.epochs];
    cand.params.emplace_back("epochs", absl::StrCat(cand.spec.epochs));
  }
  if (c.scaling >= 0) {
    cand.spec.preprocessing.scaling = s.scaling[c.scaling];
    cand.params.emplace_back("scaling",
                             std::string(ScalingMethodName(s.scaling[c.scaling])));
  }
  return cand;
}

int64_t Resolved(const TuneOptions& o) {
  if (o.max_trials > 0) return o.max_trials;
  return o.mode == TuneMode::kGrid ? GridSize(o.space)
                                   : TuneOptions::kDefaultRandomTrials;
}

// The candidates without validating them (the options' own checks done).
std::vector<TuneCandidate> Plan(const TuneOptions& o) {
  std::vector<TuneCandidate> out;
  const TuneSpace& s = o.space;
  if (o.mode == TuneMode::kGrid) {
    const std::vector<int64_t> dims = GridDims(s);
    const int64_t total = GridSize(s);
    out.reserve(static_cast<size_t>(total));
    for (int64_t i = 0; i < total; ++i) {
      // Mixed radix, the last parameter the least significant digit.
      int64_t rest = i;
      int64_t digit[7];
      for (int d = 6; d >= 0; --d) {
        digit[d] = rest % dims[d];
        rest /= dims[d];
      }
      Choice c;
      if (!s.kinds.empty()) c.kind = static_cast<int>(digit[0]);
      if (!s.learning_rate.values.empty()) {
        c.has_learning_rate = true;
        c.learning_rate = s.learning_rate.values[digit[1]];
      }
      if (!s.l1.values.empty()) {
        c.has_l1 = true;
        c.l1 = s.l1.values[digit[2]];
      }
      if (!s.l2.values.empty()) {
        c.has_l2 = true;
        c.l2 = s.l2.values[digit[3]];
      }
      if (!s.hidden_layers.empty()) c.hidden_layers = static_cast<int>(digit[4]);
      if (!s.epochs.empty()) c.epochs = static_cast<int>(digit[5]);
      if (!s.scaling.empty()) c.scaling = static_cast<int>(digit[6]);
      out.push_back(Build(o, c));
    }
    return out;
  }
  Rng rng(o.seed);
  auto pick = [&rng](size_t n) { return static_cast<int>(rng.UniformInt(n)); };
  auto draw = [&rng, &pick](const TuneNumber& p, double* v) {
    if (!p.values.empty()) {
      *v = p.values[pick(p.values.size())];
      return true;
    }
    if (!p.range.has_value()) return false;
    const TuneRange& r = *p.range;
    const double u = rng.Uniform();
    *v = r.log ? std::exp(std::log(r.low) +
                          (std::log(r.high) - std::log(r.low)) * u)
               : r.low + (r.high - r.low) * u;
    // exp(log(x)) may round just outside [low, high].
    *v = std::min(std::max(*v, r.low), r.high);
    return true;
  };
  const int64_t n = Resolved(o);
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    Choice c;
    if (!s.kinds.empty()) c.kind = pick(s.kinds.size());
    c.has_learning_rate = draw(s.learning_rate, &c.learning_rate);
    c.has_l1 = draw(s.l1, &c.l1);
    c.has_l2 = draw(s.l2, &c.l2);
    if (!s.hidden_layers.empty()) c.hidden_layers = pick(s.hidden_layers.size());
    if (!s.epochs.empty()) c.epochs = pick(s.epochs.size());
    if (!s.scaling.empty()) c.scaling = pick(s.scaling.size());
    out.push_back(Build(o, c));
  }
  return out;
}

absl::Status ValidateOptionsOnly(const TuneOptions& o) {
  const TuneSpace& s = o.space;
  if (!Searched(s)) {
    return Bad("space", "no parameter to search: give at least one "
                        "parameter a list of values (or a range)");
  }
  if (o.mode != TuneMode::kGrid && o.mode != TuneMode::kRandom) {
    return Bad("mode", "must be grid or random");
  }
  bool any_classifier = false;
  bool any_regressor = false;
  for (ModelKind k : s.kinds) {
    (IsClassifier(k) ? any_classifier : any_regressor) = true;
  }
  if (any_classifier && any_regressor) {
    return Bad("space.models",
               "mixes regression and classification models; the target "
               "decides the task");
  }
  RETURN_IF_ERROR(CheckNumber("space.learning_rates",
                              "space.learning_rate_range", s.learning_rate,
                              /*min_exclusive=*/true, o.mode));
  RETURN_IF_ERROR(CheckNumber("space.l1", "space.l1_range", s.l1,
                              /*min_exclusive=*/false, o.mode));
  RETURN_IF_ERROR(CheckNumber("space.l2", "space.l2_range", s.l2,
                              /*min_exclusive=*/false, o.mode));
  for (size_t i = 0; i < s.hidden_layers.size(); ++i) {
    const std::vector<int>& layers = s.hidden_layers[i];
    if (layers.empty()) {
      return Bad(absl::StrCat("space.hidden_layers[", i, "]"),
                 "an empty list of layers");
    }
    for (int units : layers) {
      if (units < 1) {
        return Bad(absl::StrCat("space.hidden_layers[", i, "]"),
                   absl::StrCat("every layer needs >= 1 unit, got ", units));
      }
    }
  }
  for (size_t i = 0; i < s.epochs.size(); ++i) {
    if (s.epochs[i] < 1) {
      return Bad(absl::StrCat("space.epochs[", i, "]"),
                 absl::StrCat("must be >= 1, got ", s.epochs[i]));
    }
  }
  if (o.max_trials < 0) {
    return Bad("max_trials",
               absl::StrCat("must be >= 0 (0 = the grid's size, or ",
                            TuneOptions::kDefaultRandomTrials,
                            " for random), got ", o.max_trials));
  }
  if (!std::isfinite(o.time_budget_seconds) || o.time_budget_seconds < 0) {
    return Bad("time_budget_seconds",
               absl::StrCat("must be >= 0 (0 = none), got ",
                            o.time_budget_seconds));
  }
  if (o.folds < 2) {
    return Bad("folds", absl::StrCat("must be >= 2, got ", o.folds));
  }
  const bool classifier =
      s.kinds.empty() ? IsClassifier(o.base.kind) : any_classifier;
  if (!o.metric.empty()) {
    bool known = false;
    std::vector<std::string> names;
    if (classifier) {
      for (const char* m : kClassificationMetrics) {
        names.push_back(m);
        known = known || o.metric == m;
      }
    } else {
      for (const char* m : kRegressionMetrics) {
        names.push_back(m);
        known = known || o.metric == m;
      }
    }
    if (!known) {
      return Bad("metric",
                 absl::StrCat("unknown metric '", o.metric, "' for ",
                              classifier ? "classification" : "regression",
                              "; one of ", absl::StrJoin(names, ", ")));
    }
  }
  if (o.mode == TuneMode::kGrid && o.max_trials > 0 &&
      GridSize(s) > o.max_trials) {
    return Bad("max_trials",
               absl::StrCat("the grid has ", GridSize(s),
                            " configurations, more than max_trials ",
                            o.max_trials,
                            "; raise max_trials, shrink the grid or use "
                            "mode random"));
  }
  return absl::OkStatus();
}

std::string DescribeParams(const TuneParams& params) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : params) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, " ");
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       since)
      .count();
}

}  // namespace

absl::string_view TuneModeName(TuneMode mode) {
  return mode == TuneMode::kRandom ? "random" : "grid";
}

bool HigherIsBetter(absl::string_view metric) {
  return !(metric == "mse" || metric == "rmse" || metric == "mae" ||
           metric == "log_loss");
}

int64_t PlannedTrials(const TuneOptions& options) { return Resolved(options); }

absl::Status ValidateTuneOptions(const TuneOptions& options) {
  return PlanTrials(options).status();
}

absl::StatusOr<std::vector<TuneCandidate>> PlanTrials(
    const TuneOptions& options) {
  RETURN_IF_ERROR(ValidateOptionsOnly(options));
  std::vector<TuneCandidate> plan = Plan(options);
  for (const TuneCandidate& c : plan) {
    absl::Status s = ValidateTrainSpec(c.spec);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("options.", s.message(), " (in the configuration ",
                       DescribeParams(c.params), ")"));
    }
  }
  return plan;
}

absl::StatusOr<SearchResult> Search(const Table& table,
                                    const TuneOptions& options,
                                    const TuneCallbacks& callbacks) {
  ASSIGN_OR_RETURN(std::vector<TuneCandidate> plan, PlanTrials(options));
  const auto start = std::chrono::steady_clock::now();
  const bool budgeted = options.time_budget_seconds > 0;
  auto over_budget = [&] {
    return budgeted && Seconds(start) >= options.time_budget_seconds;
  };

  SearchResult out;
  TuneSummary& summary = out.summary;
  const bool classifier = IsClassifier(plan.front().spec.kind);
  summary.metric =
      options.metric.empty() ? (classifier ? "accuracy" : "r2") : options.metric;
  summary.higher_is_better = HigherIsBetter(summary.metric);
  summary.folds = options.folds;
  summary.mode = std::string(TuneModeName(options.mode));
  summary.stop_reason = "max_trials";
  summary.seed = options.seed;
  summary.max_trials = static_cast<int>(plan.size());

  bool cancelled = false;
  bool budget_hit = false;
  int best = -1;  // index into summary.trials
  const ProgressCallback inner = [&](const EpochEvent&) {
    if (callbacks.should_stop && callbacks.should_stop()) {
      cancelled = true;
      return false;
    }
    if (over_budget()) {
      budget_hit = true;
      return false;
    }
    return true;
  };

  for (size_t i = 0; i < plan.size(); ++i) {
    if (callbacks.should_stop && callbacks.should_stop()) cancelled = true;
    if (cancelled) return absl::CancelledError("the search was cancelled");
    if (over_budget()) {
      budget_hit = true;
      break;
    }
    const TuneCandidate& cand = plan[i];
    const auto trial_start = std::chrono::steady_clock::now();
    absl::StatusOr<CrossValidationResult> cv =
        CrossValidate(table, cand.spec, options.folds, inner);
    if (cancelled) return absl::CancelledError("the search was cancelled");
    if (budget_hit) break;  // abandoned: not recorded
    TuneTrial trial;
    trial.trial = static_cast<int>(i) + 1;
    trial.params = cand.params;
    trial.seconds = Seconds(trial_start);
    if (!cv.ok()) {
      if (!absl::IsAborted(cv.status())) {
        return absl::Status(
            cv.status().code(),
            absl::StrCat("trial ", trial.trial, " (",
                         DescribeParams(cand.params),
                         "): ", cv.status().message()));
      }
      trial.mean = std::numeric_limits<double>::quiet_NaN();
      trial.stddev = std::numeric_limits<double>::quiet_NaN();
      trial.error = std::string(cv.status().message());
    } else {
      const MetricSummary* m = nullptr;
      for (const MetricSummary& s : cv->summary) {
        if (s.name == summary.metric) m = &s;
      }
      if (m == nullptr) {
        std::vector<std::string> names;
        for (const MetricSummary& s : cv->summary) names.push_back(s.name);
        return Bad("metric",
                   absl::StrCat("'", summary.metric,
                                "' is not computed for this data (roc_auc "
                                "needs two classes); computed: ",
                                absl::StrJoin(names, ", ")));
      }
      trial.mean = m->mean;
      trial.stddev = m->stddev;
      const bool better =
          best < 0 || (summary.higher_is_better
                           ? trial.mean > summary.trials[best].mean
                           : trial.mean < summary.trials[best].mean);
      if (better) best = static_cast<int>(summary.trials.size());
    }
    summary.trials.push_back(std::move(trial));
    if (callbacks.trial) {
      TuneProgress p;
      p.trials_done = static_cast<int>(summary.trials.size());
      p.max_trials = summary.max_trials;
      p.trial = summary.trials.back();
      if (best >= 0) {
        p.best_trial = summary.trials[best].trial;
        p.best_score = summary.trials[best].mean;
      }
      p.metric = summary.metric;
      p.elapsed_seconds = Seconds(start);
      if (!callbacks.trial(p)) {
        return absl::CancelledError("the search was cancelled");
      }
    }
  }
  if (budget_hit) summary.stop_reason = "time_budget";
  summary.search_seconds = Seconds(start);
  if (best < 0) {
    if (budget_hit && summary.trials.empty()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "time_budget_seconds: the budget of ", options.time_budget_seconds,
          " s expired before any trial finished"));
    }
    return absl::AbortedError(absl::StrCat(
        "every trial failed; the first: ", summary.trials.front().error));
  }
  summary.best_trial = summary.trials[best].trial;
  out.best_spec = plan[summary.best_trial - 1].spec;
  return out;
}

absl::StatusOr<TuneResult> Tune(const Table& table, const TuneOptions& options,
                                const TuneCallbacks& callbacks) {
  ASSIGN_OR_RETURN(SearchResult search, Search(table, options, callbacks));
  if (callbacks.search_done && !callbacks.search_done(search.summary)) {
    return absl::CancelledError("the search was cancelled");
  }
  const ProgressCallback epoch = [&](const EpochEvent& e) {
    if (callbacks.should_stop && callbacks.should_stop()) return false;
    return callbacks.epoch ? callbacks.epoch(e) : true;
  };
  ASSIGN_OR_RETURN(TrainResult model, Train(table, search.best_spec, epoch));
  return TuneResult{std::move(search.summary), std::move(model)};
}

}  // namespace modelserver
