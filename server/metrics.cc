#include "server/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/log.h"

#ifndef MODELSERVER_VERSION
#define MODELSERVER_VERSION "unknown"
#endif
#ifndef MODELSERVER_GIT_REVISION
#define MODELSERVER_GIT_REVISION "unknown"
#endif

namespace modelserver::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::array<const char*, kNumRpcs> kRpcNames = {
    "Train",      "UploadDataset", "WatchJob",   "GetJob",
    "ListJobs",   "CancelJob",     "Evaluate",   "Predict",
    "ListModels", "GetModel",      "DeleteModel", "ServerLive",
    "ServerReady", "ModelReady",   "ServerMetadata", "ModelMetadata",
    "ModelInfer",  "SetLabel",     "RemoveLabel", "Tune"};

constexpr std::array<const char*, kNumHttpHandlers> kHttpHandlerNames = {
    "ServerLive",    "ServerReady", "ModelReady", "ServerMetadata",
    "ModelMetadata", "ModelInfer",  "other"};

// gRPC's canonical code names ("OK", "INVALID_ARGUMENT", ...), as grpc-go
// and Triton label them: absl::StatusCode has the same numbers and names.
std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

constexpr uint64_t kMetricsIdBase = 1;
std::atomic<uint64_t> g_next_metrics_id{kMetricsIdBase};

const std::array<int64_t, LatencyHistogram::kBuckets>& BoundsNanos() {
  static const auto* bounds = [] {
    auto* b = new std::array<int64_t, LatencyHistogram::kBuckets>;
    const auto& s = LatencyHistogram::Bounds();
    for (int i = 0; i < LatencyHistogram::kBuckets; ++i) {
      (*b)[i] = static_cast<int64_t>(s[i] * 1e9 + 0.5);
    }
    return b;
  }();
  return *bounds;
}

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric Labelled(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

ClientMetric GaugeOf(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m = Labelled(std::move(labels));
  m.gauge.value = v;
  return m;
}

ClientMetric CounterOf(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m = Labelled(std::move(labels));
  m.counter.value = v;
  return m;
}

// Process figures from /proc (Linux); families are left out when /proc
// cannot be read.
void CollectProcess(std::vector<MetricFamily>* out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name "(...)", which may contain spaces.
  const size_t close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::vector<std::string> f =
        absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
    // f[0] is field 3 (state): utime = field 14, stime 15, starttime 22,
    // vsize 23, rss 24.
    double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    if (f.size() > 21 && absl::SimpleAtod(f[11], &utime) &&
        absl::SimpleAtod(f[12], &stime) && absl::SimpleAtod(f[19], &start) &&
        absl::SimpleAtod(f[20], &vsize) && absl::SimpleAtod(f[21], &rss)) {
      MetricFamily cpu = Family("process_cpu_seconds_total",
                                "Total user and system CPU time spent in "
                                "seconds.",
                                MetricType::Counter);
      cpu.metric.push_back(CounterOf((utime + stime) / ticks));
      out->push_back(std::move(cpu));
      MetricFamily res =
          Family("process_resident_memory_bytes",
                 "Resident memory size in bytes.", MetricType::Gauge);
      res.metric.push_back(GaugeOf(rss * page));
      out->push_back(std::move(res));
      MetricFamily virt =
          Family("process_virtual_memory_bytes",
                 "Virtual memory size in bytes.", MetricType::Gauge);
      virt.metric.push_back(GaugeOf(vsize));
      out->push_back(std::move(virt));
      // Start time = boot time + starttime ticks.
      std::ifstream proc_stat("/proc/stat");
      std::string line;
      double btime = -1;
      while (std::getline(proc_stat, line)) {
        if (absl::StartsWith(line, "btime ")) {
          if (!absl::SimpleAtod(line.substr(6), &btime)) btime = -1;
          break;
        }
      }
      if (btime >= 0) {
        MetricFamily st = Family("process_start_time_seconds",
                                 "Start time of the process since unix epoch "
                                 "in seconds.",
                                 MetricType::Gauge);
        st.metric.push_back(GaugeOf(btime + start / ticks));
        out->push_back(std::move(st));
      }
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int64_t fds = 0;
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++fds;
    }
    closedir(dir);
    --fds;  // the directory stream's own descriptor
    MetricFamily open =
        Family("process_open_fds", "Number of open file descriptors.",
               MetricType::Gauge);
    open.metric.push_back(GaugeOf(static_cast<double>(fds)));
    out->push_back(std::move(open));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    MetricFamily max =
        Family("process_max_fds", "Maximum number of open file descriptors.",
               MetricType::Gauge);
    max.metric.push_back(GaugeOf(static_cast<double>(limit.rlim_cur)));
    out->push_back(std::move(max));
  }
}

