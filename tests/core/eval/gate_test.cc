#include "core/eval/gate.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::HasSubstr;

TEST(GateTest, ParsesConditions) {
  auto c = ParseGateCondition("f1_macro>=0.9");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->metric, "f1_macro");
  EXPECT_EQ(c->op, GateOp::kGe);
  EXPECT_EQ(c->value, 0.9);
  EXPECT_EQ(GateConditionText(*c), "f1_macro >= 0.9");
  c = ParseGateCondition(" rmse < 12.5 ");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->op, GateOp::kLt);
  EXPECT_EQ(c->value, 12.5);
  EXPECT_EQ(ParseGateCondition("r2>0")->op, GateOp::kGt);
  EXPECT_EQ(ParseGateCondition("mae<=3")->op, GateOp::kLe);

  EXPECT_EQ(ParseGateCondition("accuracy=0.9").status().message(),
            "gate condition 'accuracy=0.9': expected <metric><op><value> "
            "with op one of >=, >, <=, <, e.g. f1_macro>=0.9");
  EXPECT_EQ(ParseGateCondition(">=0.9").status().message(),
            "gate condition '>=0.9': the metric is missing");
  EXPECT_EQ(ParseGateCondition("r2>=high").status().message(),
            "gate condition 'r2>=high': the value 'high' is not a finite "
            "number");
  EXPECT_EQ(ParseGateCondition("r2>=").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGateCondition("r2>=inf").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGateOp("=>", "gate.conditions[0].op").status().message(),
            "gate.conditions[0].op: unknown operator '=>': expected >=, >, "
            "<= or <");
}

TEST(GateTest, ValidatesMetricsForTheTask) {
  GateSpec g;
  EXPECT_EQ(ValidateGate(g, GateTask::kUnknown, "gate").message(),
            "gate: a gate needs at least one condition or better_than_label");
  g.conditions.push_back({"r2", GateOp::kGe, 0.5});
  EXPECT_TRUE(ValidateGate(g, GateTask::kRegression, "gate").ok());
  EXPECT_TRUE(ValidateGate(g, GateTask::kUnknown, "gate").ok());
  const absl::Status s = ValidateGate(g, GateTask::kClassification, "gate");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("gate.conditions[0] 'r2 >= 0.5': unknown metric 'r2' "
                        "for classification models; expected one of: "
                        "accuracy, precision_macro"));
  g.conditions[0].metric = "f2";
  EXPECT_THAT(
      std::string(ValidateGate(g, GateTask::kUnknown, "gate").message()),
      HasSubstr("unknown metric 'f2'; expected one of: mse, rmse, "
                "mae, r2, accuracy"));
  g.conditions.clear();
  g.compare_metric = "accuracy";
  g.better_than_label = "";
  g.conditions.push_back({"accuracy", GateOp::kGe, 0.5});
  EXPECT_EQ(ValidateGate(g, GateTask::kClassification, "gate").message(),
            "gate.compare_metric: goes with better_than_label, which is not "
            "set");
  g.better_than_label = "stable";
  g.compare_metric = "r2";
  EXPECT_THAT(
      std::string(ValidateGate(g, GateTask::kClassification, "gate").message()),
      HasSubstr("gate.compare_metric: unknown metric 'r2'"));
  g.compare_metric = "log_loss";
  EXPECT_TRUE(ValidateGate(g, GateTask::kClassification, "gate").ok());
}

TEST(GateTest, EvaluatesConditionsWithExactReasons) {
  const NamedMetricList m = {{"accuracy", 0.9}, {"f1_macro", 0.87}};
  GateSpec g;
  g.conditions.push_back({"f1_macro", GateOp::kGe, 0.9});
  g.conditions.push_back({"accuracy", GateOp::kGt, 0.85});
  GateResult r = EvaluateGate(g, true, m, std::nullopt);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.reason, "f1_macro 0.87 < 0.9");
  ASSERT_EQ(r.conditions.size(), 2u);
  EXPECT_EQ(r.conditions[0].condition, "f1_macro >= 0.9");
  EXPECT_FALSE(r.conditions[0].passed);
  EXPECT_EQ(r.conditions[0].value, 0.87);
  EXPECT_TRUE(r.conditions[1].passed);
  EXPECT_EQ(r.holdout_metrics, m);

  g.conditions[0].value = 0.8;
  r = EvaluateGate(g, true, m, std::nullopt);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.reason,
            "every condition passed: f1_macro 0.87 >= 0.8; accuracy 0.9 > "
            "0.85");

  // Both failing; a metric the evaluation lacks fails too.
  g.conditions = {{"accuracy", GateOp::kGe, 0.95},
                  {"roc_auc", GateOp::kGe, 0.5},
                  {"log_loss", GateOp::kLt, 0.1}};
  r = EvaluateGate(g, true, {{"accuracy", 0.9}, {"log_loss", 0.25}},
                   std::nullopt);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.reason,
            "accuracy 0.9 < 0.95; roc_auc is not available on the holdout "
            "rows (condition roc_auc >= 0.5); log_loss 0.25 >= 0.1");
  EXPECT_TRUE(std::isnan(r.conditions[1].value));
}

TEST(GateTest, BetterThanALabelledVersion) {
  GateSpec g;
  g.better_than_label = "stable";
  GateBaseline b;
  b.version = 3;
  b.metrics = {{"r2", 0.8}, {"rmse", 10.0}};
  GateResult r = EvaluateGate(g, false, {{"r2", 0.85}, {"rmse", 9.0}}, b);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.reason,
            "every condition passed: r2 0.85 > 0.8 of version 3 (label "
            "'stable')");
  ASSERT_EQ(r.conditions.size(), 1u);
  EXPECT_EQ(r.conditions[0].condition, "r2 > stable");
  EXPECT_EQ(r.conditions[0].baseline_value, 0.8);
  EXPECT_EQ(r.conditions[0].baseline_version, 3);
  // Equal is not better.
  r = EvaluateGate(g, false, {{"r2", 0.8}}, b);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.reason, "r2 0.8 <= 0.8 of version 3 (label 'stable')");
  // Lower is better for rmse.
  g.compare_metric = "rmse";
  r = EvaluateGate(g, false, {{"r2", 0.7}, {"rmse", 11.0}}, b);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.conditions[0].condition, "rmse < stable");
  EXPECT_EQ(r.reason, "rmse 11 >= 10 of version 3 (label 'stable')");
  r = EvaluateGate(g, false, {{"r2", 0.7}, {"rmse", 9.5}}, b);
  EXPECT_TRUE(r.passed);
  // A baseline that could not be scored, or none at all.
  b.error = absl::InvalidArgumentError("column 'x' is missing");
  r = EvaluateGate(g, false, {{"rmse", 9.5}}, b);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.reason,
            "version 3 (label 'stable') could not be scored on the holdout "
            "rows: column 'x' is missing");
  r = EvaluateGate(g, false, {{"rmse", 9.5}}, std::nullopt);
  EXPECT_EQ(r.reason, "no version has the label 'stable'");
  EXPECT_FALSE(r.passed);
}

}  // namespace
}  // namespace modelserver
