// File: server/server.h
// Server: the modelserver process minus its flags. Create() opens the model
// registry (versions that fail to load are logged and skipped), the upload
// store (<model-dir>/.uploads), the job manager, the metrics and their
// Prometheus endpoint (unless `metrics_listen` is empty), the REST endpoints
// of the Open Inference Protocol (unless `http_listen` is empty), and a gRPC
// server (TLS when options.tls is set) serving modelserver.v1.ModelService,
// inference.GRPCInferenceService, grpc.health.v1.Health (SERVING for "" and
// both services until shutdown begins) and server reflection, and starts
// listening.
//
// Thread-safety: port(), Wait() and Shutdown() may be called from any
// thread; Shutdown() is idempotent.
#ifndef MODELSERVER_SERVER_SERVER_H_
#define MODELSERVER_SERVER_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/jobs/job_manager.h"
#include "core/registry/model_registry.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/exposer.h"
#include "server/data_source.h"
#include "server/http_server.h"
#include "server/inference_service.h"
#include "server/auth.h"
#include "server/limits.h"
#include "server/tls.h"
#include "server/metrics.h"
#include "server/model_service.h"
#include "server/upload_store.h"

namespace modelserver::server {

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see Server::port()).
  std::string listen = "127.0.0.1:50051";
  // host:port of the Prometheus endpoint (GET /metrics); port 0 picks a
  // free port; empty = no endpoint and nothing counted.
  std::string metrics_listen = "127.0.0.1:9464";
  // host:port of the REST endpoints (/v2/...); port 0 picks a free port;
  // empty = no REST endpoints.
  std::string http_listen = "127.0.0.1:8080";
  int http_threads = 4;
  // gRPC keepalive: the server pings a connection idle for this long and
  // drops it when no answer comes within 20 s (0 = no pings).
  absl::Duration keepalive_time = absl::Seconds(60);
  // On Shutdown: how long health checks and readiness report NOT_SERVING
  // while every endpoint still serves, before the listeners close (lets a
  // load balancer take the replica out first).
  absl::Duration drain = absl::ZeroDuration();
  // How often the model directory is re-scanned for versions and labels
  // written by other replicas (zero = never).
  absl::Duration poll_interval = absl::Seconds(5);
  // Which versions are served: "latest:N", "all" or "V1,V2" (labelled
  // versions always are); see core/registry/model_registry.h.
  std::string serve_versions = "latest:1";
  // The model directory (created if needed).
  std::string model_dir = "./var/models";
  // Folder that Dataset.path is relative to; empty = path sources disabled.
  std::string data_dir;
  // Training jobs running at once, and waiting in the queue.
  int max_concurrent_trainings = 1;
  int max_queued_trainings = 64;
  // Threads each training job uses for its data-parallel passes (0 = every
  // core), and the nice value of training threads (0-19): serving threads
  // win when both want a core.
  int training_threads = 0;
  int training_niceness = 10;
  // Training checkpoints (docs/training.md): SGD/Adam jobs are kept in
  // <model_dir>/.jobs and resumed at start-up; a due checkpoint is taken
  // no sooner than this many seconds after the previous one (0 = at every
  // checkpoint_every_epochs). A read-only model directory turns them off.
  double checkpoint_min_seconds = 5;
  // Largest gRPC message received or sent, in bytes.
  int64_t max_message_bytes = 64 << 20;
  // Threads for synchronous gRPC calls: every ModelService method but Predict
  // (Predict and the Open Inference Protocol use gRPC's callback API and hold
  // no thread). A streaming call (Train, WatchJob, UploadDataset, Tune) holds
  // one while it lasts; beyond the cap gRPC answers new synchronous calls
  // RESOURCE_EXHAUSTED ("Server Threadpool Exhausted") instead of starting a
  // thread per call without bound. 0 = no cap.
  int max_rpc_threads = 256;
  // Largest UploadDataset upload, in bytes.
  int64_t max_upload_bytes = 2LL << 30;
  // Rows, columns, levels, hidden units and layers, epochs, prediction rows
  // (server/limits.h).
  Limits limits;
  // TLS for every listener (server/tls.h); off when tls.cert_file is empty.
  TlsOptions tls;
  // Bearer tokens and roles (server/auth.h); empty = no authentication.
  std::string auth_token_file;
  // The metrics endpoint asks for HTTP basic auth whose password is a token
  // of role metrics or admin (needs auth_token_file).
  bool metrics_require_token = false;
};

class Server {
 public:
  // INVALID_ARGUMENT for bad options; the registry's error when the model
  // directory is unusable; UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options);
  // Shutdown(absl::ZeroDuration()) if not done yet.
  ~Server();

  // The port actually bound.
  int port() const { return port_; }
  // `listen` with the port actually bound ("127.0.0.1:41234").
  const std::string& address() const { return address_; }
  // The metrics endpoint's port and address; 0 / "" when it is off.
  int metrics_port() const { return metrics_port_; }
  const std::string& metrics_address() const { return metrics_address_; }
  // The REST endpoints' port and address; 0 / "" when they are off.
  int http_port() const { return http_port_; }
  const std::string& http_address() const { return http_address_; }
  // Null when metrics are off.
  Metrics* metrics() { return metrics_.get(); }
  // What the registry loaded at startup.
  const ModelRegistry::LoadReport& load_report() const { return report_; }
  // Training jobs resumed from the journal at start-up.
  int jobs_resumed() const { return jobs_resumed_; }
  ModelRegistry& registry() { return *registry_; }

  // Blocks until the server has shut down.
  void Wait();
  // Marks the server not ready (health NOT_SERVING, ServerReady false),
  // waits `options.drain`, stops accepting RPCs, cancels training jobs (their streams end with
  // CANCELLED), lets in-flight RPCs finish for up to `grace` and then
  // cancels them. Returns when the server has stopped.
  void Shutdown(absl::Duration grace);

 private:
  Server() = default;
  // The poller thread's loop: Refresh, log and count what it found.
  void Poll();

  ServerOptions options_;
  ModelRegistry::LoadReport report_;
  // Declaration order = reverse destruction order: the job manager (whose
  // jobs use the registry and data source) and the gRPC server go first.
  // Metrics outlive everything that counts into them; the exposer, whose
  // scrapes read the registry and the job manager, goes first.
  std::shared_ptr<Metrics> metrics_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<CivetTls> civet_tls_;
  std::unique_ptr<ModelRegistry> registry_;
  std::unique_ptr<UploadStore> uploads_;
  std::unique_ptr<DataSource> data_;
  std::unique_ptr<JobJournal> journal_;  // null: no checkpoints
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<ModelServiceImpl> service_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<OipHandler> oip_;
  std::unique_ptr<InferenceServiceImpl> inference_service_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  // Re-scans the model directory every options_.poll_interval.
  absl::Notification stop_polling_;
  std::thread poller_;
  int port_ = 0;
  int jobs_resumed_ = 0;
  std::string address_;
  int metrics_port_ = 0;
  std::string metrics_address_;
  int http_port_ = 0;
  std::string http_address_;
  std::once_flag shutdown_once_;
};

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_SERVER_H_
