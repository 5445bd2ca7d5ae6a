// Learning-rate schedules and checkpoints through a real server in process:
// a job the server's shutdown interrupts stays in the journal and the next
// server on the same model directory resumes it from its checkpoint; the
// version it publishes predicts exactly what an uninterrupted run's does.
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/artifact/model_store.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "modelserver/v1/model_service.grpc.pb.h"
#include "server/server.h"
#include "tests/server/server_fixture.h"

namespace modelserver::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// An Adam MLP on 300 rows of y = a * b: `epochs` epochs, a checkpoint
// every 5, no early stopping.
v1::TrainRequest MlpRequest(const std::string& name, int epochs) {
  v1::TrainRequest req;
  req.set_name(name);
  v1::InlineRows* rows = req.mutable_data()->mutable_rows();
  rows->add_columns("a");
  rows->add_columns("b");
  rows->add_columns("y");
  for (int i = 0; i < 300; ++i) {
    v1::Row* r = rows->add_rows();
    r->add_values()->set_number(i % 17);
    r->add_values()->set_number(i % 5);
    r->add_values()->set_number((i % 17) * (i % 5));
  }
  v1::TrainOptions* o = req.mutable_options();
  o->set_target("y");
  o->set_model(v1::MODEL_TYPE_MLP);
  o->set_epochs(epochs);
  o->set_batch_size(4);
  o->set_learning_rate(0.01);
  o->add_hidden_layers(16);
  o->set_early_stopping_patience(0);
  o->set_seed(7);
  o->set_checkpoint_every_epochs(5);
  return req;
}

class CheckpointServiceTest : public ServerFixture {
 protected:
  void Configure(ServerOptions& o) override {
    o.metrics_listen = "";
    o.http_listen = "";
    o.poll_interval = absl::ZeroDuration();
    o.checkpoint_min_seconds = 0;
    o.training_threads = 1;
  }

  std::string Journal() const { return dir_ + "/models/.jobs"; }
  int JournalEntries() const {
    int n = 0;
    if (!fs::exists(Journal())) return 0;
    for (const auto& e : fs::directory_iterator(Journal())) {
      n += e.is_directory();
    }
    return n;
  }

  std::vector<v1::TrainEvent> Watch(const std::string& job_id,
                                    grpc::Status* status) {
    grpc::ClientContext ctx;
    v1::WatchJobRequest req;
    req.set_job_id(job_id);
    auto reader = stub_->WatchJob(&ctx, req);
    std::vector<v1::TrainEvent> out;
    v1::TrainEvent e;
    while (reader->Read(&e)) out.push_back(e);
    *status = reader->Finish();
    return out;
  }

  v1::Job GetJob(const std::string& id) {
    grpc::ClientContext ctx;
    v1::GetJobRequest req;
    req.set_job_id(id);
    v1::Job job;
    EXPECT_TRUE(stub_->GetJob(&ctx, req, &job).ok());
    return job;
  }

  // Starts `req` detached and returns its job id.
  std::string Start(const v1::TrainRequest& req) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    auto reader = stub_->Train(ctx.get(), req);
    v1::TrainEvent e;
    EXPECT_TRUE(reader->Read(&e));
    EXPECT_TRUE(e.has_accepted());
    ctx->TryCancel();  // the job continues without the stream
    reader->Finish();
    return e.job_id();
  }

  // Trains `req` to its end; returns the published version.
  int64_t TrainToEnd(const v1::TrainRequest& req) {
    grpc::Status status;
    const std::vector<v1::TrainEvent> events = Watch(Start(req), &status);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return events.empty() || !events.back().has_result()
               ? 0
               : events.back().result().version();
  }

  std::vector<double> Predict(const std::string& name) {
    grpc::ClientContext ctx;
    v1::PredictRequest req;
    req.set_name(name);
    v1::InlineRows* rows = req.mutable_rows();
    rows->add_columns("a");
    rows->add_columns("b");
    for (int i = 0; i < 20; ++i) {
      v1::Row* r = rows->add_rows();
      r->add_values()->set_number(i * 0.7);
      r->add_values()->set_number(i % 4);
    }
    v1::PredictResponse resp;
    EXPECT_TRUE(stub_->Predict(&ctx, req, &resp).ok());
    std::vector<double> out;
    for (const v1::Prediction& p : resp.predictions()) out.push_back(p.value());
    return out;
  }

  // Starts a long job, waits for a checkpoint of at least `epoch`, and
  // shuts the server down gracefully; returns the job's checkpoint epoch.
  int InterruptAfterCheckpoint(const v1::TrainRequest& req, int epoch) {
    const std::string id = Start(req);
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    int checkpoint = 0;
    while (absl::Now() < deadline) {
      checkpoint = GetJob(id).checkpoint_epoch();
      if (checkpoint >= epoch) break;
      absl::SleepFor(absl::Milliseconds(2));
    }
    stub_.reset();
    server_->Shutdown(absl::Seconds(5));
    server_.reset();
    return checkpoint;
  }
};

