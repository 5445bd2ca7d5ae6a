// In-process tests of ModelService: a Server on 127.0.0.1:0 with a temporary
// model directory, called through a real gRPC stub.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/artifact/model_store.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inference/open_inference_grpc.grpc.pb.h"
#include "modelserver/v1/model_service.grpc.pb.h"
#include "server/proto_convert.h"
#include "server/auth.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/server.h"
#include "tests/server/server_fixture.h"

namespace modelserver::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string LinearCsv(int n) {
  std::string csv = "x,color,y\n";
  for (int i = 0; i < n; ++i) {
    const double x = i * 0.5;
    absl::StrAppend(&csv, x, ",", i % 2 ? "red" : "blue", ",", 3 * x - 1, "\n");
  }
  return csv;
}

// An MLP job that runs far longer than any test (until cancelled).
v1::TrainRequest SlowRequest(const std::string& name) {
  v1::TrainRequest req;
  req.set_name(name);
  v1::InlineRows rows;
  rows.add_columns("a");
  rows.add_columns("b");
  rows.add_columns("y");
  for (int i = 0; i < 400; ++i) {
    v1::Row* r = rows.add_rows();
    r->add_values()->set_number(i % 17);
    r->add_values()->set_number(i % 5);
    r->add_values()->set_number((i % 17) * (i % 5));
  }
  *req.mutable_data()->mutable_rows() = rows;
  v1::TrainOptions* o = req.mutable_options();
  o->set_target("y");
  o->set_model(v1::MODEL_TYPE_MLP);
  o->set_epochs(100000);
  o->set_batch_size(1);
  o->add_hidden_layers(64);
  o->add_hidden_layers(64);
  o->set_early_stopping_patience(0);

  return req;
}

// GET http://127.0.0.1:<port><path> over a plain socket (HTTP/1.0, the
// server closes the connection); returns the body, or "" on failure.
std::string HttpGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: localhost\r\n\r\n");
    if (::write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
    }
  }
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

class ServiceTest : public ServerFixture {
 protected:
  v1::TrainRequest LinearRequest(const std::string& name) {
    v1::TrainRequest req;
    req.set_name(name);
    *req.mutable_data()->mutable_rows() = LinearRows(60);
    req.mutable_options()->set_target("y");
    req.mutable_options()->set_optimizer(v1::OPTIMIZER_SGD);
    req.mutable_options()->set_epochs(5);
    req.mutable_options()->set_batch_size(4);
    req.mutable_options()->set_learning_rate(0.05);
    req.mutable_options()->set_validation_split(0.2);
    return req;
  }

};