struct ThreadCache {
  uint64_t owner = 0;
  absl::flat_hash_map<std::string, absl::flat_hash_map<int64_t, ModelSeries*>>
      series;
};

ThreadCache& LocalCache() {
  thread_local ThreadCache cache;
  return cache;
}

}  // namespace

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const std::array<double, LatencyHistogram::kBuckets>&
LatencyHistogram::Bounds() {
  static constexpr std::array<double, kBuckets> kBounds = {
      50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3,
      50e-3, 100e-3, 250e-3, 500e-3, 1.0,  2.5,    5.0,  10.0};
  return kBounds;
}

void LatencyHistogram::Observe(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  const auto& bounds = BoundsNanos();
  const int bucket = static_cast<int>(
      std::lower_bound(bounds.begin(), bounds.end(), nanos) - bounds.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(nanos), std::memory_order_relaxed);
}

ClientMetric::Histogram LatencyHistogram::Snapshot() const {
  ClientMetric::Histogram h;
  uint64_t cumulative = 0;
  const auto& bounds = Bounds();
  for (int i = 0; i <= kBuckets; ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound =
        i < kBuckets ? bounds[i] : std::numeric_limits<double>::infinity();
    h.bucket.push_back(b);
  }
  h.sample_count = cumulative;
  h.sample_sum =
      static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) * 1e-9;
  return h;
}

const char* RpcName(Rpc rpc) { return kRpcNames[static_cast<int>(rpc)]; }

const char* HttpHandlerName(HttpHandler handler) {
  return kHttpHandlerNames[static_cast<int>(handler)];
}

Metrics::Metrics(const ModelRegistry* registry, const JobManager* jobs)
    : id_(g_next_metrics_id.fetch_add(1)), registry_(registry), jobs_(jobs) {}

void Metrics::SetSources(const ModelRegistry* registry,
                         const JobManager* jobs) {
  registry_.store(registry);
  jobs_.store(jobs);
}

