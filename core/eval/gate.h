// File: core/eval/gate.h
// Promotion gates (docs/training.md, "Promotion gates"): conditions a newly
// trained version must meet on holdout rows before it gets a label.
//
//   condition      <metric> <op> <value>, op one of >= > <= <, metric a
//                  name from NamedMetrics (core/eval/metrics.h): mse, rmse,
//                  mae, r2 for regression; accuracy, precision_macro,
//                  recall_macro, f1_macro, precision_weighted,
//                  recall_weighted, f1_weighted, log_loss, roc_auc for
//                  classification.
//   better than    the version with a label, scored on the same holdout
//                  rows: the new version must be strictly better by
//                  `compare_metric` (higher for accuracy, r2, f1..., lower
//                  for mse, rmse, mae, log_loss). Default metric: r2 for
//                  regression, accuracy for classification.
//
// The gate passes when every condition passes. A condition whose metric the
// evaluation lacks (roc_auc of a 3-class model, or of holdout rows holding
// one class) fails, saying so; so does "better than" when the baseline
// could not be scored.
//
// Thread-safety: pure functions.
#ifndef MODELSERVER_CORE_EVAL_GATE_H_
#define MODELSERVER_CORE_EVAL_GATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver {

enum class GateOp { kGe, kGt, kLe, kLt };
absl::string_view GateOpText(GateOp op);  // ">=", ">", "<=", "<"
// INVALID_ARGUMENT naming `field` and the accepted operators.
absl::StatusOr<GateOp> ParseGateOp(absl::string_view text,
                                   absl::string_view field);

struct GateCondition {
  std::string metric;
  GateOp op = GateOp::kGe;
  double value = 0;
};
// "f1_macro >= 0.9" (the value in its shortest round-trip form).
std::string GateConditionText(const GateCondition& c);
// Parses "f1_macro>=0.9" (spaces allowed around the parts). INVALID_ARGUMENT
// quoting the text for a missing operator, an empty metric or a value that
// is not a finite number. The metric name is not checked here.
absl::StatusOr<GateCondition> ParseGateCondition(absl::string_view text);

struct GateSpec {
  std::vector<GateCondition> conditions;
  // Empty: no comparison with a labelled version.
  std::string better_than_label;
  // Empty: DefaultCompareMetric.
  std::string compare_metric;
};

enum class GateTask { kUnknown, kRegression, kClassification };

// Every metric name a gate accepts for `task` (kUnknown: both lists).
bool IsGateMetric(absl::string_view metric, GateTask task);
// True for mse, rmse, mae and log_loss.
bool LowerIsBetter(absl::string_view metric);
// "r2" or "accuracy".
absl::string_view DefaultCompareMetric(bool classifier);

// Checks names and values: at least one condition or a better_than_label;
// each metric known for `task` (INVALID_ARGUMENT naming
// `<field>.conditions[i]`, the metric, and the names `task` accepts);
// values finite; compare_metric known and only with better_than_label.
absl::Status ValidateGate(const GateSpec& gate, GateTask task,
                          absl::string_view field);

using NamedMetricList = std::vector<std::pair<std::string, double>>;

struct GateConditionResult {
  std::string condition;  // "f1_macro >= 0.9", "accuracy > stable"
  bool passed = false;
  double value = 0;              // the new version's (NaN when unavailable)
  double baseline_value = 0;     // better-than only
  int64_t baseline_version = 0;  // better-than only
};

struct GateResult {
  bool passed = false;
  // One line. Failed: every failing condition, "; "-separated
  // ("f1_macro 0.87 < 0.9"); passed: "every condition passed: ..." with the
  // measured values.
  std::string reason;
  std::vector<GateConditionResult> conditions;
  NamedMetricList holdout_metrics;  // the new version on the holdout
  int64_t holdout_rows = 0;
  // Set by the caller once the label is set.
  std::string promoted_label;
};

// The baseline of a better-than condition: its version and its metrics on
// the holdout, or why it could not be scored.
struct GateBaseline {
  int64_t version = 0;
  absl::Status error;  // not OK: the condition fails with this message
  NamedMetricList metrics;
};

// Evaluates `gate` (which passed ValidateGate) on the new version's holdout
// metrics. `baseline` is required when gate.better_than_label is set.
GateResult EvaluateGate(const GateSpec& gate, bool classifier,
                        const NamedMetricList& candidate,
                        const std::optional<GateBaseline>& baseline);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_EVAL_GATE_H_
