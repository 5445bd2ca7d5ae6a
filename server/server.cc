#include "server/server.h"

#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "core/util/status_macros.h"
#include "server/log.h"

namespace modelserver::server {
namespace {

// The names grpc.health.v1.Health answers for ("" = the whole server).
constexpr const char* kHealthServices[] = {
    "", "modelserver.v1.ModelService", "inference.GRPCInferenceService"};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  if (options.listen.empty()) {
    return absl::InvalidArgumentError("listen address is empty");
  }
  if (options.max_message_bytes < 1024 ||
      options.max_message_bytes > (int64_t{1} << 31) - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max message bytes must be in [1024, 2147483647], got ",
                     options.max_message_bytes));
  }
  auto server = std::unique_ptr<Server>(new Server());
  server->options_ = options;
  std::optional<TlsMaterial> tls;
  if (options.tls.enabled() || !options.tls.key_file.empty() ||
      !options.tls.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(tls, LoadTls(options.tls));
    ASSIGN_OR_RETURN(server->civet_tls_, CivetTls::Create(*tls));
  }
  if (!options.auth_token_file.empty()) {
    ASSIGN_OR_RETURN(server->auth_,
                     Authenticator::Load(options.auth_token_file));
  } else if (options.metrics_require_token) {
    return absl::InvalidArgumentError(
        "--metrics-require-token needs --auth-token-file");
  }
  const Authenticator* auth = server->auth_.get();
  Metrics* metrics = nullptr;
  if (!options.metrics_listen.empty()) {
    server->metrics_ = std::make_shared<Metrics>(nullptr, nullptr);
    metrics = server->metrics_.get();
  }
  if (options.poll_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("poll interval must be >= 0");
  }
  ASSIGN_OR_RETURN(VersionPolicy policy,
                   ParseVersionPolicy(options.serve_versions));
  ASSIGN_OR_RETURN(server->registry_,
                   ModelRegistry::Open(options.model_dir, &server->report_,
                                       std::move(policy)));
  for (const absl::Status& failure : server->report_.failures) {
    Log(LogLevel::kWarning, "skipped a model version that cannot be loaded",
        {{"error", failure.ToString()}});
  }
  if (metrics != nullptr) {
    metrics->AddModelLoadFailures(
        static_cast<int64_t>(server->report_.failures.size()));
  }
  UploadStore::Options upload_options;
  upload_options.dir = absl::StrCat(options.model_dir, "/.uploads");
  upload_options.max_bytes = options.max_upload_bytes;
  ASSIGN_OR_RETURN(server->uploads_, UploadStore::Create(upload_options));
  server->data_ =
      std::make_unique<DataSource>(options.data_dir, server->uploads_.get(),
                                   options.limits);
  JobManager::Options job_options;
  job_options.max_concurrent = options.max_concurrent_trainings;
  job_options.thread_niceness = options.training_niceness;
  job_options.max_queued = options.max_queued_trainings;
  job_options.on_finish = [metrics](const JobSnapshot& job) {
    if (metrics != nullptr) metrics->JobFinished(job);
    const double seconds =
        job.started_unix_micros > 0
            ? (job.finished_unix_micros - job.started_unix_micros) * 1e-6
            : 0.0;
    Log(job.state == JobState::kFailed ? LogLevel::kWarning : LogLevel::kInfo,
        "training job finished",
        {{"job", job.id},
         {"model", job.name},
         {"state", JobStateName(job.state)},
         {"version", job.version},
         {"epochs", job.epoch},
         {"seconds", seconds},
         {"error", job.error.ok() ? "" : job.error.ToString()}});
  };
  ASSIGN_OR_RETURN(server->jobs_, JobManager::Create(job_options));
  if (metrics != nullptr) {
    metrics->SetSources(server->registry_.get(), server->jobs_.get());
  }
  server->service_ = std::make_unique<ModelServiceImpl>(
      server->registry_.get(), server->jobs_.get(), server->uploads_.get(),
      server->data_.get(), options.training_threads, metrics, options.limits,
      auth);
  if (options.checkpoint_min_seconds < 0) {
    return absl::InvalidArgumentError(
        "checkpoint min seconds must be >= 0");
  }
  absl::StatusOr<std::unique_ptr<JobJournal>> journal =
      JobJournal::Open(absl::StrCat(options.model_dir, "/.jobs"));
  if (journal.ok() && ::access(options.model_dir.c_str(), W_OK) == 0) {
    server->journal_ = *std::move(journal);
    server->service_->EnableCheckpoints(server->journal_.get(),
                                        options.checkpoint_min_seconds);
    server->jobs_resumed_ = server->service_->ResumeJobs();
  } else {
    // A read-only model directory is already reported (by the upload
    // store, as a warning): this is its consequence.
    const bool read_only =
        journal.ok() || absl::IsFailedPrecondition(journal.status());
    Log(read_only ? LogLevel::kInfo : LogLevel::kWarning,
        "training checkpoints are off: the job journal cannot be written",
        {{"error", journal.ok() ? "not writable" : journal.status().ToString()}});
  }

  if (metrics != nullptr) {
    // civetweb (inside prometheus-cpp) throws when it cannot bind.
    std::vector<std::string> civet_options = {
        "listening_ports",
        tls ? CivetTls::Listen(options.metrics_listen) : options.metrics_listen,
        "num_threads", "2"};
    if (tls) {
      for (std::string& o : server->civet_tls_->Options()) {
        civet_options.push_back(std::move(o));
      }
    }
    try {
      server->exposer_ =
          std::make_unique<prometheus::Exposer>(std::move(civet_options));
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on '", options.metrics_listen,
                       "': ", e.what()));
    }
    server->exposer_->RegisterCollectable(server->metrics_);
    if (options.metrics_require_token) {
      server->exposer_->RegisterAuth(
          [auth](const std::string& /*user*/, const std::string& password) {
            return auth->CheckToken(password, Access::kMetrics, "GET /metrics")
                .ok();
          },
          "modelserver metrics");
    }
    const std::vector<int> ports = server->exposer_->GetListeningPorts();
    server->metrics_port_ = ports.empty() ? 0 : ports.front();
    server->metrics_address_ =
        absl::StrCat(HostOf(options.metrics_listen), ":", server->metrics_port_);
  }

  server->oip_ = std::make_unique<OipHandler>(
      server->registry_.get(), &server->ready_, metrics, options.limits);
  server->inference_service_ = std::make_unique<InferenceServiceImpl>(
      server->oip_.get(), metrics, auth);
  if (!options.http_listen.empty()) {
    HttpOptions http;
    http.listen = options.http_listen;
    http.threads = options.http_threads;
    http.max_body_bytes = options.max_message_bytes;
    http.tls = server->civet_tls_.get();
    http.auth = auth;
    ASSIGN_OR_RETURN(server->http_,
                     HttpServer::Create(http, server->oip_.get(), metrics));
    server->http_port_ = server->http_->port();
    server->http_address_ =
        absl::StrCat(HostOf(options.http_listen), ":", server->http_port_);
  }

  // Process-wide switches; both must be set before a server is built.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen,
                           GrpcServerCredentials(tls ? &*tls : nullptr),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(options.max_message_bytes));
  if (options.max_rpc_threads > 0) {
    grpc::ResourceQuota quota("modelserver");
    quota.SetMaxThreads(options.max_rpc_threads);
    builder.SetResourceQuota(quota);
  }
  // Keepalive (docs/operations.md): clients may ping every 10 s, also
  // without calls in flight; the server pings idle connections.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options.keepalive_time > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_KEEPALIVE_TIME_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  }
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->inference_service_.get());
  server->grpc_server_ = builder.BuildAndStart();
  if (server->grpc_server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on '", options.listen, "'"));
  }
  server->address_ =
      absl::StrCat(HostOf(options.listen), ":", server->port_);
  grpc::HealthCheckServiceInterface* health =
      server->grpc_server_->GetHealthCheckService();
  for (const char* service : kHealthServices) {
    health->SetServingStatus(service, true);
  }
  server->ready_.store(true, std::memory_order_release);
  if (options.poll_interval > absl::ZeroDuration()) {
    Server* s = server.get();
    s->poller_ = std::thread([s] { s->Poll(); });
  }
  return server;
}