void Metrics::RpcStarted(Rpc rpc) {
  rpc_in_flight_[static_cast<int>(rpc)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RpcFinished(Rpc rpc, grpc::StatusCode code, int64_t nanos) {
  const int m = static_cast<int>(rpc);
  int c = static_cast<int>(code);
  if (c < 0 || c >= 17) c = static_cast<int>(grpc::StatusCode::UNKNOWN);
  rpc_codes_[m][c].fetch_add(1, std::memory_order_relaxed);
  rpc_in_flight_[m].fetch_sub(1, std::memory_order_relaxed);
  rpc_latency_[m].Observe(nanos);
}

void Metrics::HttpFinished(HttpHandler handler, int http_status,
                           int64_t nanos) {
  const int h = static_cast<int>(handler);
  if (http_status < 100 || http_status > 599) http_status = 500;
  http_codes_[h][http_status - 100].fetch_add(1, std::memory_order_relaxed);
  http_latency_[h].Observe(nanos);
}

ModelSeries* Metrics::Model(absl::string_view name, int64_t version) {
  ThreadCache& cache = LocalCache();
  if (cache.owner != id_) {
    cache.series.clear();
    cache.owner = id_;
  }
  auto by_name = cache.series.find(name);
  if (by_name != cache.series.end()) {
    auto it = by_name->second.find(version);
    if (it != by_name->second.end()) return it->second;
  }
  ModelSeries* series = ModelSlow(name, version);
  cache.series[name][version] = series;
  return series;
}

ModelSeries* Metrics::ModelSlow(absl::string_view name, int64_t version) {
  absl::MutexLock lock(&models_mu_);
  std::unique_ptr<ModelSeries>& slot = models_[name][version];
  if (slot == nullptr) slot = std::make_unique<ModelSeries>();
  return slot.get();
}

void Metrics::AddModelLoadFailures(int64_t n) {
  load_failures_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
}

void Metrics::AddRowsIngested(int64_t rows) {
  rows_ingested_.fetch_add(static_cast<uint64_t>(rows),
                           std::memory_order_relaxed);
}

void Metrics::JobFinished(const JobSnapshot& job) {
  int slot = 1;
  if (job.state == JobState::kSucceeded) slot = 0;
  if (job.state == JobState::kCancelled) slot = 2;
  jobs_finished_[slot].fetch_add(1, std::memory_order_relaxed);
  if (job.started_unix_micros > 0 &&
      job.finished_unix_micros >= job.started_unix_micros) {
    job_duration_.Observe((job.finished_unix_micros - job.started_unix_micros) *
                          1000);
  }
}

std::vector<MetricFamily> Metrics::Collect() const {
  std::vector<MetricFamily> out;

  // ---- RPCs
  MetricFamily requests = Family(
      "modelserver_grpc_requests_total",
      "RPCs handled, by method and gRPC status code.", MetricType::Counter);
  MetricFamily latency =
      Family("modelserver_grpc_request_duration_seconds",
             "Time from the start of an RPC handler to its status, by method.",
             MetricType::Histogram);
  MetricFamily in_flight =
      Family("modelserver_grpc_requests_in_flight",
             "RPCs being handled now, by method.", MetricType::Gauge);
  for (int m = 0; m < kNumRpcs; ++m) {
    for (int c = 0; c < 17; ++c) {
      const uint64_t n = rpc_codes_[m][c].load(std::memory_order_relaxed);
      if (n == 0) continue;
      requests.metric.push_back(
          CounterOf(static_cast<double>(n),
                    {{"code", CodeName(c)}, {"method", kRpcNames[m]}}));
    }
    ClientMetric h = Labelled({{"method", kRpcNames[m]}});
    h.histogram = rpc_latency_[m].Snapshot();
    latency.metric.push_back(std::move(h));
    in_flight.metric.push_back(GaugeOf(
        static_cast<double>(rpc_in_flight_[m].load(std::memory_order_relaxed)),
        {{"method", kRpcNames[m]}}));
  }
  out.push_back(std::move(requests));
  out.push_back(std::move(latency));
  out.push_back(std::move(in_flight));

  MetricFamily http_requests = Family(
      "modelserver_http_requests_total",
      "REST (HTTP/JSON) requests answered, by handler and HTTP status.",
      MetricType::Counter);
  MetricFamily http_latency = Family(
      "modelserver_http_request_duration_seconds",
      "Time from a REST request's arrival at its handler to its reply, by "
      "handler.",
      MetricType::Histogram);
  for (int h = 0; h < kNumHttpHandlers; ++h) {
    for (int c = 0; c < 500; ++c) {
      const uint64_t n = http_codes_[h][c].load(std::memory_order_relaxed);
      if (n == 0) continue;
      http_requests.metric.push_back(CounterOf(
          static_cast<double>(n),
          {{"code", absl::StrCat(c + 100)}, {"handler", kHttpHandlerNames[h]}}));
    }
    ClientMetric hist = Labelled({{"handler", kHttpHandlerNames[h]}});
    hist.histogram = http_latency_[h].Snapshot();
    http_latency.metric.push_back(std::move(hist));
  }
  out.push_back(std::move(http_requests));
  out.push_back(std::move(http_latency));

  // ---- Models
  const ModelRegistry* registry = registry_.load();
  std::vector<std::pair<std::string, std::vector<int64_t>>> loaded;
  if (registry != nullptr) loaded = registry->List();
  MetricFamily models =
      Family("modelserver_models_loaded",
             "Models with at least one version loaded.", MetricType::Gauge);
  MetricFamily versions =
      Family("modelserver_model_versions_loaded", "Versions loaded, by model.",
             MetricType::Gauge);
  MetricFamily inference =
      Family("modelserver_inference_requests_total",
             "Predict requests that reached a loaded model version, by outcome "
             "(success or failure).",
             MetricType::Counter);
  MetricFamily rows =
      Family("modelserver_inference_rows_total",
             "Rows predicted, by model version.", MetricType::Counter);
  MetricFamily inference_latency = Family(
      "modelserver_inference_duration_seconds",
      "Predict handler time (validation, conversion, prediction, reply) of "
      "the calls that reached a model version, by model version.",
      MetricType::Histogram);
  int64_t num_models = 0;
  {
    absl::MutexLock lock(&models_mu_);
    for (const auto& [name, list] : loaded) {
      if (list.empty()) continue;
      ++num_models;
      versions.metric.push_back(
          GaugeOf(static_cast<double>(list.size()), {{"model", name}}));
      auto by_name = models_.find(name);
      if (by_name == models_.end()) continue;
      for (int64_t v : list) {
        auto it = by_name->second.find(v);
        if (it == by_name->second.end()) continue;
        const ModelSeries& s = *it->second;
        const std::string version = absl::StrCat(v);
        inference.metric.push_back(CounterOf(
            static_cast<double>(s.succeeded.load(std::memory_order_relaxed)),
            {{"model", name}, {"outcome", "success"}, {"version", version}}));
        inference.metric.push_back(CounterOf(
            static_cast<double>(s.failed.load(std::memory_order_relaxed)),
            {{"model", name}, {"outcome", "failure"}, {"version", version}}));
        rows.metric.push_back(CounterOf(
            static_cast<double>(s.rows.load(std::memory_order_relaxed)),
            {{"model", name}, {"version", version}}));
        ClientMetric h = Labelled({{"model", name}, {"version", version}});
        h.histogram = s.latency.Snapshot();
        inference_latency.metric.push_back(std::move(h));
      }
    }
  }
  models.metric.push_back(GaugeOf(static_cast<double>(num_models)));
  out.push_back(std::move(models));
  out.push_back(std::move(versions));
  out.push_back(std::move(inference));
  out.push_back(std::move(rows));
  out.push_back(std::move(inference_latency));
  MetricFamily failures =
      Family("modelserver_model_load_failures_total",
             "Model versions found in the model directory that could not be "
             "loaded.",
             MetricType::Counter);
  failures.metric.push_back(CounterOf(
      static_cast<double>(load_failures_.load(std::memory_order_relaxed))));
  out.push_back(std::move(failures));

  // ---- Training
  MetricFamily jobs_now =
      Family("modelserver_training_jobs",
             "Training jobs queued or running now.", MetricType::Gauge);
  MetricFamily epoch =
      Family("modelserver_training_job_epoch",
             "Last epoch reported by each running job.", MetricType::Gauge);
  MetricFamily loss = Family(
      "modelserver_training_job_loss",
      "Last loss reported by each running job, on the training data and on "
      "the validation split.",
      MetricType::Gauge);
  int64_t queued = 0, running = 0;
  if (const JobManager* jobs = jobs_.load(); jobs != nullptr) {
    for (const JobSnapshot& job : jobs->List()) {
      if (job.state == JobState::kQueued) ++queued;
      if (job.state != JobState::kRunning) continue;
      ++running;
      epoch.metric.push_back(
          GaugeOf(job.epoch, {{"job_id", job.id}, {"model", job.name}}));
      if (job.epoch > 0) {
        loss.metric.push_back(GaugeOf(
            job.train_loss,
            {{"job_id", job.id}, {"model", job.name}, {"split", "train"}}));
        loss.metric.push_back(GaugeOf(
            job.validation_loss,
            {{"job_id", job.id}, {"model", job.name}, {"split", "validation"}}));
      }
    }
  }
  jobs_now.metric.push_back(
      GaugeOf(static_cast<double>(queued), {{"state", "queued"}}));
  jobs_now.metric.push_back(
      GaugeOf(static_cast<double>(running), {{"state", "running"}}));
  out.push_back(std::move(jobs_now));
  MetricFamily finished =
      Family("modelserver_training_jobs_finished_total",
             "Training jobs that ended, by final state.", MetricType::Counter);
  constexpr std::array<const char*, 3> kFinal = {"succeeded", "failed",
                                                 "cancelled"};
  for (int i = 0; i < 3; ++i) {
    finished.metric.push_back(CounterOf(
        static_cast<double>(jobs_finished_[i].load(std::memory_order_relaxed)),
        {{"state", kFinal[i]}}));
  }
  out.push_back(std::move(finished));
  MetricFamily duration =
      Family("modelserver_training_job_duration_seconds",
             "Time from a job's start (not its queueing) to its end.",
             MetricType::Histogram);
  ClientMetric d;
  d.histogram = job_duration_.Snapshot();
  duration.metric.push_back(std::move(d));
  out.push_back(std::move(duration));
  MetricFamily ingested =
      Family("modelserver_training_rows_ingested_total",
             "Rows read by training jobs.", MetricType::Counter);
  ingested.metric.push_back(CounterOf(
      static_cast<double>(rows_ingested_.load(std::memory_order_relaxed))));
  out.push_back(std::move(ingested));
  if (!epoch.metric.empty()) out.push_back(std::move(epoch));
  if (!loss.metric.empty()) out.push_back(std::move(loss));

  // ---- Process and build
  CollectProcess(&out);
  MetricFamily build = Family(
      "modelserver_build_info",
      "Always 1; the labels describe the running build.", MetricType::Gauge);
  build.metric.push_back(GaugeOf(1, {{"compiler", __VERSION__},
                                     {"grpc_version", grpc::Version()},
                                     {"revision", MODELSERVER_GIT_REVISION},
                                     {"version", MODELSERVER_VERSION}}));
  out.push_back(std::move(build));
  return out;
}

RpcScope::RpcScope(Metrics* metrics, Rpc rpc)
    : metrics_(metrics), rpc_(rpc), start_nanos_(MonotonicNanos()) {
  if (metrics_ != nullptr) metrics_->RpcStarted(rpc_);
}

RpcScope::~RpcScope() {
  if (!finished_) {
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "handler did not finish"));
  }
}