TEST_F(CheckpointServiceTest, FinishedJobLeavesNoJournalAndStreamsTheRate) {
  v1::TrainRequest req = MlpRequest("m", 12);
  v1::LearningRateSchedule* lr = req.mutable_options()->mutable_lr_schedule();
  lr->set_kind(v1::LR_SCHEDULE_STEP);
  lr->set_step_size(5);
  lr->set_gamma(0.5);
  grpc::Status status;
  const std::string id = Start(req);
  const std::vector<v1::TrainEvent> events = Watch(id, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<double> rates;
  for (const v1::TrainEvent& e : events) {
    if (e.has_epoch()) rates.push_back(e.epoch().learning_rate());
    EXPECT_FALSE(e.has_resumed());
  }
  EXPECT_EQ(rates,
            (std::vector<double>{0.01, 0.01, 0.01, 0.01, 0.01, 0.005, 0.005,
                                 0.005, 0.005, 0.005, 0.0025, 0.0025}));
  const v1::Job job = GetJob(id);
  EXPECT_EQ(job.checkpoint_epoch(), 10);  // 5 and 10; never the last
  EXPECT_EQ(job.resumed_from_epoch(), 0);
  EXPECT_EQ(JournalEntries(), 0);

  grpc::ClientContext ctx;
  v1::GetModelRequest get;
  get.set_name("m");
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModel(&ctx, get, &info).ok());
  ASSERT_EQ(info.versions_size(), 1);
  EXPECT_EQ(info.versions(0).resumed_from_epoch(), 0);
  std::map<std::string, std::string> h;
  for (const auto& p : info.versions(0).hyperparameters()) {
    h[p.key()] = p.value();
  }
  EXPECT_EQ(h["lr_schedule"], "step");
  EXPECT_EQ(h["lr_step_size"], "5");
  EXPECT_EQ(h["lr_gamma"], "0.5");

  // checkpoint_every_epochs 0: not kept in the journal at all.
  req.set_name("n");
  req.mutable_options()->set_checkpoint_every_epochs(0);
  const std::string plain = Start(req);
  Watch(plain, &status);
  EXPECT_EQ(GetJob(plain).checkpoint_epoch(), 0);
  EXPECT_EQ(JournalEntries(), 0);
}

