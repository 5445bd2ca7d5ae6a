#include "client/explain_output.h"

#include <string>
#include <vector>

#include "client/output.h"
#include "client/train_flags.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace modelserver::client {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::HasSubstr;

// JSON objects print their keys in no fixed order: compare parsed values.
Struct Parse(const std::string& json) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &s).ok())
      << json;
  return s;
}
const Value& Field(const Value& v, const std::string& key) {
  return v.struct_value().fields().at(key);
}

// Through a vector: GCC 12's -Wrestrict misfires on add_x("literal") here.
void Set(google::protobuf::RepeatedPtrField<std::string>* field,
         const std::vector<std::string>& values) {
  field->Assign(values.begin(), values.end());
}

v1::PredictResponse RegressionResponse() {
  v1::PredictResponse r;
  r.set_name("m");
  r.set_version(1);
  v1::Explanation* e = r.mutable_explanation();
  Set(e->mutable_columns(), {"x", "color"});
  e->set_score(std::string("value"));
  e->add_base_values(3);
  v1::Prediction* p = r.add_predictions();
  p->set_value(6.5);
  p->add_contributions(4);
  p->add_contributions(-0.5);
  p->add_scores(6.5);
  return r;
}

TEST(ExplainOutputTest, RegressionTableHasOneColumnPerInput) {
  EXPECT_EQ(ExplainText(RegressionResponse()),
            "row  prediction  value  base  x  color\n"
            "  1         6.5    6.5     3  4   -0.5\n");
  // PredictText switches to it when the response is explained.
  EXPECT_EQ(PredictText(RegressionResponse()),
            ExplainText(RegressionResponse()));
}

TEST(ExplainOutputTest, SoftmaxTableHasOneLinePerClass) {
  v1::PredictResponse r;
  Set(r.mutable_class_labels(), {"a", "b", "c"});
  v1::Explanation* e = r.mutable_explanation();
  Set(e->mutable_columns(), {"x"});
  e->set_score(std::string("logit"));
  Set(e->mutable_score_labels(), {"a", "b", "c"});
  for (double b : {0.5, -0.5, 0.0}) e->add_base_values(b);
  v1::Prediction* p = r.add_predictions();
  p->set_label("b");
  for (double v : {0.2, 0.7, 0.1}) p->add_probabilities(v);
  for (double v : {1.0, 2.0, -1.0}) p->add_contributions(v);
  for (double v : {1.5, 1.5, -1.0}) p->add_scores(v);
  EXPECT_EQ(ExplainText(r),
            "row  label  class  probability  logit  base   x\n"
            "  1  b      a              0.2    1.5   0.5   1\n"
            "  1  b      b              0.7    1.5  -0.5   2\n"
            "  1  b      c              0.1     -1     0  -1\n");
  const Struct json = Parse(PredictJson(r));
  const Value& p0 = json.fields().at("predictions").list_value().values(0);
  const Value& c = Field(p0, "contributions");
  EXPECT_EQ(Field(Field(c, "a"), "x").number_value(), 1);
  EXPECT_EQ(Field(Field(c, "b"), "x").number_value(), 2);
  EXPECT_EQ(Field(Field(c, "c"), "x").number_value(), -1);
  ASSERT_EQ(Field(p0, "scores").list_value().values_size(), 3);
  EXPECT_EQ(Field(p0, "scores").list_value().values(2).number_value(), -1);
  const Value& e0 = json.fields().at("explanation");
  EXPECT_EQ(Field(e0, "score").string_value(), "logit");
  EXPECT_EQ(Field(e0, "base_values").list_value().values(1).number_value(),
            -0.5);
}

TEST(ExplainOutputTest, RegressionJson) {
  const Struct json = Parse(PredictJson(RegressionResponse()));
  const Value& p0 = json.fields().at("predictions").list_value().values(0);
  EXPECT_EQ(Field(Field(p0, "contributions"), "x").number_value(), 4);
  EXPECT_EQ(Field(Field(p0, "contributions"), "color").number_value(), -0.5);
  const Value& cols = Field(json.fields().at("explanation"), "columns");
  ASSERT_EQ(cols.list_value().values_size(), 2);
  EXPECT_EQ(cols.list_value().values(0).string_value(), "x");
  EXPECT_EQ(cols.list_value().values(1).string_value(), "color");
}

TEST(ExplainOutputTest, ImportanceSortedByMean) {
  v1::FeatureImportanceReport r;
  r.set_metric("r2");
  r.set_baseline(0.99);
  r.set_data("training");
  r.set_rows(60);
  r.set_repeats(3);
  r.set_seed(42);
  v1::FeatureImportance* a = r.add_columns();
  a->set_column("color");
  a->set_mean(0.25);
  a->set_std(0.01);
  v1::FeatureImportance* b = r.add_columns();
  b->set_column("x");
  b->set_mean(1.5);
  b->set_std(0.125);
  b->add_drops(1.5);
  EXPECT_EQ(ImportanceText(r),
            "permutation importance: r2 drop on 60 training rows, 3 repeats "
            "(seed 42, baseline 0.99)\n"
            "column  mean    std\n"
            "x        1.5  0.125\n"
            "color   0.25   0.01\n");
  EXPECT_EQ(ImportanceText(v1::FeatureImportanceReport()), "");
  v1::EvaluateResponse e;
  *e.mutable_importance() = r;
  const Struct json = Parse(EvaluateJson(e));
  const Value& imp = json.fields().at("importance");
  EXPECT_EQ(Field(imp, "metric").string_value(), "r2");
  EXPECT_EQ(Field(imp, "rows").number_value(), 60);
  const Value& x = Field(imp, "columns").list_value().values(1);
  EXPECT_EQ(Field(x, "column").string_value(), "x");
  EXPECT_EQ(Field(x, "mean").number_value(), 1.5);
  EXPECT_EQ(Field(x, "std").number_value(), 0.125);
  EXPECT_EQ(Field(x, "drops").list_value().values(0).number_value(), 1.5);
  EXPECT_THAT(EvaluateText(e), HasSubstr("permutation importance: r2 drop"));
  v1::ModelInfo info;
  *info.add_versions()->mutable_importance() = r;
  EXPECT_THAT(ModelText(info), HasSubstr("x        1.5  0.125\n"));
}

TEST(ExplainOutputTest, TrainFlagsSetImportanceOptions) {
  TrainFlags f;
  f.target = "y";
  auto o = BuildTrainOptions(f);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->has_importance_repeats());
  EXPECT_FALSE(o->has_importance_max_rows());
  f.importance_repeats = 0;
  f.importance_max_rows = 500;
  o = BuildTrainOptions(f);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->has_importance_repeats());
  EXPECT_EQ(o->importance_repeats(), 0);
  EXPECT_EQ(o->importance_max_rows(), 500);
}

}  // namespace
}  // namespace modelserver::client