Server::~Server() {
  Shutdown(absl::ZeroDuration());
  if (exposer_ != nullptr) {
    StopWakingListener([this] { exposer_.reset(); },
                       HostOf(options_.metrics_listen), metrics_port_);
  }
}

void Server::Wait() {
  if (grpc_server_ != nullptr) grpc_server_->Wait();
}

void Server::Poll() {
  while (!stop_polling_.WaitForNotificationWithTimeout(options_.poll_interval)) {
    ModelRegistry::LoadReport report;
    absl::Status s = registry_->Refresh(&report);
    if (!s.ok()) {
      Log(LogLevel::kWarning, "cannot re-scan the model directory",
          {{"error", s.ToString()}});
      continue;
    }
    for (const absl::Status& failure : report.failures) {
      Log(LogLevel::kWarning, "skipped a model version that cannot be loaded",
          {{"error", failure.ToString()}});
    }
    if (metrics_ != nullptr) {
      metrics_->AddModelLoadFailures(
          static_cast<int64_t>(report.failures.size()));
    }
    if (report.loaded > 0 || report.removed > 0) {
      Log(LogLevel::kInfo, "model directory re-scanned",
          {{"loaded", report.loaded}, {"unloaded", report.removed}});
    }
  }
}

void Server::Shutdown(absl::Duration grace) {
  std::call_once(shutdown_once_, [this, grace] {
    if (poller_.joinable()) {
      stop_polling_.Notify();
      poller_.join();
    }
    ready_.store(false, std::memory_order_release);
    // Jobs cancelled by the shutdown stay in the journal.
    if (service_ != nullptr) service_->BeginShutdown();
    if (grpc_server_ != nullptr) {
      // Every service NOT_SERVING, and no later change.
      grpc_server_->GetHealthCheckService()->Shutdown();
    }
    if (options_.drain > absl::ZeroDuration()) absl::SleepFor(options_.drain);
    const auto deadline =
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(absl::ToInt64Milliseconds(grace));
    // The gRPC shutdown waits for in-flight RPCs; Train/WatchJob streams
    // end once their job does, so cancel the jobs concurrently.
    std::thread stop_rpcs([this, deadline] {
      if (grpc_server_ != nullptr) grpc_server_->Shutdown(deadline);
    });
    if (jobs_ != nullptr) jobs_->Shutdown(/*cancel_running=*/true);
    http_.reset();  // waits for the REST handlers that run
    stop_rpcs.join();
  });
}

}  // namespace modelserver::server