TEST_F(CheckpointServiceTest, ShutdownKeepsTheJobAndTheNextServerResumesIt) {
  v1::TrainRequest req = MlpRequest("m", 3000);
  req.mutable_options()->set_checkpoint_every_epochs(25);
  const int checkpoint = InterruptAfterCheckpoint(req, 25);
  ASSERT_GE(checkpoint, 25);
  ASSERT_EQ(JournalEntries(), 1);  // kept: the shutdown interrupted it
  EXPECT_FALSE(fs::exists(dir_ + "/models/m/1/model.msm"));

  StartServer();
  EXPECT_EQ(server_->jobs_resumed(), 1);
  grpc::ClientContext ctx;
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(&ctx, v1::ListJobsRequest(), &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  const v1::Job job = list.jobs(0);
  EXPECT_EQ(job.name(), "m");
  // The server may have checkpointed again after the one we saw.
  EXPECT_GE(job.resumed_from_epoch(), checkpoint);
  EXPECT_EQ(job.resumed_from_epoch() % 25, 0);

  grpc::Status status;
  const std::vector<v1::TrainEvent> events = Watch(job.job_id(), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(events.size(), 3u);
  EXPECT_TRUE(events[0].has_accepted());
  ASSERT_TRUE(events[1].has_resumed());
  const int from = events[1].resumed().from_epoch();
  EXPECT_EQ(from, job.resumed_from_epoch());
  EXPECT_EQ(events[1].resumed().note(), "");
  ASSERT_TRUE(events[2].has_epoch());
  EXPECT_EQ(events[2].epoch().epoch(), from + 1);
  ASSERT_TRUE(events.back().has_result());
  EXPECT_EQ(events.back().result().version(), 1);
  EXPECT_EQ(events.back().result().epochs(), 3000);
  EXPECT_EQ(JournalEntries(), 0);

  grpc::ClientContext c2;
  v1::GetModelRequest get;
  get.set_name("m");
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModel(&c2, get, &info).ok());
  ASSERT_EQ(info.versions_size(), 1);
  EXPECT_EQ(info.versions(0).resumed_from_epoch(), from);
  ASSERT_EQ(info.stored_versions_size(), 1);

  // An uninterrupted run of the same request predicts the same, exactly.
  v1::TrainRequest straight = req;
  straight.set_name("straight");
  ASSERT_EQ(TrainToEnd(straight), 1);
  const std::vector<double> resumed = Predict("m");
  ASSERT_EQ(resumed.size(), 20u);
  EXPECT_EQ(resumed, Predict("straight"));
}

TEST_F(CheckpointServiceTest, CorruptedCheckpointRestartsFromScratch) {
  v1::TrainRequest req = MlpRequest("m", 2000);
  req.mutable_options()->set_checkpoint_every_epochs(25);
  ASSERT_GE(InterruptAfterCheckpoint(req, 25), 25);
  ASSERT_EQ(JournalEntries(), 1);
  std::string checkpoint;
  for (const auto& e : fs::directory_iterator(Journal())) {
    checkpoint = e.path().string() + "/checkpoint";
  }
  ASSERT_TRUE(fs::exists(checkpoint));
  fs::resize_file(checkpoint, fs::file_size(checkpoint) / 2);  // truncated

  StartServer();
  EXPECT_EQ(server_->jobs_resumed(), 1);
  grpc::ClientContext ctx;
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(&ctx, v1::ListJobsRequest(), &list).ok());
  ASSERT_EQ(list.jobs_size(), 1);
  grpc::Status status;
  const std::vector<v1::TrainEvent> events =
      Watch(list.jobs(0).job_id(), &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(events[1].has_resumed());
  EXPECT_EQ(events[1].resumed().from_epoch(), 0);
  EXPECT_THAT(events[1].resumed().note(),
              HasSubstr("the checkpoint cannot be used (checkpoint: checksum "
                        "mismatch"));
  EXPECT_THAT(events[1].resumed().note(),
              HasSubstr("training starts again from epoch 1"));
  ASSERT_TRUE(events[2].has_epoch());
  EXPECT_EQ(events[2].epoch().epoch(), 1);
  ASSERT_TRUE(events.back().has_result());
  EXPECT_EQ(JournalEntries(), 0);

  // From scratch with the same seed: the same model as a straight run.
  v1::TrainRequest straight = req;
  straight.set_name("straight");
  ASSERT_EQ(TrainToEnd(straight), 1);
  EXPECT_EQ(Predict("m"), Predict("straight"));
}

// A crash between the version's save and the removal of the job from the
// journal: the next server finds the job, sees that a served version carries
// its journal entry (metadata tag 41), removes it and trains nothing again.
TEST_F(CheckpointServiceTest, JobWhoseVersionWasSavedIsNotTrainedAgain) {
  const v1::TrainRequest req = MlpRequest("m", 20);
  ASSERT_EQ(TrainToEnd(req), 1);
  stub_.reset();
  server_.reset();
  auto store = ModelStore::Open(dir_ + "/models");
  ASSERT_TRUE(store.ok());
  auto v1 = (*store)->Load("m", 1);
  ASSERT_TRUE(v1.ok()) << v1.status();
  const std::string uid = v1->metadata().job_uid;
  ASSERT_FALSE(uid.empty());
  // The journal entry as the crash would have left it.
  const std::string entry = Journal() + "/" + uid;
  fs::create_directories(entry);
  std::ofstream(entry + "/request") << req.SerializeAsString();
  std::ofstream(entry + "/lock") << "";
  ASSERT_EQ(JournalEntries(), 1);

  StartServer();
  EXPECT_EQ(server_->jobs_resumed(), 0);
  grpc::ClientContext ctx;
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub_->ListJobs(&ctx, v1::ListJobsRequest(), &list).ok());
  EXPECT_EQ(list.jobs_size(), 0);
  EXPECT_EQ(JournalEntries(), 0);
  EXPECT_FALSE(fs::exists(dir_ + "/models/m/2"));
}

}  // namespace
}  // namespace modelserver::server
