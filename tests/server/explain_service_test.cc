// In-process tests of Predict's `explain` output and of permutation
// importance through ModelService (Train options, GetModel, Evaluate).
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/train/trainer.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "modelserver/v1/model_service.grpc.pb.h"
#include "server/explain_convert.h"
#include "server/server.h"
#include "tests/server/server_fixture.h"

namespace modelserver::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadData(const std::string& file) {
  std::ifstream in(std::string(MODELSERVER_TEST_DATA_DIR) + "/" + file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ExplainServiceTest : public ServerFixture {
 protected:
  v1::TrainRequest LinearRequest(const std::string& name) {
    v1::TrainRequest req;
    req.set_name(name);
    *req.mutable_data()->mutable_rows() = LinearRows(60);
    req.mutable_options()->set_target("y");
    return req;
  }

  grpc::Status Predict(const v1::PredictRequest& req, v1::PredictResponse* r) {
    grpc::ClientContext ctx;
    return stub_->Predict(&ctx, req, r);
  }

  v1::VersionInfo Get(const std::string& name) {
    grpc::ClientContext ctx;
    v1::GetModelRequest req;
    req.set_name(name);
    req.set_version(1);
    v1::ModelInfo info;
    EXPECT_TRUE(stub_->GetModel(&ctx, req, &info).ok());
    return info.versions_size() > 0 ? info.versions(0) : v1::VersionInfo();
  }

};

// The contributions of every row add up, with the base value, to the score,
// which for linear regression is the prediction; rows, columns and the
// all-numeric short path give the same numbers.
TEST_F(ExplainServiceTest, PredictExplainLinearRegression) {
  ASSERT_TRUE(Train(LinearRequest("lin")).status.ok());
  v1::PredictRequest req;
  req.set_name("lin");
  req.set_explain(true);
  *req.mutable_rows() = LinearRows(6);
  v1::PredictResponse rows;
  ASSERT_TRUE(Predict(req, &rows).ok());
  ASSERT_TRUE(rows.has_explanation());
  EXPECT_THAT(rows.explanation().columns(), ElementsAre("x", "color"));
  EXPECT_EQ(rows.explanation().score(), "value");
  EXPECT_EQ(rows.explanation().score_labels_size(), 0);
  ASSERT_EQ(rows.explanation().base_values_size(), 1);
  const double base = rows.explanation().base_values(0);
  ASSERT_EQ(rows.predictions_size(), 6);
  for (int i = 0; i < 6; ++i) {
    const v1::Prediction& p = rows.predictions(i);
    ASSERT_EQ(p.contributions_size(), 2);
    ASSERT_EQ(p.scores_size(), 1);
    EXPECT_NEAR(p.scores(0), p.value(), 1e-9);
    EXPECT_NEAR(base + p.contributions(0) + p.contributions(1), p.value(),
                1e-9);
    // color is blue on rows 0 and 3: 3 more than red, whatever the base.
    if (i > 0) {
      EXPECT_NEAR(p.contributions(1) - rows.predictions(0).contributions(1),
                  i % 3 == 0 ? 0.0 : -3.0, 0.05);
    }
  }
  // Columnar input: packed, row-major.
  v1::PredictRequest cols;
  cols.set_name("lin");
  cols.set_explain(true);
  v1::ColumnarRows::Column* x = cols.mutable_columns()->add_columns();
  x->set_name("x");
  v1::ColumnarRows::Column* color = cols.mutable_columns()->add_columns();
  color->set_name("color");
  for (int i = 0; i < 6; ++i) {
    x->add_numbers(i * 0.25);
    color->add_texts(i % 3 == 0 ? "blue" : "red");
  }
  v1::PredictResponse packed;
  ASSERT_TRUE(Predict(cols, &packed).ok());
  EXPECT_EQ(packed.predictions_size(), 0);
  ASSERT_EQ(packed.contributions_size(), 12);
  ASSERT_EQ(packed.scores_size(), 6);
  EXPECT_EQ(packed.explanation().columns_size(), 2);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(packed.contributions(2 * i),
              rows.predictions(i).contributions(0));
    EXPECT_EQ(packed.contributions(2 * i + 1),
              rows.predictions(i).contributions(1));
    EXPECT_EQ(packed.scores(i), rows.predictions(i).scores(0));
    EXPECT_EQ(packed.values(i), rows.predictions(i).value());
  }
  // Without explain: nothing of it.
  req.set_explain(false);
  v1::PredictResponse plain;
  ASSERT_TRUE(Predict(req, &plain).ok());
  EXPECT_FALSE(plain.has_explanation());
  EXPECT_EQ(plain.predictions(0).contributions_size(), 0);
  EXPECT_EQ(plain.predictions(0).value(), rows.predictions(0).value());

  // A numeric-only model takes the short path for rows: same identity.
  v1::TrainRequest numeric = LinearRequest("num");
  numeric.mutable_options()->add_features("x");
  ASSERT_TRUE(Train(numeric).status.ok());
  v1::PredictRequest nreq;
  nreq.set_name("num");
  nreq.set_explain(true);
  nreq.mutable_rows()->add_columns("x");
  nreq.mutable_rows()->add_rows()->add_values()->set_number(2.5);
  v1::PredictResponse nresp;
  ASSERT_TRUE(Predict(nreq, &nresp).ok());
  ASSERT_EQ(nresp.predictions_size(), 1);
  ASSERT_EQ(nresp.predictions(0).contributions_size(), 1);
  EXPECT_NEAR(nresp.explanation().base_values(0) +
                  nresp.predictions(0).contributions(0),
              nresp.predictions(0).value(), 1e-9);
}

// Softmax: one logit per class, class-major blocks of contributions; the
// softmax of the scores is the probabilities.
TEST_F(ExplainServiceTest, PredictExplainSoftmaxPerClass) {
  v1::TrainRequest train;
  train.set_name("iris");
  train.mutable_data()->set_csv(ReadData("iris.csv"));
  train.mutable_options()->set_target("species");
  ASSERT_TRUE(Train(train).status.ok());
  v1::PredictRequest req;
  req.set_name("iris");
  req.set_explain(true);
  req.set_csv(
      "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n"
      "5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n5.9,3.0,4.2,1.5\n");
  v1::PredictResponse r;
  ASSERT_TRUE(Predict(req, &r).ok());
  EXPECT_EQ(r.explanation().score(), "logit");
  EXPECT_THAT(r.explanation().score_labels(),
              ElementsAre("setosa", "versicolor", "virginica"));
  ASSERT_EQ(r.explanation().base_values_size(), 3);
  ASSERT_EQ(r.predictions_size(), 3);
  EXPECT_EQ(r.predictions(0).label(), "setosa");
  EXPECT_EQ(r.predictions(1).label(), "virginica");
  for (const v1::Prediction& p : r.predictions()) {
    ASSERT_EQ(p.contributions_size(), 12);
    ASSERT_EQ(p.scores_size(), 3);
    double total = 0, top = std::max({p.scores(0), p.scores(1), p.scores(2)});
    for (int s = 0; s < 3; ++s) {
      double sum = r.explanation().base_values(s);
      for (int c = 0; c < 4; ++c) sum += p.contributions(s * 4 + c);
      EXPECT_NEAR(sum, p.scores(s), 1e-9);
      total += std::exp(p.scores(s) - top);
    }
    for (int s = 0; s < 3; ++s) {
      EXPECT_NEAR(std::exp(p.scores(s) - top) / total, p.probabilities(s),
                  1e-12);
    }
  }
}

TEST_F(ExplainServiceTest, PredictExplainMlpIsInvalidArgument) {
  v1::TrainRequest train = LinearRequest("mlp");
  train.mutable_options()->set_model(v1::MODEL_TYPE_MLP);
  train.mutable_options()->set_epochs(2);
  ASSERT_TRUE(Train(train).status.ok());
  v1::PredictRequest req;
  req.set_name("mlp");
  req.set_explain(true);
  *req.mutable_rows() = LinearRows(2);
  v1::PredictResponse r;
  const grpc::Status s = Predict(req, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("explain: model kind 'mlp_regressor'"));
  // Without explain it predicts.
  req.set_explain(false);
  EXPECT_TRUE(Predict(req, &r).ok());
}

// Training stores the importance (on by default), GetModel shows it;
// options turn it off or are rejected naming the field.
TEST_F(ExplainServiceTest, TrainStoresImportanceShownByGetModel) {
  v1::TrainRequest train = LinearRequest("imp");
  train.mutable_options()->set_importance_repeats(3);
  ASSERT_TRUE(Train(train).status.ok());
  const v1::VersionInfo v = Get("imp");
  ASSERT_TRUE(v.has_importance());
  EXPECT_EQ(v.importance().metric(), "r2");
  EXPECT_EQ(v.importance().data(), "training");  // exact solver: no split
  EXPECT_EQ(v.importance().rows(), 60);
  EXPECT_EQ(v.importance().repeats(), 3);
  EXPECT_EQ(v.importance().seed(), 42u);
  ASSERT_EQ(v.importance().columns_size(), 2);
  EXPECT_EQ(v.importance().columns(0).column(), "x");
  EXPECT_EQ(v.importance().columns(0).drops_size(), 3);
  // x explains most of y, color (3 on a third of the rows) less.
  EXPECT_GT(v.importance().columns(0).mean(), 1.0);
  EXPECT_GT(v.importance().columns(1).mean(), 0.01);
  EXPECT_LT(v.importance().columns(1).mean(), v.importance().columns(0).mean());

  v1::TrainRequest off = LinearRequest("off");
  off.mutable_options()->set_importance_repeats(0);
  ASSERT_TRUE(Train(off).status.ok());
  EXPECT_FALSE(Get("off").has_importance());

  v1::TrainRequest bad = LinearRequest("bad");
  bad.mutable_options()->set_importance_repeats(101);
  grpc::Status s = Train(bad).status;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(),
              HasSubstr("options.importance_repeats: must be in [0, 100]"));
  bad.mutable_options()->set_importance_repeats(1);
  bad.mutable_options()->set_importance_max_rows(0);
  s = Train(bad).status;
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("options.importance_max_rows"));
}