TEST_F(ServiceTest, TrainPredictEvaluateGetListDelete) {
  Stream s = Train(LinearRequest("prices"));
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  ASSERT_EQ(s.events.size(), 7u);  // accepted, 5 epochs, result
  EXPECT_TRUE(s.events[0].has_accepted());
  EXPECT_EQ(s.events[0].accepted().name(), "prices");
  const std::string job_id = s.events[0].job_id();
  EXPECT_FALSE(job_id.empty());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(s.events[i].has_epoch());
    EXPECT_EQ(s.events[i].epoch().epoch(), i);
    EXPECT_EQ(s.events[i].epoch().max_epochs(), 5);
    EXPECT_EQ(s.events[i].epoch().metric_name(), "r2");
  }
  ASSERT_TRUE(s.events[6].has_result());
  const v1::TrainResult& result = s.events[6].result();
  EXPECT_EQ(result.name(), "prices");
  EXPECT_EQ(result.version(), 1);
  EXPECT_EQ(result.rows_train() + result.rows_validation(), 60);
  ASSERT_EQ(result.validation_metrics_size(), 4);
  EXPECT_EQ(result.validation_metrics(3).name(), "r2");

  // The job is kept and can be replayed.
  {
    grpc::ClientContext ctx;
    v1::GetJobRequest req;
    req.set_job_id(job_id);
    v1::Job job;
    ASSERT_TRUE(stub_->GetJob(&ctx, req, &job).ok());
    EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
    EXPECT_EQ(job.version(), 1);
    EXPECT_EQ(job.name(), "prices");
  }
  {
    grpc::ClientContext ctx;
    v1::WatchJobRequest req;
    req.set_job_id(job_id);
    auto reader = stub_->WatchJob(&ctx, req);
    std::vector<v1::TrainEvent> replay;
    v1::TrainEvent e;
    while (reader->Read(&e)) replay.push_back(e);
    ASSERT_TRUE(reader->Finish().ok());
    ASSERT_EQ(replay.size(), s.events.size());
    EXPECT_EQ(replay.back().result().version(), 1);
  }
  {
    grpc::ClientContext ctx;
    v1::ListJobsResponse jobs;
    ASSERT_TRUE(stub_->ListJobs(&ctx, v1::ListJobsRequest(), &jobs).ok());
    ASSERT_EQ(jobs.jobs_size(), 1);
    EXPECT_EQ(jobs.jobs(0).job_id(), job_id);
  }

  // Predict equals the artifact's own Predict in process.
  v1::InlineRows query = LinearRows(5);
  {
    grpc::ClientContext ctx;
    v1::PredictRequest req;
    req.set_name("prices");
    *req.mutable_rows() = query;
    v1::PredictResponse resp;
    grpc::Status st = stub_->Predict(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.version(), 1);
    ASSERT_EQ(resp.predictions_size(), 5);

    std::unique_ptr<ModelStore> store = *ModelStore::Open(dir_ + "/models");
    absl::StatusOr<Artifact> artifact = store->Load("prices", 1);
    ASSERT_TRUE(artifact.ok()) << artifact.status();
    absl::StatusOr<Table> table = TableFromRows(query);
    ASSERT_TRUE(table.ok());
    absl::StatusOr<Predictions> local = artifact->Predict(*table);
    ASSERT_TRUE(local.ok());
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(resp.predictions(i).value(), local->values[i]) << i;
    }
  }
  // Predict from CSV bytes.
  {
    grpc::ClientContext ctx;
    v1::PredictRequest req;
    req.set_name("prices");
    req.set_version(1);
    req.set_csv("color,x\nred,1\nblue,2\n");
    v1::PredictResponse resp;
    ASSERT_TRUE(stub_->Predict(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.predictions_size(), 2);
    EXPECT_NEAR(resp.predictions(0).value(), 3.0, 0.5);
  }
  // Evaluate.
  {
    grpc::ClientContext ctx;
    v1::EvaluateRequest req;
    req.set_name("prices");
    *req.mutable_data()->mutable_rows() = LinearRows(20);
    v1::EvaluateResponse resp;
    grpc::Status st = stub_->Evaluate(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.rows_used(), 20);
    ASSERT_EQ(resp.metrics_size(), 4);
    EXPECT_EQ(resp.metrics(0).name(), "mse");
    EXPECT_EQ(resp.metrics(3).name(), "r2");
    EXPECT_GT(resp.metrics(3).value(), 0.5);
  }
  // GetModel.
  {
    grpc::ClientContext ctx;
    v1::GetModelRequest req;
    req.set_name("prices");
    v1::ModelInfo info;
    ASSERT_TRUE(stub_->GetModel(&ctx, req, &info).ok());
    EXPECT_EQ(info.name(), "prices");
    ASSERT_EQ(info.versions_size(), 1);
    const v1::VersionInfo& v = info.versions(0);
    EXPECT_EQ(v.version(), 1);
    EXPECT_EQ(v.kind(), "linear_regression");
    EXPECT_EQ(v.target(), "y");
    EXPECT_EQ(v.target_type(), v1::COLUMN_TYPE_NUMERIC);
    ASSERT_EQ(v.inputs_size(), 2);
    EXPECT_EQ(v.inputs(0).name(), "x");
    EXPECT_EQ(v.inputs(0).type(), v1::COLUMN_TYPE_NUMERIC);
    EXPECT_EQ(v.inputs(1).name(), "color");
    EXPECT_EQ(v.inputs(1).type(), v1::COLUMN_TYPE_CATEGORICAL);
    EXPECT_EQ(v.optimizer(), "sgd");
    EXPECT_EQ(v.rows_total(), 60);
    EXPECT_THAT(v.data_checksum(), ::testing::StartsWith("crc32c:"));
    EXPECT_EQ(v.data_checksum().size(), 15u);
    EXPECT_GT(v.hyperparameters_size(), 0);
  }
  // ListModels.
  {
    grpc::ClientContext ctx;
    v1::ListModelsResponse resp;
    ASSERT_TRUE(stub_->ListModels(&ctx, v1::ListModelsRequest(), &resp).ok());
    ASSERT_EQ(resp.models_size(), 1);
    EXPECT_EQ(resp.models(0).name(), "prices");
    EXPECT_EQ(resp.models(0).latest_version(), 1);
    EXPECT_EQ(resp.models(0).num_versions(), 1);
    EXPECT_EQ(resp.models(0).kind(), "linear_regression");
    EXPECT_EQ(resp.models(0).target(), "y");
  }
  // DeleteModel.
  {
    grpc::ClientContext ctx;
    v1::DeleteModelRequest req;
    req.set_name("prices");
    v1::DeleteModelResponse resp;
    ASSERT_TRUE(stub_->DeleteModel(&ctx, req, &resp).ok());
    EXPECT_THAT(resp.deleted_versions(), ElementsAre(1));
  }
  {
    grpc::ClientContext ctx;
    v1::GetModelRequest req;
    req.set_name("prices");
    v1::ModelInfo info;
    EXPECT_EQ(stub_->GetModel(&ctx, req, &info).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ServiceTest, MetricsCountRpcsPredictionsAndTraining) {
  ASSERT_GT(server_->metrics_port(), 0);
  ASSERT_TRUE(Train(LinearRequest("prices")).status.ok());
  {
    grpc::ClientContext ctx;
    v1::PredictRequest req;
    req.set_name("prices");
    *req.mutable_rows() = LinearRows(5);
    v1::PredictResponse resp;
    ASSERT_TRUE(stub_->Predict(&ctx, req, &resp).ok());
  }
  {  // reaches version 1, fails on the data: a failure of that version
    grpc::ClientContext ctx;
    v1::PredictRequest req;
    req.set_name("prices");
    req.set_csv("color,x\nred,abc\n");
    v1::PredictResponse resp;
    EXPECT_EQ(stub_->Predict(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  {  // never reaches a model: counted per RPC only
    grpc::ClientContext ctx;
    v1::PredictRequest req;
    req.set_name("nope");
    req.set_csv("x\n1\n");
    v1::PredictResponse resp;
    EXPECT_EQ(stub_->Predict(&ctx, req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  const std::string text = HttpGet(server_->metrics_port(), "/metrics");
  for (
      const char* line : {
          "modelserver_grpc_requests_total{code=\"OK\",method=\"Train\"} 1\n",
          "modelserver_grpc_requests_total{code=\"OK\",method=\"Predict\"} 1\n",
          "modelserver_grpc_requests_total{code=\"INVALID_ARGUMENT\","
          "method=\"Predict\"} 1\n",
          "modelserver_grpc_requests_total{code=\"NOT_FOUND\",method="
          "\"Predict\"} 1\n",
          "modelserver_grpc_request_duration_seconds_count{method=\"Predict\"} "
          "3\n",
          "modelserver_grpc_requests_in_flight{method=\"Predict\"} 0\n",
          "modelserver_inference_requests_total{model=\"prices\",outcome="
          "\"success\",version=\"1\"} 1\n",
          "modelserver_inference_requests_total{model=\"prices\",outcome="
          "\"failure\",version=\"1\"} 1\n",
          "modelserver_inference_rows_total{model=\"prices\",version=\"1\"} "
          "5\n",
          "modelserver_inference_duration_seconds_count{model=\"prices\","
          "version=\"1\"} 2\n",
          "modelserver_models_loaded 1\n",
          "modelserver_model_versions_loaded{model=\"prices\"} 1\n",
          "modelserver_training_jobs{state=\"running\"} 0\n",
          "modelserver_training_jobs_finished_total{state=\"succeeded\"} 1\n",
          "modelserver_training_job_duration_seconds_count 1\n",
          "modelserver_training_rows_ingested_total 60\n",
          "modelserver_model_load_failures_total 0\n",
      }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
  EXPECT_THAT(text, HasSubstr("modelserver_build_info{compiler="));
  EXPECT_THAT(text, HasSubstr("process_resident_memory_bytes "));
  EXPECT_THAT(text, Not(HasSubstr("model=\"nope\"")));

  // A deleted version's series leave the exposition.
  {
    grpc::ClientContext ctx;
    v1::DeleteModelRequest req;
    req.set_name("prices");
    v1::DeleteModelResponse resp;
    ASSERT_TRUE(stub_->DeleteModel(&ctx, req, &resp).ok());
  }
  const std::string after = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_THAT(after, HasSubstr("modelserver_models_loaded 0\n"));
  EXPECT_THAT(after, Not(HasSubstr("model=\"prices\"")));
}

TEST_F(ServiceTest, ColumnarPredictEqualsRowsPredictAndAnswersPacked) {
  ASSERT_TRUE(Train(LinearRequest("prices")).status.ok());
  const v1::InlineRows rows = LinearRows(7);
  v1::PredictRequest by_rows;
  by_rows.set_name("prices");
  *by_rows.mutable_rows() = rows;
  v1::PredictRequest by_columns;
  by_columns.set_name("prices");
  v1::ColumnarRows::Column* x = by_columns.mutable_columns()->add_columns();
  x->set_name("x");
  v1::ColumnarRows::Column* color = by_columns.mutable_columns()->add_columns();
  color->set_name("color");
  for (const v1::Row& r : rows.rows()) {
    x->add_numbers(r.values(0).number());
    color->add_texts(r.values(1).text());
  }
  v1::PredictResponse a, b;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Predict(&ctx, by_rows, &a).ok());
  }
  {
    grpc::ClientContext ctx;
    grpc::Status st = stub_->Predict(&ctx, by_columns, &b);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(b.predictions_size(), 0);
  ASSERT_EQ(b.values_size(), 7);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(b.values(i), a.predictions(i).value()) << i;
  }
  // A column of the wrong length is named.
  color->add_texts("red");
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Predict(&ctx, by_columns, &b);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(),
              HasSubstr("column 'color' has 8 values; column 'x' has 7"));
  const std::string text = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_THAT(text, HasSubstr("modelserver_inference_rows_total{model="
                              "\"prices\",version=\"1\"} 14\n"));
}

TEST_F(ServiceTest, NotFound) {
  grpc::ClientContext c1;
  v1::PredictRequest p;
  p.set_name("nobody");
  *p.mutable_rows() = LinearRows(2);
  v1::PredictResponse pr;
  EXPECT_EQ(stub_->Predict(&c1, p, &pr).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c2;
  v1::DeleteModelRequest d;
  d.set_name("nobody");
  v1::DeleteModelResponse dr;
  EXPECT_EQ(stub_->DeleteModel(&c2, d, &dr).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c3;
  v1::GetJobRequest g;
  g.set_job_id("no-such-job");
  v1::Job j;
  EXPECT_EQ(stub_->GetJob(&c3, g, &j).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext c4;
  v1::WatchJobRequest w;
  w.set_job_id("no-such-job");
  auto reader = stub_->WatchJob(&c4, w);
  v1::TrainEvent e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, InvalidRequestsAreRejectedBeforeAnyJob) {
  v1::TrainRequest bad_name = LinearRequest(".hidden");
  Stream s = Train(bad_name);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.status.error_message(), HasSubstr("name"));
  EXPECT_TRUE(s.events.empty());

  v1::TrainRequest no_data = LinearRequest("m");
  no_data.clear_data();
  s = Train(no_data);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(s.events.empty());

  v1::TrainRequest combo = LinearRequest("m");
  combo.mutable_options()->set_task(v1::TASK_REGRESSION);
  combo.mutable_options()->set_model(v1::MODEL_TYPE_LOGISTIC);
  s = Train(combo);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(s.events.empty());

  v1::TrainRequest path = LinearRequest("m");
  path.mutable_data()->set_path("x.csv");
  s = Train(path);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.status.error_message(), HasSubstr("--data-dir"));

  grpc::ClientContext ctx;
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(&ctx, v1::ListJobsRequest(), &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0);

  grpc::ClientContext c2;
  v1::EvaluateRequest ev;
  ev.set_name("m");
  ev.set_version(-1);
  *ev.mutable_data()->mutable_rows() = LinearRows(2);
  v1::EvaluateResponse er;
  EXPECT_EQ(stub_->Evaluate(&c2, ev, &er).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext c3;
  v1::PredictRequest p;
  p.set_name("m");
  v1::PredictResponse pr;
  EXPECT_EQ(stub_->Predict(&c3, p, &pr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Every limit of server/limits.h with its code and the flag it names.
TEST_F(ServiceTest, LimitsAnswerWithTheirCodeAndNameTheFlag) {
  server_.reset();
  StartServer([](ServerOptions& o) {
    o.limits.max_rows = 50;
    o.limits.max_columns = 3;
    o.limits.max_categorical_levels = 2;
    o.limits.max_hidden_units = 8;
    o.limits.max_hidden_layers = 2;
    o.limits.max_epochs = 10;
    o.limits.max_predict_rows = 3;
  });
  v1::TrainRequest good = LinearRequest("m");
  *good.mutable_data()->mutable_rows() = LinearRows(40);
  ASSERT_TRUE(Train(good).status.ok());

  auto expect = [](const grpc::Status& status, grpc::StatusCode code,
                   const std::string& text) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(text));
  };
  v1::TrainRequest rows = good;
  *rows.mutable_data()->mutable_rows() = LinearRows(51);
  expect(Train(rows).status, grpc::StatusCode::RESOURCE_EXHAUSTED,
         "--max-rows=50");
  v1::TrainRequest csv_rows = good;
  csv_rows.mutable_data()->set_csv(LinearCsv(51));
  expect(Train(csv_rows).status, grpc::StatusCode::RESOURCE_EXHAUSTED,
         "more than max_rows=50 data rows (the server's --max-rows)");
  v1::TrainRequest columns = good;
  columns.mutable_data()->set_csv("a,b,c,y\n1,2,3,4\n");
  expect(Train(columns).status, grpc::StatusCode::RESOURCE_EXHAUSTED,
         "more than max_columns=3 columns (the server's --max-columns)");
  v1::TrainRequest levels = good;
  levels.mutable_data()->set_csv("x,color,y\n1,red,1\n2,blue,2\n3,green,3\n");
  expect(Train(levels).status, grpc::StatusCode::RESOURCE_EXHAUSTED,
         "column 'color' has 3 distinct values, more than the server's "
         "--max-categorical-levels=2");
  v1::TrainRequest epochs = good;
  epochs.mutable_options()->set_epochs(11);
  Stream s = Train(epochs);
  expect(s.status, grpc::StatusCode::INVALID_ARGUMENT,
         "options.epochs: 11 is more than the server's --max-epochs=10");
  EXPECT_TRUE(s.events.empty());  // refused before any job
  v1::TrainRequest units = good;
  units.mutable_options()->set_model(v1::MODEL_TYPE_MLP);
  units.mutable_options()->add_hidden_layers(8);
  units.mutable_options()->add_hidden_layers(9);
  expect(Train(units).status, grpc::StatusCode::INVALID_ARGUMENT,
         "options.hidden_layers[1]: 9 units are more than the server's "
         "--max-hidden-units=8");
  v1::TrainRequest layers = units;
  layers.mutable_options()->set_hidden_layers(1, 4);
  layers.mutable_options()->add_hidden_layers(4);
  expect(Train(layers).status, grpc::StatusCode::INVALID_ARGUMENT,
         "3 layers are more than the server's --max-hidden-layers=2");

  // Evaluate loads its data under the same limits.
  {
    grpc::ClientContext ctx;
    v1::EvaluateRequest req;
    req.set_name("m");
    *req.mutable_data()->mutable_rows() = LinearRows(51);
    v1::EvaluateResponse resp;
    expect(stub_->Evaluate(&ctx, req, &resp),
           grpc::StatusCode::RESOURCE_EXHAUSTED, "--max-rows=50");
  }
  // Predict: rows, CSV and columns forms; 3 rows pass, 4 do not.
  auto predict = [&](const v1::PredictRequest& req) {
    grpc::ClientContext ctx;
    v1::PredictResponse resp;
    return stub_->Predict(&ctx, req, &resp);
  };
  v1::PredictRequest p;
  p.set_name("m");
  *p.mutable_rows() = LinearRows(3);
  EXPECT_TRUE(predict(p).ok());
  *p.mutable_rows() = LinearRows(4);
  expect(predict(p), grpc::StatusCode::RESOURCE_EXHAUSTED,
         "rows: 4 rows are more than the server's --max-predict-rows=3");
  p.set_csv("x,color\n1,red\n2,red\n3,red\n4,red\n");
  expect(predict(p), grpc::StatusCode::RESOURCE_EXHAUSTED,
         "more than max_rows=3 data rows (the server's --max-predict-rows)");
  v1::ColumnarRows* packed = p.mutable_columns();
  for (const char* name : {"x", "color"}) {
    v1::ColumnarRows::Column* c = packed->add_columns();
    c->set_name(name);
    for (int i = 0; i < 4; ++i) {
      if (name[0] == 'x') {
        c->add_numbers(i);
      } else {
        c->add_texts("red");
      }
    }
  }
  expect(predict(p), grpc::StatusCode::RESOURCE_EXHAUSTED,
         "columns: 4 rows are more than the server's --max-predict-rows=3");
  // ModelInfer: a batch of 4.
  auto oip = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  inference::ModelInferRequest infer;
  infer.set_model_name("m");
  for (const char* name : {"x", "color"}) {
    auto* input = infer.add_inputs();
    input->set_name(name);
    input->add_shape(4);
    for (int i = 0; i < 4; ++i) {
      if (name[0] == 'x') {
        input->set_datatype("FP64");
        input->mutable_contents()->add_fp64_contents(i);
      } else {
        input->set_datatype("BYTES");
        input->mutable_contents()->add_bytes_contents("red");
      }
    }
  }
  inference::ModelInferResponse out;
  expect(oip->ModelInfer(&ctx, infer, &out),
         grpc::StatusCode::RESOURCE_EXHAUSTED,
         "input 'x': 4 rows are more than the server's --max-predict-rows=3");
}

// With --auth-token-file, every method of both services asks for a token of
// the right role (an empty request: the answer past the check does not
// matter here); health does not.
TEST_F(ServiceTest, TokensGuardEveryMethodButHealth) {
  const std::string tokens = dir_ + "/tokens";
  std::ofstream(tokens) << "admin admin-token-0123456789\n"
                        << "predict predict-token-0123456789\n";
  server_.reset();
  StartServer([&](ServerOptions& o) { o.auth_token_file = tokens; });
  std::map<std::string, Access> access;
  for (int i = 0; i < kNumRpcs; ++i) {
    access[RpcName(static_cast<Rpc>(i))] = AccessOf(static_cast<Rpc>(i));
  }
  auto channel = grpc::CreateChannel(server_->address(),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  auto call = [&](const std::string& method, const std::string& token) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1), response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                      [&](grpc::Status s) { done.set_value(std::move(s)); });
    return done.get_future().get();
  };
  auto is_auth_error = [](const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
           s.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  };
  int methods = 0;
  for (const char* service_name :
       {"modelserver.v1.ModelService", "inference.GRPCInferenceService"}) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service_name);
    ASSERT_NE(service, nullptr) << service_name;
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string name = service->method(i)->name();
      ASSERT_TRUE(access.count(name)) << name;
      const Access needed = access[name];
      const std::string path = "/" + service->full_name() + "/" + name;
      ++methods;
      grpc::Status none = call(path, "");
      if (needed == Access::kOpen) {
        EXPECT_TRUE(none.ok()) << name << ": " << none.error_message();
      } else {
        EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
        EXPECT_EQ(none.error_message(),
                  name + ": no token; send the header \"authorization: "
                         "Bearer <token>\"");
      }
      grpc::Status wrong = call(path, "guessed-token-0123456789");
      EXPECT_EQ(wrong.error_code(), needed == Access::kOpen
                                        ? grpc::StatusCode::OK
                                        : grpc::StatusCode::UNAUTHENTICATED)
          << name;
      grpc::Status predict = call(path, "predict-token-0123456789");
      if (needed == Access::kWrite) {
        EXPECT_EQ(predict.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << name;
      } else {
        EXPECT_FALSE(is_auth_error(predict))
            << name << ": " << predict.error_message();
      }
      grpc::Status admin = call(path, "admin-token-0123456789");
      EXPECT_FALSE(is_auth_error(admin)) << name << ": " << admin.error_message();
    }
  }
  EXPECT_EQ(methods, kNumRpcs);
  // Health stays open for probes.
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse status;
  ASSERT_TRUE(health->Check(&ctx, {}, &status).ok());
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // A real call with the right token works end to end.
  v1::TrainRequest train = LinearRequest("m");
  grpc::ClientContext train_ctx;
  train_ctx.AddMetadata("authorization", "Bearer admin-token-0123456789");
  auto reader = stub_->Train(&train_ctx, train);
  v1::TrainEvent event;
  while (reader->Read(&event)) {
  }
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ServiceTest, BadDataNamesRowAndColumn) {
  // A failing job: accepted, then failed; the RPC ends with its code.
  v1::TrainRequest no_target = LinearRequest("m");
  no_target.mutable_options()->set_target("price");
  Stream s = Train(no_target);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.status.error_message(), HasSubstr("'price'"));
  ASSERT_EQ(s.events.size(), 2u);
  EXPECT_TRUE(s.events[0].has_accepted());
  ASSERT_TRUE(s.events[1].has_failed());
  EXPECT_EQ(s.events[1].failed().code(), 3);

  v1::TrainRequest ragged = LinearRequest("m");
  ragged.mutable_data()
      ->mutable_rows()
      ->mutable_rows(4)
      ->mutable_values()
      ->RemoveLast();
  s = Train(ragged);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.status.error_message(), HasSubstr("row 4"));

  ASSERT_TRUE(Train(LinearRequest("m")).status.ok());
  grpc::ClientContext ctx;
  v1::PredictRequest p;
  p.set_name("m");
  *p.mutable_rows() = LinearRows(3);
  p.mutable_rows()->mutable_rows(2)->mutable_values(0)->set_text("abc");
  v1::PredictResponse pr;
  grpc::Status st = stub_->Predict(&ctx, p, &pr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "row 2, column 'x': expected a number, got 'abc'");

  grpc::ClientContext c2;
  v1::PredictRequest missing;
  missing.set_name("m");
  missing.set_csv("x\n1\n");
  st = stub_->Predict(&c2, missing, &pr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("color"));
}

TEST_F(ServiceTest, CancelledJobLeavesNoVersion) {
  v1::TrainRequest req = SlowRequest("slow");
  grpc::ClientContext ctx;
  auto reader = stub_->Train(&ctx, req);
  v1::TrainEvent e;
  ASSERT_TRUE(reader->Read(&e));
  ASSERT_TRUE(e.has_accepted());
  const std::string job_id = e.job_id();
  ASSERT_TRUE(reader->Read(&e));  // running: the first epoch
  ASSERT_TRUE(e.has_epoch());

  grpc::ClientContext cancel_ctx;
  v1::CancelJobRequest cancel;
  cancel.set_job_id(job_id);
  v1::Job job;
  ASSERT_TRUE(stub_->CancelJob(&cancel_ctx, cancel, &job).ok());
  EXPECT_EQ(job.job_id(), job_id);

  v1::TrainEvent last;
  while (reader->Read(&e)) last = e;
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(last.has_failed());
  EXPECT_EQ(last.failed().code(), 1);

  grpc::ClientContext get_ctx;
  v1::GetJobRequest get;
  get.set_job_id(job_id);
  ASSERT_TRUE(stub_->GetJob(&get_ctx, get, &job).ok());
  EXPECT_EQ(job.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(job.version(), 0);

  grpc::ClientContext model_ctx;
  v1::GetModelRequest gm;
  gm.set_name("slow");
  v1::ModelInfo info;
  EXPECT_EQ(stub_->GetModel(&model_ctx, gm, &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/models/slow/1/model.msm"));

  grpc::ClientContext again_ctx;
  EXPECT_EQ(stub_->CancelJob(&again_ctx, cancel, &job).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ServiceTest, RestartStillServesTheModel) {
  ASSERT_TRUE(Train(LinearRequest("kept")).status.ok());
  v1::PredictRequest p;
  p.set_name("kept");
  *p.mutable_rows() = LinearRows(4);
  v1::PredictResponse before;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Predict(&ctx, p, &before).ok());
  }
  server_->Shutdown(absl::Seconds(1));
  stub_.reset();
  server_.reset();
  StartServer();
  EXPECT_EQ(server_->load_report().loaded, 1);
  v1::PredictResponse after;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Predict(&ctx, p, &after).ok());
  ASSERT_EQ(after.predictions_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(after.predictions(i).value(), before.predictions(i).value());
  }
  // A new version continues the numbering.
  Stream s = Train(LinearRequest("kept"));
  ASSERT_TRUE(s.status.ok());
  EXPECT_EQ(s.events.back().result().version(), 2);
}

TEST_F(ServiceTest, UploadThenTrainWithUploadId) {
  const std::string csv = LinearCsv(50);
  grpc::ClientContext ctx;
  v1::UploadResponse resp;
  auto writer = stub_->UploadDataset(&ctx, &resp);
  v1::UploadChunk chunk;
  const size_t half = csv.size() / 2;
  chunk.set_data(csv.substr(0, half));
  ASSERT_TRUE(writer->Write(chunk));
  chunk.set_data(csv.substr(half));
  ASSERT_TRUE(writer->Write(chunk));
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status st = writer->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.upload_id().size(), 32u);
  EXPECT_EQ(resp.bytes(), static_cast<int64_t>(csv.size()));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/models/.uploads/" +
                                      resp.upload_id() + ".csv"));

  v1::TrainRequest req;
  req.set_name("uploaded");
  req.mutable_data()->set_upload_id(resp.upload_id());
  req.mutable_options()->set_target("y");
  Stream s = Train(req);
  ASSERT_TRUE(s.status.ok()) << s.status.error_message();
  ASSERT_TRUE(s.events.back().has_result());
  EXPECT_EQ(s.events.back().result().version(), 1);
  EXPECT_EQ(s.events.back().result().rows_train() +
                s.events.back().result().rows_validation(),
            50);

  v1::TrainRequest unknown = req;
  unknown.mutable_data()->set_upload_id(std::string(32, '0'));
  s = Train(unknown);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(s.events.empty());
}

TEST_F(ServiceTest, OpenInferenceProtocolOnTheSamePortAndOverRest) {
  ASSERT_TRUE(Train(LinearRequest("prices")).status.ok());
  auto oip = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    inference::ServerReadyResponse resp;
    ASSERT_TRUE(oip->ServerReady(&ctx, {}, &resp).ok());
    EXPECT_TRUE(resp.ready());
  }
  for (const auto& [version, ready] :
       std::vector<std::pair<std::string, bool>>{{"", true}, {"1", true},
                                                 {"2", false}}) {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest req;
    req.set_name("prices");
    req.set_version(version);
    inference::ModelReadyResponse resp;
    ASSERT_TRUE(oip->ModelReady(&ctx, req, &resp).ok()) << version;
    EXPECT_EQ(resp.ready(), ready) << version;
  }
  // The same rows through Predict and through ModelInfer (contents, raw).
  v1::PredictResponse expected;
  {
    grpc::ClientContext ctx;
    v1::PredictRequest req;
    req.set_name("prices");
    v1::InlineRows rows;
    rows.add_columns("x");
    rows.add_columns("color");
    for (const auto& [x, color] :
         std::vector<std::pair<double, std::string>>{{1, "blue"}, {2, "red"}}) {
      v1::Row* r = rows.add_rows();
      r->add_values()->set_number(x);
      r->add_values()->set_text(color);
    }
    *req.mutable_rows() = rows;
    ASSERT_TRUE(stub_->Predict(&ctx, req, &expected).ok());
  }
  inference::ModelInferRequest infer;
  infer.set_model_name("prices");
  infer.set_id("req-42");
  auto* x = infer.add_inputs();
  x->set_name("x");
  x->set_datatype("FP64");
  x->add_shape(2);
  x->mutable_contents()->add_fp64_contents(1);
  x->mutable_contents()->add_fp64_contents(2);
  auto* color = infer.add_inputs();
  color->set_name("color");
  color->set_datatype("BYTES");
  color->add_shape(2);
  color->add_shape(1);
  color->mutable_contents()->add_bytes_contents("blue");
  color->mutable_contents()->add_bytes_contents("red");
  {
    grpc::ClientContext ctx;
    inference::ModelInferResponse resp;
    grpc::Status s = oip->ModelInfer(&ctx, infer, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.id(), "req-42");
    EXPECT_EQ(resp.model_name(), "prices");
    EXPECT_EQ(resp.model_version(), "1");
    ASSERT_EQ(resp.outputs_size(), 1);
    EXPECT_EQ(resp.outputs(0).name(), "predictions");
    EXPECT_THAT(resp.outputs(0).contents().fp64_contents(),
                ElementsAre(expected.predictions(0).value(),
                            expected.predictions(1).value()));
  }
  {
    inference::ModelInferRequest raw = infer;
    raw.mutable_inputs(0)->clear_contents();
    raw.mutable_inputs(1)->clear_contents();
    const double xs[2] = {1, 2};
    raw.add_raw_input_contents(std::string(reinterpret_cast<const char*>(xs), 16));
    raw.add_raw_input_contents(std::string("\x04\0\0\0" "blue\x03\0\0\0" "red", 15));
    grpc::ClientContext ctx;
    inference::ModelInferResponse resp;
    grpc::Status s = oip->ModelInfer(&ctx, raw, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.raw_output_contents_size(), 1);
    const double want[2] = {expected.predictions(0).value(),
                            expected.predictions(1).value()};
    EXPECT_EQ(resp.raw_output_contents(0),
              std::string(reinterpret_cast<const char*>(want), 16));
  }
  {
    inference::ModelInferRequest bad = infer;
    bad.mutable_inputs(0)->set_shape(0, 3);
    grpc::ClientContext ctx;
    inference::ModelInferResponse resp;
    grpc::Status s = oip->ModelInfer(&ctx, bad, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(),
                HasSubstr("input 'x': contents.fp64_contents holds 2 values; "
                          "shape [3] needs 3"));
  }
  {
    inference::ModelInferRequest absent = infer;
    absent.set_model_name("nope");
    grpc::ClientContext ctx;
    inference::ModelInferResponse resp;
    EXPECT_EQ(oip->ModelInfer(&ctx, absent, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  ASSERT_GT(server_->http_port(), 0);
  EXPECT_THAT(HttpGet(server_->http_port(), "/v2/models/prices"),
              HasSubstr("\"name\":\"prices\""));
  const std::string text = HttpGet(server_->metrics_port(), "/metrics");
  for (const char* line : {
           "modelserver_grpc_requests_total{code=\"OK\",method=\"ModelInfer\"} "
           "2\n",
           "modelserver_grpc_requests_total{code=\"INVALID_ARGUMENT\","
           "method=\"ModelInfer\"} 1\n",
           "modelserver_grpc_requests_total{code=\"NOT_FOUND\","
           "method=\"ModelInfer\"} 1\n",
           "modelserver_grpc_requests_total{code=\"OK\",method=\"ModelReady\"} "
           "3\n",
           "modelserver_http_requests_total{code=\"200\",handler="
           "\"ModelMetadata\"} 1\n",
           "modelserver_http_request_duration_seconds_count{handler="
           "\"ModelMetadata\"} 1\n",
           // Predict 1 + ModelInfer 2; the malformed tensor never reached
           // the version (rejected while decoding).
           "modelserver_inference_requests_total{model=\"prices\",outcome="
           "\"success\",version=\"1\"} 3\n",
           "modelserver_inference_rows_total{model=\"prices\",version=\"1\"} "
           "6\n",
       }) {
    EXPECT_THAT(text, HasSubstr(line));
  }
}

TEST_F(ServiceTest, MetricsAddressInUseIsUnavailableAndEmptyTurnsMetricsOff) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.http_listen = "";
  o.model_dir = dir_ + "/models2";
  o.metrics_listen = server_->metrics_address();  // taken by server_
  absl::StatusOr<std::unique_ptr<Server>> taken = Server::Create(o);
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(taken.status().message()),
              HasSubstr("cannot serve metrics on '" +
                        server_->metrics_address() + "'"));
  o.metrics_listen = "";
  absl::StatusOr<std::unique_ptr<Server>> off = Server::Create(o);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ((*off)->metrics(), nullptr);
  EXPECT_EQ((*off)->metrics_port(), 0);
  EXPECT_EQ((*off)->metrics_address(), "");
}

TEST_F(ServiceTest, ShutdownCancelsRunningTraining) {
  grpc::ClientContext ctx;
  auto reader = stub_->Train(&ctx, SlowRequest("slow"));
  v1::TrainEvent e;
  ASSERT_TRUE(reader->Read(&e));
  ASSERT_TRUE(e.has_accepted());
  ASSERT_TRUE(reader->Read(&e));
  ASSERT_TRUE(e.has_epoch());
  // A running job's gauges carry job_id (Prometheus owns the label "job").
  const std::string text = HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_THAT(text, HasSubstr(absl::StrCat(
                        "modelserver_training_job_epoch{job_id=\"",
                        e.job_id(), "\",model=\"slow\"} ")));
  EXPECT_THAT(text, HasSubstr(absl::StrCat(
                        "modelserver_training_job_loss{job_id=\"", e.job_id(),
                        "\",model=\"slow\",split=\"train\"} ")));
  const absl::Time start = absl::Now();
  std::thread stop([this] { server_->Shutdown(absl::Seconds(5)); });
  v1::TrainEvent last;
  while (reader->Read(&e)) last = e;
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(last.has_failed());
  stop.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/models/slow/1/model.msm"));
}

// Tune: a grid over l2 {10, 0} of linear regression on y = 2x + 1 (+3
// for blue) + 0.01 sin(i): l2 = 0 (trial 2) fits the held-out folds best.
// The stream is accepted, 2 trials, the search's end, the final training,
// the result; the published version carries the search.
TEST_F(ServiceTest, TuneSearchesTrainsTheBestAndPublishesTheSearch) {
  v1::TuneRequest req;
  req.set_name("tuned");
  *req.mutable_data()->mutable_rows() = LinearRows(60);
  req.mutable_options()->set_target("y");
  req.mutable_options()->set_model(v1::MODEL_TYPE_LINEAR);
  req.mutable_space()->add_l2(10);
  req.mutable_space()->add_l2(0);
  req.set_folds(3);
  grpc::ClientContext ctx;
  auto reader = stub_->Tune(&ctx, req);
  std::vector<v1::TrainEvent> events;
  v1::TrainEvent e;
  while (reader->Read(&e)) events.push_back(e);
  ASSERT_TRUE(reader->Finish().ok());
  ASSERT_EQ(events.size(), 6u);
  EXPECT_TRUE(events[0].has_accepted());
  ASSERT_TRUE(events[1].has_tune_progress());
  EXPECT_EQ(events[1].tune_progress().trials_done(), 1);
  EXPECT_EQ(events[1].tune_progress().max_trials(), 2);
  EXPECT_EQ(events[1].tune_progress().trial().params(0).key(), "l2");
  EXPECT_EQ(events[1].tune_progress().trial().params(0).value(), "10");
  ASSERT_TRUE(events[2].has_tune_progress());
  EXPECT_EQ(events[2].tune_progress().best_trial(), 2);
  EXPECT_EQ(events[2].tune_progress().metric(), "r2");
  ASSERT_TRUE(events[3].has_tune_summary());
  EXPECT_EQ(events[3].tune_summary().best_trial(), 2);
  EXPECT_TRUE(events[4].has_epoch());  // the exact solver's one step
  ASSERT_TRUE(events[5].has_result());
  EXPECT_EQ(events[5].result().version(), 1);
  EXPECT_EQ(events[5].result().rows_train(), 60);

  grpc::ClientContext model_ctx;
  v1::GetModelRequest gm;
  gm.set_name("tuned");
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModel(&model_ctx, gm, &info).ok());
  ASSERT_EQ(info.versions_size(), 1);
  const v1::TuneSummary& t = info.versions(0).tuning();
  EXPECT_EQ(t.metric(), "r2");
  EXPECT_TRUE(t.higher_is_better());
  EXPECT_EQ(t.folds(), 3);
  EXPECT_EQ(t.mode(), "grid");
  EXPECT_EQ(t.stop_reason(), "max_trials");
  EXPECT_EQ(t.best_trial(), 2);
  ASSERT_EQ(t.trials_size(), 2);
  EXPECT_EQ(t.trials(1).params(0).value(), "0");
  EXPECT_GT(t.trials(1).mean(), 0.99);
  EXPECT_LT(t.trials(0).mean(), t.trials(1).mean());
  bool l2_zero = false;
  for (const v1::Hyperparameter& h : info.versions(0).hyperparameters()) {
    if (h.key() == "l2") l2_zero = h.value() == "0";
  }
  EXPECT_TRUE(l2_zero);

  grpc::ClientContext job_ctx;
  v1::GetJobRequest get;
  get.set_job_id(events[0].job_id());
  v1::Job job;
  ASSERT_TRUE(stub_->GetJob(&job_ctx, get, &job).ok());
  EXPECT_EQ(job.kind(), "tune");
  EXPECT_EQ(job.tune().trials_done(), 2);
  EXPECT_EQ(job.tune().best_trial(), 2);
  EXPECT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
}

