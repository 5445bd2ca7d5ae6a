#include "client/promotion_flags.h"

#include <string>

#include "client/output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver::client {
namespace {

using ::testing::HasSubstr;

TEST(PromotionFlagsTest, ParsesGates) {
  auto c = ParseGateFlag("f1_macro>=0.9");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->metric(), "f1_macro");
  EXPECT_EQ(c->op(), ">=");
  EXPECT_EQ(c->value(), 0.9);
  c = ParseGateFlag(" rmse < 3.5 ");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->metric(), "rmse");
  EXPECT_EQ(c->op(), "<");
  EXPECT_EQ(c->value(), 3.5);
  EXPECT_EQ(ParseGateFlag("r2>0")->op(), ">");
  EXPECT_EQ(ParseGateFlag("mae<=2")->op(), "<=");
  EXPECT_EQ(ParseGateFlag("accuracy=0.9").status().message(),
            "--gate: 'accuracy=0.9' is not <metric><op><value> with op one "
            "of >=, >, <=, < (e.g. 'f1_macro>=0.9')");
  EXPECT_EQ(ParseGateFlag(">=0.9").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseGateFlag("r2>=x").status().message(),
            "--gate: 'r2>=x' needs a metric name and a finite number (e.g. "
            "'f1_macro>=0.9')");
}

TEST(PromotionFlagsTest, FillsTheRequest) {
  PromotionFlags f;
  f.class_weight = "balanced";
  f.rebalance = "oversample";
  f.augment_noise = 0.05;
  f.augment_copies = 2;
  f.holdout_fraction = 0.2;
  f.gates = {"f1_macro>=0.9", "log_loss<0.3"};
  f.gate_better_than = "stable";
  f.gate_metric = "log_loss";
  f.promote_label = "stable";
  v1::TrainRequest r;
  ASSERT_TRUE(ApplyPromotionFlags(f, &r).ok());
  EXPECT_EQ(r.options().class_weight(), "balanced");
  EXPECT_EQ(r.options().class_weights_size(), 0);
  EXPECT_EQ(r.options().rebalance(), "oversample");
  EXPECT_EQ(r.options().augmentation().noise(), 0.05);
  EXPECT_EQ(r.options().augmentation().copies(), 2);
  EXPECT_EQ(r.holdout_fraction(), 0.2);
  ASSERT_EQ(r.gate().conditions_size(), 2);
  EXPECT_EQ(r.gate().conditions(1).metric(), "log_loss");
  EXPECT_EQ(r.gate().conditions(1).op(), "<");
  EXPECT_EQ(r.gate().conditions(1).value(), 0.3);
  EXPECT_EQ(r.gate().better_than_label(), "stable");
  EXPECT_EQ(r.gate().compare_metric(), "log_loss");
  EXPECT_EQ(r.promote_label(), "stable");

  // Per-label weights.
  PromotionFlags w;
  w.class_weight = "malignant=4,benign=0.5";
  v1::TrainRequest r2;
  ASSERT_TRUE(ApplyPromotionFlags(w, &r2).ok());
  EXPECT_EQ(r2.options().class_weight(), "");
  ASSERT_EQ(r2.options().class_weights_size(), 2);
  EXPECT_EQ(r2.options().class_weights(0).label(), "malignant");
  EXPECT_EQ(r2.options().class_weights(0).weight(), 4);
  EXPECT_EQ(r2.options().class_weights(1).label(), "benign");
  EXPECT_EQ(r2.options().class_weights(1).weight(), 0.5);
  EXPECT_FALSE(r2.has_gate() && r2.gate().conditions_size() > 0);

  w.class_weight = "a=1,b";
  EXPECT_EQ(ApplyPromotionFlags(w, &r2).message(),
            "--class-weight: 'b' is not LABEL=WEIGHT (expected balanced, "
            "none or LABEL=WEIGHT,...)");
  w.class_weight = "a=heavy";
  EXPECT_EQ(ApplyPromotionFlags(w, &r2).code(),
            absl::StatusCode::kInvalidArgument);
  PromotionFlags g;
  g.gates = {"f1"};
  EXPECT_THAT(std::string(ApplyPromotionFlags(g, &r2).message()),
              HasSubstr("--gate: 'f1'"));
}

TEST(PromotionFlagsTest, PrintsTheVerdict) {
  v1::TrainResult r;
  r.set_name("m");
  r.set_version(4);
  r.set_rows_train(100);
  EXPECT_EQ(PromotionText(r), "");
  r.set_rows_oversampled(60);
  r.set_rows_augmented(320);
  v1::GateResult* g = r.mutable_gate();
  g->set_passed(false);
  g->set_reason("f1_macro 0.87 < 0.9");
  g->set_holdout_rows(30);
  v1::GateConditionResult* c = g->add_conditions();
  c->set_condition("f1_macro >= 0.9");
  c->set_value(0.87);
  v1::GateConditionResult* b = g->add_conditions();
  b->set_condition("accuracy > stable");
  b->set_passed(true);
  b->set_value(0.9);
  b->set_baseline_value(0.85);
  b->set_baseline_version(3);
  EXPECT_EQ(PromotionText(r),
            "training rows added: 60 by oversampling, 320 by augmentation "
            "(the optimizer saw 480)\n"
            "gate FAILED on 30 holdout rows: version 4 published without "
            "the label\n"
            "  reason: f1_macro 0.87 < 0.9\n"
            "  FAIL  f1_macro >= 0.9: 0.87\n"
            "  pass  accuracy > stable: 0.9 vs 0.85 (version 3)\n");
  g->set_passed(true);
  g->set_promoted_label("stable");
  g->set_reason("every condition passed");
  EXPECT_THAT(PromotionText(r),
              HasSubstr("gate PASSED on 30 holdout rows: label 'stable' now "
                        "points to version 4\n"));
  // The train printout carries it; so does the JSON form.
  EXPECT_THAT(TrainText(r, "job-1"), HasSubstr("gate PASSED"));
  const std::string json = TrainJson(r, "job-1");
  EXPECT_THAT(json, HasSubstr("\"gate\":"));
  EXPECT_THAT(json, HasSubstr("\"promoted_label\":\"stable\""));
  EXPECT_THAT(json, HasSubstr("\"rows_oversampled\":60"));
}

TEST(PromotionFlagsTest, PrintsTheSummaryOfAVersion) {
  v1::AugmentationSummary a;
  a.set_rows_oversampled(246);
  a.set_rows_augmented(1144);
  v1::ClassWeight* w = a.add_class_weights();
  w->set_label("benign");
  w->set_weight(0.5698);
  w = a.add_class_weights();
  w->set_label("malignant");
  w->set_weight(4.07);
  a.mutable_gate()->set_passed(false);
  a.mutable_gate()->set_holdout_rows(81);
  a.mutable_gate()->set_reason("f1_macro 0.627757 < 0.99");
  EXPECT_EQ(AugmentationText(a),
            "training rows added: 246 by oversampling, 1144 by augmentation\n"
            "class weights: benign=0.5698 malignant=4.07\n"
            "gate at training: failed on 81 holdout rows: f1_macro 0.627757 "
            "< 0.99\n");
  v1::ModelInfo info;
  info.set_name("cancer");
  v1::VersionInfo* v = info.add_versions();
  v->set_version(4);
  *v->mutable_augmentation() = a;
  EXPECT_THAT(ModelText(info), HasSubstr("gate at training: failed"));
}

}  // namespace
}  // namespace modelserver::client
