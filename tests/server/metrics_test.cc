#include "server/metrics.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver::server {
namespace {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;

const MetricFamily* Find(const std::vector<MetricFamily>& families,
                         const std::string& name) {
  for (const MetricFamily& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The metric of `family` whose labels are exactly `labels` (sorted by name).
const ClientMetric* WithLabels(const MetricFamily& family,
                               std::vector<ClientMetric::Label> labels) {
  for (const ClientMetric& m : family.metric) {
    if (m.label == labels) return &m;
  }
  return nullptr;
}

TEST(LatencyHistogramTest, BoundsRunFrom50MicrosecondsTo10Seconds) {
  const auto& b = LatencyHistogram::Bounds();
  EXPECT_DOUBLE_EQ(b.front(), 50e-6);
  EXPECT_DOUBLE_EQ(b.back(), 10.0);
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(LatencyHistogramTest,
     CountsIntoCumulativeBucketsWithUpperBoundsInclusive) {
  LatencyHistogram h;
  h.Observe(50'000);          // exactly 50 us: le=5e-05
  h.Observe(50'001);          // le=1e-4
  h.Observe(3'000'000);       // 3 ms: le=0.005
  h.Observe(20'000'000'000);  // 20 s: +Inf only
  h.Observe(-5);              // clamped to 0: le=5e-05
  const ClientMetric::Histogram s = h.Snapshot();
  ASSERT_EQ(s.bucket.size(), 18u);
  EXPECT_EQ(s.sample_count, 5u);
  EXPECT_NEAR(s.sample_sum, 50e-6 + 50.001e-6 + 3e-3 + 20.0, 1e-12);
  EXPECT_EQ(s.bucket[0].cumulative_count, 2u);   // 5e-05
  EXPECT_EQ(s.bucket[1].cumulative_count, 3u);   // 1e-4
  EXPECT_EQ(s.bucket[5].cumulative_count, 3u);   // 2.5e-3
  EXPECT_EQ(s.bucket[6].cumulative_count, 4u);   // 5e-3
  EXPECT_EQ(s.bucket[16].cumulative_count, 4u);  // 10
  EXPECT_EQ(s.bucket[17].cumulative_count, 5u);  // +Inf
  EXPECT_TRUE(std::isinf(s.bucket[17].upper_bound));
}

TEST(MetricsTest, CountsRpcsByMethodAndCodeAndTracksInFlight) {
  Metrics m(nullptr, nullptr);
  m.RpcStarted(Rpc::kPredict);
  m.RpcStarted(Rpc::kPredict);
  m.RpcStarted(Rpc::kTrain);
  m.RpcFinished(Rpc::kPredict, grpc::StatusCode::OK, 1000);
  m.RpcFinished(Rpc::kTrain, grpc::StatusCode::INVALID_ARGUMENT, 1000);
  const auto families = m.Collect();
  const MetricFamily* requests =
      Find(families, "modelserver_grpc_requests_total");
  ASSERT_NE(requests, nullptr);
  // Only codes that happened are exported.
  ASSERT_EQ(requests->metric.size(), 2u);
  const ClientMetric* ok =
      WithLabels(*requests, {{"code", "OK"}, {"method", "Predict"}});
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->counter.value, 1);
  const ClientMetric* bad = WithLabels(
      *requests, {{"code", "INVALID_ARGUMENT"}, {"method", "Train"}});
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->counter.value, 1);
  const MetricFamily* in_flight =
      Find(families, "modelserver_grpc_requests_in_flight");
  ASSERT_NE(in_flight, nullptr);
  EXPECT_EQ(WithLabels(*in_flight, {{"method", "Predict"}})->gauge.value, 1);
  EXPECT_EQ(WithLabels(*in_flight, {{"method", "Train"}})->gauge.value, 0);
}

TEST(MetricsTest, RpcScopeCountsAnUnfinishedHandlerAsCancelled) {
  Metrics m(nullptr, nullptr);
  { RpcScope scope(&m, Rpc::kGetJob); }
  {
    RpcScope scope(&m, Rpc::kGetJob);
    grpc::Status s =
        scope.Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no job"));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  }
  const auto families = m.Collect();
  const MetricFamily* requests =
      Find(families, "modelserver_grpc_requests_total");
  EXPECT_EQ(WithLabels(*requests, {{"code", "CANCELLED"}, {"method", "GetJob"}})
                ->counter.value,
            1);
  EXPECT_EQ(WithLabels(*requests, {{"code", "NOT_FOUND"}, {"method", "GetJob"}})
                ->counter.value,
            1);
  RpcScope noop(nullptr, Rpc::kGetJob);  // metrics off: nothing to count
  EXPECT_TRUE(noop.Finish(grpc::Status::OK).ok());
}

TEST(MetricsTest, ModelSeriesAreSharedAcrossThreadsAndInstances) {
  Metrics a(nullptr, nullptr);
  Metrics b(nullptr, nullptr);
  ModelSeries* a1 = a.Model("m", 1);
  EXPECT_EQ(a.Model("m", 1), a1);  // per-thread cache hit
  EXPECT_NE(a.Model("m", 2), a1);
  EXPECT_NE(b.Model("m", 1), a1);  // another instance, another series
  EXPECT_EQ(a.Model("m", 1), a1);  // the cache was reset for `b`, not lost
  ModelSeries* from_thread = nullptr;
  std::thread t([&] { from_thread = a.Model("m", 1); });
  t.join();
  EXPECT_EQ(from_thread, a1);
}

TEST(MetricsTest, CountsFinishedJobsByStateAndTheirDuration) {
  Metrics m(nullptr, nullptr);
  JobSnapshot ok;
  ok.state = JobState::kSucceeded;
  ok.started_unix_micros = 1'000'000;
  ok.finished_unix_micros = 3'000'000;  // 2 s
  m.JobFinished(ok);
  JobSnapshot cancelled_in_queue;
  cancelled_in_queue.state = JobState::kCancelled;
  cancelled_in_queue.finished_unix_micros = 5;  // never started
  m.JobFinished(cancelled_in_queue);
  m.AddRowsIngested(150);
  m.AddModelLoadFailures(2);
  const auto families = m.Collect();
  const MetricFamily* finished =
      Find(families, "modelserver_training_jobs_finished_total");
  EXPECT_EQ(WithLabels(*finished, {{"state", "succeeded"}})->counter.value, 1);
  EXPECT_EQ(WithLabels(*finished, {{"state", "failed"}})->counter.value, 0);
  EXPECT_EQ(WithLabels(*finished, {{"state", "cancelled"}})->counter.value, 1);
  const MetricFamily* duration =
      Find(families, "modelserver_training_job_duration_seconds");
  EXPECT_EQ(duration->metric[0].histogram.sample_count, 1u);
  EXPECT_DOUBLE_EQ(duration->metric[0].histogram.sample_sum, 2.0);
  EXPECT_EQ(Find(families, "modelserver_training_rows_ingested_total")
                ->metric[0]
                .counter.value,
            150);
  EXPECT_EQ(Find(families, "modelserver_model_load_failures_total")
                ->metric[0]
                .counter.value,
            2);
}

TEST(MetricsTest, ExportsProcessAndBuildInfo) {
  Metrics m(nullptr, nullptr);
  const auto families = m.Collect();
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_start_time_seconds",
        "process_open_fds", "process_max_fds"}) {
    const MetricFamily* f = Find(families, name);
    ASSERT_NE(f, nullptr) << name;
    ASSERT_EQ(f->metric.size(), 1u) << name;
  }
  EXPECT_GT(
      Find(families, "process_resident_memory_bytes")->metric[0].gauge.value,
      1 << 20);
  const double start =
      Find(families, "process_start_time_seconds")->metric[0].gauge.value;
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_GT(start, now - 3600);
  EXPECT_LE(start, now + 1);
  EXPECT_GE(Find(families, "process_open_fds")->metric[0].gauge.value, 3);
  const MetricFamily* build = Find(families, "modelserver_build_info");
  ASSERT_EQ(build->metric.size(), 1u);
  EXPECT_EQ(build->metric[0].gauge.value, 1);
  std::vector<std::string> names;
  for (const auto& l : build->metric[0].label) names.push_back(l.name);
  EXPECT_THAT(names, ::testing::ElementsAre("compiler", "grpc_version",
                                            "revision", "version"));
  EXPECT_EQ(build->metric[0].label[1].value, grpc::Version());
  EXPECT_EQ(build->metric[0].label[3].value, "0.1.0");
}

}  // namespace
}  // namespace modelserver::server
