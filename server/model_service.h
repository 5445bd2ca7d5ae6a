// File: server/model_service.h
// ModelServiceImpl: modelserver.v1.ModelService. Predict is on gRPC's
// callback API and runs on gRPC's own threads with its request and response
// parsed into one protobuf arena (PredictArenaAllocator); the other RPCs,
// which may block for long (streams, whole datasets), are on the
// synchronous API. Handlers are thin: validate the request, call core
// (ModelRegistry, JobManager, Artifact), convert (server/proto_convert.h),
// map the status once (server/status_util.h), record (server/metrics.h).
// docs/api.md describes each RPC.
//
// Train validates the request (name, options, data source) before any job
// is created (INVALID_ARGUMENT), then queues a job that reads the data,
// trains and publishes the new version unless the job was cancelled. The
// stream carries the job's events; its final status is the job's (OK, or
// the failure's code such as INVALID_ARGUMENT or CANCELLED). If the client
// goes away the job continues (WatchJob re-attaches).
//
// Ownership: the registry, job manager, data source and metrics (null =
// not counted) are not owned and must outlive the service. Thread-safety: every handler may run
// concurrently.
#ifndef MODELSERVER_SERVER_MODEL_SERVICE_H_
#define MODELSERVER_SERVER_MODEL_SERVICE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "core/jobs/job_journal.h"
#include "core/jobs/job_manager.h"
#include "core/registry/model_registry.h"
#include "grpcpp/grpcpp.h"
#include "modelserver/v1/model_service.grpc.pb.h"
#include "server/arena_allocator.h"
#include "server/auth.h"
#include "server/data_source.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/upload_store.h"

