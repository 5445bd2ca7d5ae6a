// Class rebalancing, augmentation and promotion gates through ModelService
// (a Server on 127.0.0.1:0 with a temporary model directory, called through
// a real gRPC stub).
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "modelserver/v1/model_service.grpc.pb.h"
#include "server/server.h"
#include "tests/server/server_fixture.h"

namespace modelserver::server {
namespace {

using ::testing::HasSubstr;

// 3 classes by x (a: x < 4, b: x < 8, c otherwise) with a second feature.
v1::InlineRows ClassRows(int n) {
  v1::InlineRows rows;
  rows.add_columns("x");
  rows.add_columns("z");
  rows.add_columns("label");
  for (int i = 0; i < n; ++i) {
    const double x = std::fmod(i * 0.37, 12.0);
    v1::Row* r = rows.add_rows();
    r->add_values()->set_number(x);
    r->add_values()->set_number(std::cos(i));
    r->add_values()->set_text(x < 4 ? "a" : x < 8 ? "b" : "c");
  }
  return rows;
}

class GateServiceTest : public ServerFixture {
 protected:
  // The TrainResult of a request that must succeed.
  v1::TrainResult TrainOk(const v1::TrainRequest& request) {
    Stream s = Train(request);
    EXPECT_TRUE(s.status.ok()) << s.status.error_message();
    if (s.events.empty() || !s.events.back().has_result()) {
      ADD_FAILURE() << "no result";
      return v1::TrainResult();
    }
    return s.events.back().result();
  }

  // Linear regression on rows [0, 60); holdout rows [60, 90).
  v1::TrainRequest Gated(const std::string& name, bool all_features) {
    v1::TrainRequest req;
    req.set_name(name);
    *req.mutable_data()->mutable_rows() = LinearRows(0, 60);
    *req.mutable_holdout()->mutable_rows() = LinearRows(60, 30);
    req.mutable_options()->set_target("y");
    if (!all_features) req.mutable_options()->add_features("x");
    req.set_promote_label("stable");
    return req;
  }

  std::map<std::string, int64_t> Labels(const std::string& name) {
    grpc::ClientContext ctx;
    v1::GetModelRequest req;
    req.set_name(name);
    v1::ModelInfo info;
    grpc::Status st = stub_->GetModel(&ctx, req, &info);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {info.labels().begin(), info.labels().end()};
  }