TEST_F(ServiceTest, InvalidTuneRequestsAreRejectedBeforeAnyJob) {
  auto base = [] {
    v1::TuneRequest req;
    req.set_name("t");
    *req.mutable_data()->mutable_rows() = LinearRows(20);
    req.mutable_options()->set_target("y");
    req.mutable_space()->add_l2(0.1);
    return req;
  };
  auto tune = [&](const v1::TuneRequest& req) {
    grpc::ClientContext ctx;
    auto reader = stub_->Tune(&ctx, req);
    v1::TrainEvent e;
    while (reader->Read(&e)) {
    }
    return reader->Finish();
  };
  const struct {
    std::function<void(v1::TuneRequest*)> edit;
    std::string message;
  } cases[] = {
      {[](v1::TuneRequest* r) { r->clear_space(); },
       "space: no parameter to search"},
      {[](v1::TuneRequest* r) {
         for (int i = 0; i < 10; ++i) r->mutable_space()->add_l1(i);
         for (int i = 1; i <= 11; ++i) r->mutable_space()->add_epochs(i);
         for (int i = 1; i <= 10; ++i) r->mutable_space()->add_learning_rates(i);
       },
       "space: the grid's size 1100 trials are more than the server's "
       "--max-tune-trials=1000"},
      {[](v1::TuneRequest* r) { r->set_max_trials(1001); },
       "max_trials: 1001 trials are more than the server's "
       "--max-tune-trials=1000"},
      {[](v1::TuneRequest* r) { r->mutable_space()->add_epochs(200000); },
       "space.epochs[0]: 200000 is more than the server's --max-epochs="},
      {[](v1::TuneRequest* r) {
         r->set_mode(v1::TUNE_MODE_RANDOM);
         r->mutable_space()->clear_l2();
         r->mutable_space()->mutable_l2_range()->set_low(0);
         r->mutable_space()->mutable_l2_range()->set_high(1);
         r->mutable_space()->mutable_l2_range()->set_log(true);
       },
       "space.l2_range: a log range needs low > 0"},
      {[](v1::TuneRequest* r) {
         r->mutable_space()->clear_l2();
         r->mutable_space()->mutable_l2_range()->set_high(1);
       },
       "space.l2_range: ranges need mode random"},
      {[](v1::TuneRequest* r) { r->set_metric("bogus"); },
       "metric: unknown metric 'bogus'"},
      {[](v1::TuneRequest* r) { r->set_folds(1); }, "folds: must be >= 2"},
      {[](v1::TuneRequest* r) { r->mutable_space()->add_scalings("log"); },
       "space.scalings[0]: unknown scaling 'log'"},
      {[](v1::TuneRequest* r) {
         r->mutable_space()->add_models(v1::MODEL_TYPE_UNSPECIFIED);
       },
       "space.models[0]: unspecified"},
      {[](v1::TuneRequest* r) { r->set_name(".hidden"); }, "name: "},
      {[](v1::TuneRequest* r) { r->clear_data(); }, "data: no source set"},
  };
  for (const auto& c : cases) {
    v1::TuneRequest req = base();
    c.edit(&req);
    grpc::Status s = tune(req);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.message << " | " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr(c.message));
  }
  grpc::ClientContext list_ctx;
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(&list_ctx, {}, &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0);
}

}  // namespace
}  // namespace modelserver::server
