// File: client/tune_flags.cc
#include "client/tune_flags.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/output.h"

namespace modelserver::client {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view value,
                 absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat(
      flag, ": '", value, "' is not ", expected));
}

absl::StatusOr<std::vector<std::string>> Items(absl::string_view flag,
                                               absl::string_view text) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": empty item in '", text, "'"));
    }
    out.emplace_back(part);
  }
  return out;
}

absl::StatusOr<double> Number(absl::string_view flag, absl::string_view text) {
  double v = 0;
  if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
    return Bad(flag, text, "a number");
  }
  return v;
}

// A list "a,b" into `values`, or a range "low:high[:log]" into `range`.
absl::Status NumbersOrRange(absl::string_view flag, absl::string_view text,
                            google::protobuf::RepeatedField<double>* values,
                            v1::TuneRange* range, bool* has_range) {
  *has_range = false;
  if (text.empty()) return absl::OkStatus();
  if (absl::StrContains(text, ':')) {
    std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
    if (parts.size() < 2 || parts.size() > 3 ||
        (parts.size() == 3 && parts[2] != "log")) {
      return Bad(flag, text, "a range low:high or low:high:log");
    }
    absl::StatusOr<double> low = Number(flag, parts[0]);
    if (!low.ok()) return low.status();
    absl::StatusOr<double> high = Number(flag, parts[1]);
    if (!high.ok()) return high.status();
    range->set_low(*low);
    range->set_high(*high);
    range->set_log(parts.size() == 3);
    *has_range = true;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> items = Items(flag, text);
  if (!items.ok()) return items.status();
  for (const std::string& item : *items) {
    absl::StatusOr<double> v = Number(flag, item);
    if (!v.ok()) return v.status();
    values->Add(*v);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> PositiveInts(absl::string_view flag,
                                              absl::string_view text) {
  absl::StatusOr<std::vector<std::string>> items = Items(flag, text);
  if (!items.ok()) return items.status();
  std::vector<int> out;
  for (const std::string& item : *items) {
    int v = 0;
    if (!absl::SimpleAtoi(item, &v) || v <= 0) {
      return Bad(flag, item, "a positive integer");
    }
    out.push_back(v);
  }
  return out;
}

std::string Score(double mean, double stddev) {
  return absl::StrCat(FormatNumber(mean), " \xC2\xB1 ", FormatNumber(stddev));
}

std::string Params(const v1::TuneTrial& t) {
  std::vector<std::string> parts;
  for (const v1::Hyperparameter& h : t.params()) {
    parts.push_back(absl::StrCat(h.key(), "=", h.value()));
  }
  return absl::StrJoin(parts, " ");
}

}  // namespace

absl::StatusOr<double> ParseDuration(absl::string_view flag,
                                     absl::string_view text) {
  double scale = 1;
  absl::string_view number = text;
  if (!number.empty()) {
    switch (number.back()) {
      case 's':
        number.remove_suffix(1);
        break;
      case 'm':
        scale = 60;
        number.remove_suffix(1);
        break;
      case 'h':
        scale = 3600;
        number.remove_suffix(1);
        break;
      default:
        break;
    }
  }
  double v = 0;
  if (!absl::SimpleAtod(number, &v) || !std::isfinite(v) || v < 0) {
    return Bad(flag, text, "a duration like 90s, 2m, 1.5h or 30 (seconds)");
  }
  return v * scale;
}

absl::StatusOr<v1::TuneRequest> BuildTuneRequest(const TuneFlags& f) {
  v1::TuneRequest r;
  absl::StatusOr<v1::TrainOptions> base = BuildTrainOptions(f.base);
  if (!base.ok()) return base.status();
  *r.mutable_options() = *std::move(base);
  v1::TuneSpace* s = r.mutable_space();
  if (!f.models.empty()) {
    absl::StatusOr<std::vector<std::string>> items = Items("--model", f.models);
    if (!items.ok()) return items.status();
    for (const std::string& m : *items) {
      if (m == "linear") {
        s->add_models(v1::MODEL_TYPE_LINEAR);
      } else if (m == "logistic") {
        s->add_models(v1::MODEL_TYPE_LOGISTIC);
      } else if (m == "mlp") {
        s->add_models(v1::MODEL_TYPE_MLP);
      } else {
        return Bad("--model", m, "one of linear, logistic, mlp");
      }
    }
  }
  bool has = false;
  absl::Status st =
      NumbersOrRange("--learning-rate", f.learning_rate,
                     s->mutable_learning_rates(),
                     s->mutable_learning_rate_range(), &has);
  if (!st.ok()) return st;
  if (!has) s->clear_learning_rate_range();
  st = NumbersOrRange("--l1", f.l1, s->mutable_l1(), s->mutable_l1_range(),
                      &has);
  if (!st.ok()) return st;
  if (!has) s->clear_l1_range();
  st = NumbersOrRange("--l2", f.l2, s->mutable_l2(), s->mutable_l2_range(),
                      &has);
  if (!st.ok()) return st;
  if (!has) s->clear_l2_range();
  for (const std::string& layers : f.hidden_layers) {
    absl::StatusOr<std::vector<int>> units =
        PositiveInts("--hidden-layers", layers);
    if (!units.ok()) return units.status();
    v1::TuneLayers* l = s->add_hidden_layers();
    for (int u : *units) l->add_units(u);
  }
  if (!f.epochs.empty()) {
    absl::StatusOr<std::vector<int>> epochs = PositiveInts("--epochs", f.epochs);
    if (!epochs.ok()) return epochs.status();
    for (int e : *epochs) s->add_epochs(e);
  }
  if (!f.scaling.empty()) {
    absl::StatusOr<std::vector<std::string>> items =
        Items("--scaling", f.scaling);
    if (!items.ok()) return items.status();
    for (const std::string& m : *items) {
      if (m != "standard" && m != "minmax" && m != "none") {
        return Bad("--scaling", m, "one of standard, minmax, none");
      }
      s->add_scalings(m);
    }
  }
  if (f.mode.empty() || f.mode == "grid") {
    r.set_mode(v1::TUNE_MODE_GRID);
  } else if (f.mode == "random") {
    r.set_mode(v1::TUNE_MODE_RANDOM);
  } else {
    return Bad("--mode", f.mode, "grid or random");
  }
  if (f.folds) r.set_folds(*f.folds);
  if (f.trials) r.set_max_trials(*f.trials);
  if (!f.time_budget.empty()) {
    absl::StatusOr<double> seconds =
        ParseDuration("--time-budget", f.time_budget);
    if (!seconds.ok()) return seconds.status();
    r.set_time_budget_seconds(*seconds);
  }
  r.set_metric(f.metric);
  if (f.search_seed) {
    r.set_seed(*f.search_seed);
    r.mutable_options()->set_seed(*f.search_seed);
  }
  return r;
}

std::string TuneLine(const v1::TuneProgress& p, int bar_width) {
  const int done = p.max_trials() > 0
                       ? std::min(bar_width, bar_width * p.trials_done() /
                                                 p.max_trials())
                       : 0;
  std::string line =
      absl::StrCat("trial ", p.trials_done(), "/", p.max_trials(), " [",
                   std::string(done, '#'), std::string(bar_width - done, '.'),
                   "] ", p.metric(), " ");
  if (!p.trial().error().empty()) {
    absl::StrAppend(&line, "failed");
  } else {
    absl::StrAppend(&line, Score(p.trial().mean(), p.trial().stddev()));
  }
  if (p.best_trial() > 0) {
    absl::StrAppend(&line, "  best ", FormatNumber(p.best_score()),
                    " (trial ", p.best_trial(), ")");
  }
  return line;
}

std::string TuneSummaryText(const v1::TuneSummary& s) {
  std::vector<const v1::TuneTrial*> order;
  for (const v1::TuneTrial& t : s.trials()) order.push_back(&t);
  const bool higher = s.higher_is_better();
  std::stable_sort(order.begin(), order.end(),
                   [higher](const v1::TuneTrial* a, const v1::TuneTrial* b) {
                     const bool fa = !a->error().empty();
                     const bool fb = !b->error().empty();
                     if (fa != fb) return fb;  // failed trials last
                     if (fa) return false;
                     return higher ? a->mean() > b->mean()
                                   : a->mean() < b->mean();
                   });
  std::vector<std::vector<std::string>> rows;
  for (const v1::TuneTrial* t : order) {
    rows.push_back(
        {absl::StrCat(t->trial(), t->trial() == s.best_trial() ? " *" : ""),
         t->error().empty() ? FormatNumber(t->mean()) : "failed",
         t->error().empty() ? FormatNumber(t->stddev()) : "-",
         FormatNumber(t->seconds()),
         t->error().empty() ? Params(*t)
                            : absl::StrCat(Params(*t), " (", t->error(), ")")});
  }
  std::string out = absl::StrCat(
      "search: ", s.mode(), ", ", s.trials_size(), " of ", s.max_trials(),
      " trials, ", s.folds(), "-fold ", s.metric(), " (",
      higher ? "higher" : "lower", " is better), stopped: ", s.stop_reason(),
      ", ", FormatNumber(s.search_seconds()), " s\n");
  absl::StrAppend(&out, FormatTable({"trial", s.metric(), "std", "seconds",
                                     "parameters"},
                                    rows));
  return out;
}

}  // namespace modelserver::client