  double EvaluateR2(const std::string& name, int64_t version,
                    const v1::InlineRows& rows) {
    grpc::ClientContext ctx;
    v1::EvaluateRequest req;
    req.set_name(name);
    req.set_version(version);
    *req.mutable_data()->mutable_rows() = rows;
    v1::EvaluateResponse resp;
    grpc::Status st = stub_->Evaluate(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    for (const v1::Metric& m : resp.metrics()) {
      if (m.name() == "r2") return m.value();
    }
    ADD_FAILURE() << "no r2";
    return 0;
  }

  grpc::Status Rejected(const v1::TrainRequest& request) {
    Stream s = Train(request);
    EXPECT_TRUE(s.events.empty()) << "a job was created";
    return s.status;
  }

};

TEST_F(GateServiceTest, PassingGateSetsTheLabel) {
  v1::TrainRequest req = Gated("prices", true);
  v1::GateCondition* c = req.mutable_gate()->add_conditions();
  c->set_metric("r2");
  c->set_op(">=");
  c->set_value(0.99);
  const v1::TrainResult r = TrainOk(req);
  EXPECT_EQ(r.version(), 1);
  ASSERT_TRUE(r.has_gate());
  EXPECT_TRUE(r.gate().passed());
  EXPECT_EQ(r.gate().promoted_label(), "stable");
  EXPECT_EQ(r.gate().holdout_rows(), 30);
  ASSERT_EQ(r.gate().conditions_size(), 1);
  EXPECT_EQ(r.gate().conditions(0).condition(), "r2 >= 0.99");
  EXPECT_TRUE(r.gate().conditions(0).passed());
  // The measured value is Evaluate's r2 of the version on the same rows.
  const double r2 = EvaluateR2("prices", 1, LinearRows(60, 30));
  EXPECT_EQ(r.gate().conditions(0).value(), r2);
  EXPECT_THAT(r.gate().reason(), HasSubstr("every condition passed: r2 "));
  EXPECT_EQ(Labels("prices"), (std::map<std::string, int64_t>{{"stable", 1}}));
  // The verdict is kept with the version.
  grpc::ClientContext ctx;
  v1::GetModelRequest get;
  get.set_name("prices");
  get.set_version(1);
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModel(&ctx, get, &info).ok());
  ASSERT_EQ(info.versions_size(), 1);
  EXPECT_TRUE(info.versions(0).augmentation().gate().passed());
  EXPECT_EQ(info.versions(0).augmentation().gate().reason(), r.gate().reason());
}

TEST_F(GateServiceTest, FailingGatePublishesWithoutMovingTheLabel) {
  v1::TrainRequest first = Gated("prices", true);
  first.mutable_gate()->add_conditions()->set_metric("r2");
  first.mutable_gate()->mutable_conditions(0)->set_op(">");
  first.mutable_gate()->mutable_conditions(0)->set_value(0.5);
  ASSERT_TRUE(TrainOk(first).gate().passed());

  // r2 is at most 1: the gate cannot pass (the noise leaves r2 0.999997
  // on the holdout rows). The version is published anyway.
  v1::TrainRequest second = Gated("prices", true);
  v1::GateCondition* c = second.mutable_gate()->add_conditions();
  c->set_metric("r2");
  c->set_op(">=");
  c->set_value(2);
  const v1::TrainResult r = TrainOk(second);
  EXPECT_EQ(r.version(), 2);
  ASSERT_TRUE(r.has_gate());
  EXPECT_FALSE(r.gate().passed());
  EXPECT_EQ(r.gate().reason(), "r2 0.999997 < 2");
  EXPECT_EQ(r.gate().promoted_label(), "");
  EXPECT_EQ(Labels("prices"), (std::map<std::string, int64_t>{{"stable", 1}}));
  // Version 2 exists and is served by number.
  EXPECT_GT(EvaluateR2("prices", 2, LinearRows(60, 30)), 0.99);
}

TEST_F(GateServiceTest, BetterThanStableBothWays) {
  // Version 1 ignores color (the +3 for blue rows): a weaker baseline.
  v1::TrainRequest weak = Gated("prices", false);
  weak.set_promote_label("");
  weak.clear_holdout();
  ASSERT_EQ(TrainOk(weak).version(), 1);
  {
    grpc::ClientContext ctx;
    v1::SetLabelRequest req;
    req.set_name("prices");
    req.set_label("stable");
    req.set_version(1);
    v1::ModelInfo info;
    ASSERT_TRUE(stub_->SetLabel(&ctx, req, &info).ok());
  }
  const v1::InlineRows holdout = LinearRows(60, 30);
  const double r2_v1 = EvaluateR2("prices", 1, holdout);

  // Version 2 uses every column: better than stable (version 1).
  v1::TrainRequest strong = Gated("prices", true);
  strong.mutable_gate()->set_better_than_label("stable");
  v1::TrainResult r = TrainOk(strong);
  EXPECT_EQ(r.version(), 2);
  ASSERT_TRUE(r.gate().passed()) << r.gate().reason();
  ASSERT_EQ(r.gate().conditions_size(), 1);
  const v1::GateConditionResult& c = r.gate().conditions(0);
  EXPECT_EQ(c.condition(), "r2 > stable");
  EXPECT_EQ(c.baseline_version(), 1);
  EXPECT_EQ(c.baseline_value(), r2_v1);
  EXPECT_EQ(c.value(), EvaluateR2("prices", 2, holdout));
  EXPECT_GT(c.value(), c.baseline_value());
  EXPECT_EQ(Labels("prices"), (std::map<std::string, int64_t>{{"stable", 2}}));

  // Version 3 is the weak model again: not better than stable (now 2).
  v1::TrainRequest worse = Gated("prices", false);
  worse.mutable_gate()->set_better_than_label("stable");
  r = TrainOk(worse);
  EXPECT_EQ(r.version(), 3);
  EXPECT_FALSE(r.gate().passed());
  EXPECT_EQ(r.gate().conditions(0).baseline_version(), 2);
  EXPECT_THAT(r.gate().reason(), HasSubstr(" of version 2 (label 'stable')"));
  EXPECT_EQ(r.gate().reason().rfind("r2 ", 0), 0u) << r.gate().reason();
  EXPECT_THAT(r.gate().reason(), HasSubstr(" <= "));
  EXPECT_EQ(Labels("prices"), (std::map<std::string, int64_t>{{"stable", 2}}));

  // With rmse (lower is better), the same comparison.
  v1::TrainRequest by_rmse = Gated("prices", true);
  by_rmse.mutable_gate()->set_better_than_label("stable");
  by_rmse.mutable_gate()->set_compare_metric("rmse");
  r = TrainOk(by_rmse);
  EXPECT_EQ(r.gate().conditions(0).condition(), "rmse < stable");
  EXPECT_FALSE(r.gate().passed());  // the same model as version 2: not better
  EXPECT_THAT(r.gate().reason(), HasSubstr(" >= "));
}

TEST_F(GateServiceTest, HoldoutFractionIsSplitOffBeforeTraining) {
  v1::TrainRequest req;
  req.set_name("classes");
  *req.mutable_data()->mutable_rows() = ClassRows(300);
  req.mutable_options()->set_target("label");
  req.set_holdout_fraction(0.2);
  req.set_promote_label("stable");
  v1::GateCondition* c = req.mutable_gate()->add_conditions();
  c->set_metric("accuracy");
  c->set_op(">=");
  c->set_value(0.8);
  const v1::TrainResult r = TrainOk(req);
  EXPECT_EQ(r.gate().holdout_rows(), 60);
  EXPECT_EQ(r.rows_train() + r.rows_validation(), 240);
  EXPECT_TRUE(r.gate().passed()) << r.gate().reason();
  ASSERT_GE(r.gate().holdout_metrics_size(), 8);
  EXPECT_EQ(r.gate().holdout_metrics(0).name(), "accuracy");
}

TEST_F(GateServiceTest, InvalidGatesAreRejectedUpFront) {
  auto expect = [&](const v1::TrainRequest& req, const std::string& message) {
    grpc::Status st = Rejected(req);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message(), message);
  };
  v1::TrainRequest base = Gated("prices", true);
  v1::GateCondition* c = base.mutable_gate()->add_conditions();
  c->set_metric("r2");
  c->set_op(">=");
  c->set_value(0.5);

