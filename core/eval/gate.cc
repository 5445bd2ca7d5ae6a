#include "core/eval/gate.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace modelserver {
namespace {

constexpr absl::string_view kRegressionMetrics[] = {"mse", "rmse", "mae", "r2"};
constexpr absl::string_view kClassificationMetrics[] = {
    "accuracy",    "precision_macro",    "recall_macro",
    "f1_macro",    "precision_weighted", "recall_weighted",
    "f1_weighted", "log_loss",           "roc_auc"};

// The threshold as the user wrote it: shortest round-trip text.
std::string Exact(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// A measured value: 6 significant digits.
std::string Measured(double v) {
  char buf[32];
  auto r =
      std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general, 6);
  return std::string(buf, r.ptr);
}

bool Holds(double v, GateOp op, double threshold) {
  switch (op) {
    case GateOp::kGe:
      return v >= threshold;
    case GateOp::kGt:
      return v > threshold;
    case GateOp::kLe:
      return v <= threshold;
    case GateOp::kLt:
      return v < threshold;
  }
  return false;
}

// The operator that holds when `op` does not.
absl::string_view Negation(GateOp op) {
  switch (op) {
    case GateOp::kGe:
      return "<";
    case GateOp::kGt:
      return "<=";
    case GateOp::kLe:
      return ">";
    case GateOp::kLt:
      return ">=";
  }
  return "?";
}

std::optional<double> Find(const NamedMetricList& metrics,
                           absl::string_view name) {
  for (const auto& [n, v] : metrics) {
    if (n == name) return v;
  }
  return std::nullopt;
}

std::string Names(GateTask task) {
  std::vector<absl::string_view> names;
  if (task != GateTask::kClassification) {
    names.insert(names.end(), std::begin(kRegressionMetrics),
                 std::end(kRegressionMetrics));
  }
  if (task != GateTask::kRegression) {
    names.insert(names.end(), std::begin(kClassificationMetrics),
                 std::end(kClassificationMetrics));
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace

absl::string_view GateOpText(GateOp op) {
  switch (op) {
    case GateOp::kGe:
      return ">=";
    case GateOp::kGt:
      return ">";
    case GateOp::kLe:
      return "<=";
    case GateOp::kLt:
      return "<";
  }
  return "?";
}

absl::StatusOr<GateOp> ParseGateOp(absl::string_view text,
                                   absl::string_view field) {
  for (GateOp op : {GateOp::kGe, GateOp::kGt, GateOp::kLe, GateOp::kLt}) {
    if (text == GateOpText(op)) return op;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": unknown operator '", text, "': expected >=, >, <= or <"));
}

std::string GateConditionText(const GateCondition& c) {
  return absl::StrCat(c.metric, " ", GateOpText(c.op), " ", Exact(c.value));
}

absl::StatusOr<GateCondition> ParseGateCondition(absl::string_view text) {
  const size_t at = text.find_first_of("<>");
  if (at == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("gate condition '", text,
                     "': expected <metric><op><value> with op one of >=, >, "
                     "<=, <, e.g. f1_macro>=0.9"));
  }
  const size_t op_len = at + 1 < text.size() && text[at + 1] == '=' ? 2 : 1;
  GateCondition c;
  c.metric = std::string(absl::StripAsciiWhitespace(text.substr(0, at)));
  if (c.metric.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("gate condition '", text, "': the metric is missing"));
  }
  auto op = ParseGateOp(text.substr(at, op_len), "gate condition");
  if (!op.ok()) return op.status();
  c.op = *op;
  const absl::string_view value =
      absl::StripAsciiWhitespace(text.substr(at + op_len));
  const char* end = value.data() + value.size();
  auto r = std::from_chars(value.data(), end, c.value);
  if (value.empty() || r.ec != std::errc() || r.ptr != end ||
      !std::isfinite(c.value)) {
    return absl::InvalidArgumentError(absl::StrCat("gate condition '", text,
                                                   "': the value '", value,
                                                   "' is not a finite number"));
  }
  return c;
}

bool IsGateMetric(absl::string_view metric, GateTask task) {
  if (task != GateTask::kClassification) {
    for (absl::string_view m : kRegressionMetrics) {
      if (m == metric) return true;
    }
  }
  if (task != GateTask::kRegression) {
    for (absl::string_view m : kClassificationMetrics) {
      if (m == metric) return true;
    }
  }
  return false;
}

bool LowerIsBetter(absl::string_view metric) {
  return metric == "mse" || metric == "rmse" || metric == "mae" ||
         metric == "log_loss";
}