namespace modelserver::server {

struct PersistedJob;  // model_service.cc

// Predict's request and response on one arena (server/arena_allocator.h).
using PredictArenaAllocator =
    ArenaAllocator<v1::PredictRequest, v1::PredictResponse>;

class ModelServiceImpl final
    : public v1::ModelService::WithCallbackMethod_Predict<
          v1::ModelService::Service> {
 public:
  // `training_threads`: TrainSpec::threads of every job (0 = every core).
  // `limits`: Train's epochs and hidden layers, Predict's rows and columns
  // (server/limits.h; datasets are held to them by `data`). `auth` (not
  // owned; null = no tokens): every RPC first checks the caller's token
  // for AccessOf(its Rpc) (server/auth.h).
  ModelServiceImpl(ModelRegistry* registry, JobManager* jobs,
                   UploadStore* uploads, const DataSource* data,
                   int training_threads = 0, Metrics* metrics = nullptr,
                   Limits limits = {}, const Authenticator* auth = nullptr);

  grpc::Status Train(grpc::ServerContext* context,
                     const v1::TrainRequest* request,
                     grpc::ServerWriter<v1::TrainEvent>* writer) override;
  grpc::Status UploadDataset(grpc::ServerContext* context,
                             grpc::ServerReader<v1::UploadChunk>* reader,
                             v1::UploadResponse* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context,
                        const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::TrainEvent>* writer) override;
  grpc::Status GetJob(grpc::ServerContext* context,
                      const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context,
                        const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context,
                         const v1::CancelJobRequest* request,
                         v1::Job* response) override;
  // Validates the request (name, the server's limits: --max-tune-trials and
  // the --max-* of each candidate, the search space, the data source) before
  // any job is created (INVALID_ARGUMENT), then queues a tune job
  // (JobManager::SubmitTune) that reads the data, runs the search
  // (core/tune), trains the best configuration on every row and publishes it
  // with the search in its metadata unless cancelled. Streams like Train.
  grpc::Status Tune(grpc::ServerContext* context,
                    const v1::TuneRequest* request,
                    grpc::ServerWriter<v1::TrainEvent>* writer) override;
  grpc::Status Evaluate(grpc::ServerContext* context,
                        const v1::EvaluateRequest* request,
                        v1::EvaluateResponse* response) override;
  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* context,
                                    const v1::PredictRequest* request,
                                    v1::PredictResponse* response) override;
  // The work of Predict, callable without gRPC (benchmarks, tests).
  grpc::Status DoPredict(const v1::PredictRequest& request,
                         v1::PredictResponse* response);
  grpc::Status ListModels(grpc::ServerContext* context,
                          const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status GetModel(grpc::ServerContext* context,
                        const v1::GetModelRequest* request,
                        v1::ModelInfo* response) override;
  grpc::Status DeleteModel(grpc::ServerContext* context,
                           const v1::DeleteModelRequest* request,
                           v1::DeleteModelResponse* response) override;
  grpc::Status SetLabel(grpc::ServerContext* context,
                        const v1::SetLabelRequest* request,
                        v1::ModelInfo* response) override;
  grpc::Status RemoveLabel(grpc::ServerContext* context,
                           const v1::RemoveLabelRequest* request,
                           v1::ModelInfo* response) override;

  // Checkpoints (docs/training.md, "Checkpoints and resuming"): with a
  // journal (not owned, must outlive the service; null = off), Train keeps
  // every SGD/Adam job whose checkpoint_every_epochs is not 0 in it (its
  // request, inline data included, and a hard link to an uploaded file),
  // with its checkpoints, taken no sooner than `min_seconds` apart; a job
  // that ends (succeeded, failed, cancelled) is removed from it. Call
  // before serving.
  void EnableCheckpoints(JobJournal* journal, double min_seconds);
  // Submits again the journal's unfinished jobs that no other process
  // holds: each gets a new job id, a JobResumed event after JobAccepted and
  // epochs from its checkpoint's on (from scratch, with a note, when the
  // checkpoint is missing or unusable); each is logged. Returns how many.
  // Call once, at start-up.
  int ResumeJobs();
  // The server is shutting down: the jobs it cancels from now on stay in
  // the journal and resume at the next start.
  void BeginShutdown();

  // How long one wait for job events lasts before the stream checks whether
  // the client is still there. Default 250 ms.
  static constexpr absl::Duration kEventPoll = absl::Milliseconds(250);

 private:
  // The version a request names: `label` when set (then `version` must be
  // 0), else `version` (0 = latest).
  absl::StatusOr<std::shared_ptr<const Artifact>> Resolve(
      const std::string& name, int64_t version, const std::string& label);
  // GetModel's answer: served version `version` of `name` (0 = every
  // served version), with the labels and the stored versions.
  absl::Status FillModelInfo(const std::string& name, int64_t version,
                             v1::ModelInfo* info);
  // Writes the events of job `job_id` from the first one until the job
  // ends; returns the job's final status (or CANCELLED if the client left).
  grpc::Status StreamJob(grpc::ServerContext* context,
                         const std::string& job_id,
                         grpc::ServerWriter<v1::TrainEvent>* writer);

  // The journal entry of a new Train request, or null (no journal, no
  // checkpoints for these options, or the entry cannot be written: logged).
  std::shared_ptr<PersistedJob> Persist(const v1::TrainRequest& request);
  absl::StatusOr<std::string> SubmitTrainJob(
      std::shared_ptr<const v1::TrainRequest> request,
      std::shared_ptr<PersistedJob> persisted, SubmitOptions options);
  // The served version of `name` trained by the journal entry `job_uid`
  // (ModelMetadata::job_uid), or 0.
  int64_t PublishedVersionOf(const std::string& name,
                             const std::string& job_uid);

  ModelRegistry* registry_;
  JobManager* jobs_;
  JobJournal* journal_ = nullptr;
  double checkpoint_min_seconds_ = 0;
  std::shared_ptr<std::atomic<bool>> stopping_ =
      std::make_shared<std::atomic<bool>>(false);
  UploadStore* uploads_;
  const DataSource* data_;
  const int training_threads_;
  Metrics* const metrics_;
  const Limits limits_;
  const Authenticator* const auth_;
  PredictArenaAllocator predict_allocator_;
};

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_MODEL_SERVICE_H_