  v1::TrainRequest r = base;
  r.set_promote_label("");
  expect(r,
         "promote_label: required with a gate (the label the new version "
         "gets when it passes)");
  r = base;
  r.clear_holdout();
  expect(r,
         "gate: needs holdout rows: set holdout (a dataset) or "
         "holdout_fraction");
  r = base;
  r.set_holdout_fraction(0.2);
  expect(r, "holdout and holdout_fraction: set one, not both");
  r = base;
  r.clear_holdout();
  r.set_holdout_fraction(1.5);
  expect(r, "holdout_fraction: must be in (0, 0.9], got 1.5");
  r = base;
  r.mutable_gate()->mutable_conditions(0)->set_op("=");
  expect(r,
         "gate.conditions[0].op: unknown operator '=': expected >=, >, "
         "<= or <");
  r = base;
  r.mutable_options()->set_model(v1::MODEL_TYPE_LINEAR);
  r.mutable_gate()->mutable_conditions(0)->set_metric("f1_macro");
  expect(r,
         "gate.conditions[0] 'f1_macro >= 0.5': unknown metric "
         "'f1_macro' for regression models; expected one of: mse, rmse, "
         "mae, r2");
  r = base;
  r.mutable_gate()->set_better_than_label("stable");
  expect(r,
         "gate.better_than_label: model 'prices' has no version labelled "
         "'stable' (it has no labels)");
  r = base;
  r.set_promote_label("1st");
  EXPECT_EQ(Rejected(r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  r = base;
  r.clear_gate();
  expect(r, "holdout: the holdout rows are only used by a gate; set gate too");

  // A metric that does not fit the task found once the data is read: the
  // job fails, nothing is published.
  r = base;
  r.mutable_gate()->mutable_conditions(0)->set_metric("accuracy");
  Stream s = Train(r);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.status.error_message(),
              HasSubstr("gate.conditions[0] 'accuracy >= 0.5': unknown metric "
                        "'accuracy' for regression models"));
  EXPECT_THAT(s.status.error_message(),
              HasSubstr("(the model is linear_regression)"));
}

TEST_F(GateServiceTest, ClassWeightsAndAugmentationOptions) {
  v1::TrainRequest req;
  req.set_name("classes");
  *req.mutable_data()->mutable_rows() = ClassRows(300);
  req.mutable_options()->set_target("label");
  req.mutable_options()->set_rebalance("oversample");
  req.mutable_options()->set_class_weight("balanced");
  req.mutable_options()->mutable_augmentation()->set_noise(0.1);
  req.mutable_options()->mutable_augmentation()->set_copies(2);
  const v1::TrainResult r = TrainOk(req);
  EXPECT_EQ(r.rows_train(), 300);
  // Classes a, b, c by x in [0, 12): the oversampled count brings every
  // class to the largest one; then 2 noisy copies of all of them.
  const int64_t after = r.rows_train() + r.rows_oversampled();
  EXPECT_EQ(after % 3, 0);
  EXPECT_EQ(r.rows_augmented(), 2 * after);
  grpc::ClientContext ctx;
  v1::GetModelRequest get;
  get.set_name("classes");
  get.set_version(1);
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModel(&ctx, get, &info).ok());
  const v1::AugmentationSummary& a = info.versions(0).augmentation();
  EXPECT_EQ(a.rows_oversampled(), r.rows_oversampled());
  EXPECT_EQ(a.rows_augmented(), r.rows_augmented());
  // Balanced after oversampling: every weight 1.
  ASSERT_EQ(a.class_weights_size(), 3);
  EXPECT_EQ(a.class_weights(0).label(), "a");
  EXPECT_DOUBLE_EQ(a.class_weights(0).weight(), 1.0);
  EXPECT_FALSE(a.has_gate());

