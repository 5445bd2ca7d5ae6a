// File: server/metrics.h
// Metrics: everything the server counts, exposed to Prometheus as one
// prometheus::Collectable (register it with a prometheus::Exposer).
//
// The request path only touches relaxed atomics: per-RPC counters by status
// code, in-flight gauges and latency histograms live in fixed arrays indexed
// by method; per-model series are found through a per-thread cache, so no
// lock is taken and nothing is allocated once a thread has seen a model
// version. Everything else (models loaded, jobs by state, running jobs'
// epoch and loss, process figures, build info) is read when scraped.
//
// Families (docs/metrics.md lists them with their labels):
//   modelserver_grpc_requests_total{method,code}            counter
//   modelserver_grpc_request_duration_seconds{method}       histogram
//   modelserver_grpc_requests_in_flight{method}             gauge
//   modelserver_http_requests_total{handler,code}           counter (REST)
//   modelserver_http_request_duration_seconds{handler}      histogram
//   modelserver_inference_requests_total{model,version,outcome} counter
//   modelserver_inference_rows_total{model,version}         counter
//   modelserver_inference_duration_seconds{model,version}   histogram
//     (Predict's, ModelInfer's and REST infer's handler time, for calls
//     that reached the version)
//   modelserver_models_loaded, modelserver_model_versions_loaded{model}
//   modelserver_model_load_failures_total
//   modelserver_training_jobs{state} (queued, running: now)  gauge
//   modelserver_training_jobs_finished_total{state}         counter
//   modelserver_training_job_duration_seconds               histogram
//   modelserver_training_rows_ingested_total                counter
//   modelserver_training_job_epoch{job_id,model}, _loss{job_id,model,split}
//   gauges ("job_id", not "job": Prometheus owns the "job" label)
//   process_* (start time, CPU, resident/virtual memory, fds), and
//   modelserver_build_info{version,revision,compiler,grpc_version} 1.
//
// Per-model series are exported only while their version is loaded.
//
// Thread-safety: every method may be called concurrently.
#ifndef MODELSERVER_SERVER_METRICS_H_
#define MODELSERVER_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/jobs/job_manager.h"
#include "core/registry/model_registry.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace modelserver::server {

// A Prometheus histogram of durations with fixed buckets, lock-free.
class LatencyHistogram {
 public:
  // Upper bounds in seconds: 50 us ... 10 s (1, 2.5, 5 steps per decade).
  static constexpr int kBuckets = 17;
  static const std::array<double, kBuckets>& Bounds();

  void Observe(int64_t nanos);
  // Cumulative buckets (+Inf last), count and sum in seconds.
  prometheus::ClientMetric::Histogram Snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets + 1> counts_{};
  std::atomic<uint64_t> sum_nanos_{0};
};

// The RPCs that are counted; RpcName() gives the gRPC method name.
enum class Rpc : int {
  kTrain,
  kUploadDataset,
  kWatchJob,
  kGetJob,
  kListJobs,
  kCancelJob,
  kEvaluate,
  kPredict,
  kListModels,
  kGetModel,
  kDeleteModel,
  // inference.GRPCInferenceService (Open Inference Protocol).
  kServerLive,
  kServerReady,
  kModelReady,
  kServerMetadata,
  kModelMetadata,
  kModelInfer,
  // ModelService, added later (the order above is the label order).
  kSetLabel,
  kRemoveLabel,
  kTune,
};
inline constexpr int kNumRpcs = 20;
const char* RpcName(Rpc rpc);

// The REST (HTTP/JSON) handlers that are counted; HttpHandlerName() gives
// the label ("ModelInfer", ...: the Open Inference Protocol operation).
enum class HttpHandler : int {
  kServerLive,
  kServerReady,
  kModelReady,
  kServerMetadata,
  kModelMetadata,
  kModelInfer,
  kOther,  // unknown paths and methods
};
inline constexpr int kNumHttpHandlers = 7;
const char* HttpHandlerName(HttpHandler handler);