grpc::Status RpcScope::Finish(grpc::Status status, absl::string_view model,
                              int64_t end_nanos) {
  if (finished_) return status;
  finished_ = true;
  const bool debug = LogEnabled(LogLevel::kDebug);
  const bool failed = !status.ok();
  if (metrics_ == nullptr && !debug && !failed) return status;
  const int64_t nanos =
      (end_nanos >= 0 ? end_nanos : MonotonicNanos()) - start_nanos_;
  if (metrics_ != nullptr)
    metrics_->RpcFinished(rpc_, status.error_code(), nanos);
  if (debug || failed) {
    // Server-side failures are errors. The client's mistakes are answered
    // (and counted by code), and logged at debug only: a line per bad
    // request would let any client flood the log, and costs about as much
    // CPU as the request itself.
    const grpc::StatusCode code = status.error_code();
    const bool server_fault = code == grpc::StatusCode::INTERNAL ||
                              code == grpc::StatusCode::UNKNOWN ||
                              code == grpc::StatusCode::DATA_LOSS;
    const LogLevel level = server_fault ? LogLevel::kError : LogLevel::kDebug;
    if (LogEnabled(level)) {
      const int c = static_cast<int>(code);
      Log(level, "rpc",
          {{"method", RpcName(rpc_)},
           {"code", CodeName(c >= 0 && c < 17 ? c : grpc::StatusCode::UNKNOWN)},
           {"model", model},
           {"duration_us", nanos / 1000},
           {"error", status.error_message()}});
    }
  }
  return status;
}

}  // namespace modelserver::server