TEST_F(ExplainServiceTest, EvaluateComputesImportanceOnRequest) {
  v1::TrainRequest train = LinearRequest("ev");
  train.mutable_options()->set_importance_repeats(0);
  ASSERT_TRUE(Train(train).status.ok());
  v1::EvaluateRequest req;
  req.set_name("ev");
  *req.mutable_data()->mutable_rows() = LinearRows(40);
  req.set_importance(true);
  req.mutable_importance_options()->set_repeats(2);
  req.mutable_importance_options()->set_seed(3);
  v1::EvaluateResponse r;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Evaluate(&ctx, req, &r).ok());
  }
  ASSERT_TRUE(r.has_importance());
  EXPECT_EQ(r.importance().data(), "evaluation");
  EXPECT_EQ(r.importance().rows(), 40);
  EXPECT_EQ(r.importance().repeats(), 2);
  EXPECT_EQ(r.importance().seed(), 3u);
  ASSERT_EQ(r.importance().columns_size(), 2);
  EXPECT_GT(r.importance().columns(0).mean(), 1.0);
  // The same request gives the same numbers.
  v1::EvaluateResponse again;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Evaluate(&ctx, req, &again).ok());
  }
  EXPECT_EQ(again.importance().columns(0).drops(1),
            r.importance().columns(0).drops(1));
  // Without importance: none.
  req.set_importance(false);
  req.clear_importance_options();
  {
    grpc::ClientContext ctx;
    v1::EvaluateResponse plain;
    ASSERT_TRUE(stub_->Evaluate(&ctx, req, &plain).ok());
    EXPECT_FALSE(plain.has_importance());
  }
  // Options without importance, and bad options, are INVALID_ARGUMENT.
  req.mutable_importance_options()->set_repeats(2);
  {
    grpc::ClientContext ctx;
    v1::EvaluateResponse out;
    const grpc::Status s = stub_->Evaluate(&ctx, req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("importance_options is set"));
  }
  req.set_importance(true);
  req.mutable_importance_options()->set_repeats(0);
  {
    grpc::ClientContext ctx;
    v1::EvaluateResponse out;
    const grpc::Status s = stub_->Evaluate(&ctx, req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(),
                HasSubstr("importance_options.repeats: must be in [1, 100]"));
  }
  req.mutable_importance_options()->set_repeats(1);
  req.mutable_importance_options()->set_max_rows(2000000);
  {
    grpc::ClientContext ctx;
    v1::EvaluateResponse out;
    const grpc::Status s = stub_->Evaluate(&ctx, req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("importance_options.max_rows"));
  }
}

// The response size bound: rows x scores x columns contributions.
TEST(ExplainConvertTest, CheckExplainSizeBoundsTheContributions) {
  Table t;
  ASSERT_TRUE(t.AddColumn(Column::Numeric("a", {1, 2, 3, 4})).ok());
  ASSERT_TRUE(t.AddColumn(Column::Numeric("b", {0, 1, 0, 2})).ok());
  ASSERT_TRUE(t.AddColumn(Column::Numeric("y", {1, 3, 3, 6})).ok());
  TrainSpec spec;
  spec.target = "y";
  auto r = Train(t, spec);
  ASSERT_TRUE(r.ok()) << r.status();
  const Artifact a = Artifact::FromTrainResult(*std::move(r), "m", 1);
  EXPECT_TRUE(CheckExplainSize(a, kMaxExplainValues / 2).ok());
  const absl::Status s = CheckExplainSize(a, kMaxExplainValues / 2 + 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("explain: 5000001 rows x 2 contributions per row"));
}

}  // namespace
}  // namespace modelserver::server