// Inference figures of one model version.
struct ModelSeries {
  // One call that reached this version: `rows` predicted when `ok`.
  void Record(bool ok, uint64_t rows_predicted, int64_t nanos) {
    if (ok) {
      succeeded.fetch_add(1, std::memory_order_relaxed);
      rows.fetch_add(rows_predicted, std::memory_order_relaxed);
    } else {
      failed.fetch_add(1, std::memory_order_relaxed);
    }
    latency.Observe(nanos);
  }

  std::atomic<uint64_t> succeeded{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> rows{0};
  LatencyHistogram latency;
};

class Metrics final : public prometheus::Collectable {
 public:
  // Where the scrape-time figures come from; either may be null.
  Metrics(const ModelRegistry* registry, const JobManager* jobs);

  // Sets the sources after construction (the JobManager is created with a
  // callback into Metrics). Call before the first scrape.
  void SetSources(const ModelRegistry* registry, const JobManager* jobs);

  void RpcStarted(Rpc rpc);
  void RpcFinished(Rpc rpc, grpc::StatusCode code, int64_t nanos);
  // A REST request answered with HTTP status `http_status` after `nanos`.
  void HttpFinished(HttpHandler handler, int http_status, int64_t nanos);

  // The series of model `name` version `version`, created on first use;
  // the pointer stays valid for the life of this object.
  ModelSeries* Model(absl::string_view name, int64_t version);

  void AddModelLoadFailures(int64_t n);
  void AddRowsIngested(int64_t rows);
  // Counts a finished job (its state and, if it ran, its duration).
  void JobFinished(const JobSnapshot& job);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  ModelSeries* ModelSlow(absl::string_view name, int64_t version);

  // Unique per instance, so that per-thread caches never mix two objects.
  const uint64_t id_;
  std::atomic<const ModelRegistry*> registry_;
  std::atomic<const JobManager*> jobs_;

  std::array<std::array<std::atomic<uint64_t>, 17>, kNumRpcs> rpc_codes_{};
  std::array<std::atomic<int64_t>, kNumRpcs> rpc_in_flight_{};
  std::array<LatencyHistogram, kNumRpcs> rpc_latency_;
  // HTTP statuses 100..599 by handler.
  std::array<std::array<std::atomic<uint64_t>, 500>, kNumHttpHandlers>
      http_codes_{};
  std::array<LatencyHistogram, kNumHttpHandlers> http_latency_;

  mutable absl::Mutex models_mu_;
  absl::flat_hash_map<
      std::string, absl::flat_hash_map<int64_t, std::unique_ptr<ModelSeries>>>
      models_ ABSL_GUARDED_BY(models_mu_);

  std::atomic<uint64_t> load_failures_{0};
  std::atomic<uint64_t> rows_ingested_{0};
  std::array<std::atomic<uint64_t>, 3> jobs_finished_{};  // ok/failed/cancelled
  LatencyHistogram job_duration_;
};

// Counts one RPC: in flight from construction until Finish (or destruction,
// which counts it as CANCELLED). A null `metrics` makes it a no-op. When the
// debug log level is on, Finish also logs the RPC.
class RpcScope {
 public:
  RpcScope(Metrics* metrics, Rpc rpc);
  ~RpcScope();
  RpcScope(const RpcScope&) = delete;
  RpcScope& operator=(const RpcScope&) = delete;

  // Records `status` and returns it; `model` (may be empty) goes in the log.
  // `end_nanos` (MonotonicNanos()) when the caller already read the clock.
  grpc::Status Finish(grpc::Status status, absl::string_view model = {},
                      int64_t end_nanos = -1);
  int64_t start_nanos() const { return start_nanos_; }

 private:
  Metrics* const metrics_;
  const Rpc rpc_;
  const int64_t start_nanos_;
  bool finished_ = false;
};

// Monotonic clock in nanoseconds (for durations).
int64_t MonotonicNanos();

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_METRICS_H_