  auto rejected = [&](const v1::TrainRequest& bad) {
    Stream s = Train(bad);
    EXPECT_TRUE(s.events.empty());
    EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    return s.status.error_message();
  };
  v1::TrainRequest bad = req;
  bad.mutable_options()->set_model(v1::MODEL_TYPE_LINEAR);
  bad.mutable_options()->set_rebalance("");
  EXPECT_EQ(rejected(bad),
            "options.class_weight: applies to classifiers only; the model is "
            "linear_regression (a regressor)");
  bad = req;
  bad.mutable_options()->set_class_weight("heavy");
  EXPECT_EQ(rejected(bad),
            "options.class_weight: unknown class weight 'heavy': expected "
            "none or balanced (or per-label weights)");
  bad = req;
  bad.mutable_options()->mutable_augmentation()->set_noise(-1);
  EXPECT_EQ(rejected(bad),
            "options.augmentation.noise: must be in [0, 10] (0 = off), got "
            "-1");
  bad = req;
  v1::ClassWeight* w = bad.mutable_options()->add_class_weights();
  w->set_label("a");
  w->set_weight(2);
  EXPECT_EQ(rejected(bad),
            "options.class_weights: per-label weights and class_weight "
            "'balanced' exclude each other: set one");
  // An unknown label is found once the data is read.
  bad.mutable_options()->set_class_weight("");
  bad.mutable_options()->mutable_class_weights(0)->set_label("z");
  Stream s = Train(bad);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.status.error_message(),
            "class_weights: 'z' is not a class of target 'label' (its "
            "classes are: a, b, c)");
  // A numeric target with the task left open: regression, with a hint.
  v1::TrainRequest numeric = Gated("prices", true);
  numeric.clear_holdout();
  numeric.set_promote_label("");
  numeric.mutable_options()->set_class_weight("balanced");
  s = Train(numeric);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.status.error_message(),
            "options.class_weight: applies to classifiers only; the model is "
            "linear_regression (a regressor) (the task follows from the "
            "target 'y', which is numeric: set task to classification)");
}

}  // namespace
}  // namespace modelserver::server