absl::string_view DefaultCompareMetric(bool classifier) {
  return classifier ? "accuracy" : "r2";
}

absl::Status ValidateGate(const GateSpec& gate, GateTask task,
                          absl::string_view field) {
  if (gate.conditions.empty() && gate.better_than_label.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": a gate needs at least one condition or better_than_label"));
  }
  const std::string kind =
      task == GateTask::kRegression       ? " for regression models"
      : task == GateTask::kClassification ? " for classification models"
                                          : "";
  for (size_t i = 0; i < gate.conditions.size(); ++i) {
    const GateCondition& c = gate.conditions[i];
    if (!IsGateMetric(c.metric, task)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".conditions[", i, "] '", GateConditionText(c),
                       "': unknown metric '", c.metric, "'", kind,
                       "; expected one of: ", Names(task)));
    }
    if (!std::isfinite(c.value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".conditions[", i, "] '", c.metric,
                       "': the value must be a finite number"));
    }
  }
  if (!gate.compare_metric.empty()) {
    if (gate.better_than_label.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       ".compare_metric: goes with better_than_label, which is "
                       "not set"));
    }
    if (!IsGateMetric(gate.compare_metric, task)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".compare_metric: unknown metric '", gate.compare_metric, "'",
          kind, "; expected one of: ", Names(task)));
    }
  }
  return absl::OkStatus();
}

GateResult EvaluateGate(const GateSpec& gate, bool classifier,
                        const NamedMetricList& candidate,
                        const std::optional<GateBaseline>& baseline) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  GateResult result;
  result.holdout_metrics = candidate;
  std::vector<std::string> failures, measured;
  for (const GateCondition& c : gate.conditions) {
    GateConditionResult r;
    r.condition = GateConditionText(c);
    const std::optional<double> v = Find(candidate, c.metric);
    r.value = v.value_or(kNaN);
    if (!v.has_value()) {
      failures.push_back(absl::StrCat(c.metric,
                                      " is not available on the holdout "
                                      "rows (condition ",
                                      r.condition, ")"));
    } else {
      r.passed = Holds(*v, c.op, c.value);
      const std::string line = absl::StrCat(
          c.metric, " ", Measured(*v), " ",
          r.passed ? GateOpText(c.op) : Negation(c.op), " ", Exact(c.value));
      (r.passed ? measured : failures).push_back(line);
    }
    result.conditions.push_back(std::move(r));
  }
  if (!gate.better_than_label.empty()) {
    const std::string metric =
        gate.compare_metric.empty()
            ? std::string(DefaultCompareMetric(classifier))
            : gate.compare_metric;
    const bool lower = LowerIsBetter(metric);
    GateConditionResult r;
    r.condition =
        absl::StrCat(metric, lower ? " < " : " > ", gate.better_than_label);
    const std::optional<double> v = Find(candidate, metric);
    r.value = v.value_or(kNaN);
    r.baseline_value = kNaN;
    const std::string who =
        baseline.has_value()
            ? absl::StrCat("version ", baseline->version, " (label '",
                           gate.better_than_label, "')")
            : absl::StrCat("label '", gate.better_than_label, "'");
    if (baseline.has_value()) r.baseline_version = baseline->version;
    if (!baseline.has_value()) {
      failures.push_back(absl::StrCat("no version has the ", who));
    } else if (!baseline->error.ok()) {
      failures.push_back(absl::StrCat(who,
                                      " could not be scored on the holdout "
                                      "rows: ",
                                      baseline->error.message()));
    } else if (!v.has_value()) {
      failures.push_back(
          absl::StrCat(metric, " is not available on the holdout rows"));
    } else {
      const std::optional<double> b = Find(baseline->metrics, metric);
      if (!b.has_value()) {
        failures.push_back(absl::StrCat(metric, " of ", who,
                                        " is not available on the holdout "
                                        "rows"));
      } else {
        r.baseline_value = *b;
        r.passed = lower ? *v < *b : *v > *b;
        const std::string line = absl::StrCat(
            metric, " ", Measured(*v),
            r.passed ? (lower ? " < " : " > ") : (lower ? " >= " : " <= "),
            Measured(*b), " of ", who);
        (r.passed ? measured : failures).push_back(line);
      }
    }
    result.conditions.push_back(std::move(r));
  }
  result.passed = failures.empty();
  result.reason = result.passed ? absl::StrCat("every condition passed: ",
                                               absl::StrJoin(measured, "; "))
                                : absl::StrJoin(failures, "; ");
  return result;
}

}  // namespace modelserver
