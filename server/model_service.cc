#include "server/model_service.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/artifact/artifact.h"
#include "core/artifact/model_store.h"
#include "core/eval/gate.h"
#include "core/train/checkpoint.h"
#include "core/train/holdout.h"
#include "core/train/trainer.h"
#include "core/util/status_macros.h"
#include "server/explain_convert.h"
#include "server/log.h"
#include "server/proto_convert.h"
#include "server/status_util.h"
#include "server/tune_convert.h"

namespace modelserver::server {
namespace {

absl::Status CheckName(const std::string& name) {
  absl::Status s = ValidateModelName(name);
  if (s.ok()) return s;
  return absl::InvalidArgumentError(absl::StrCat("name: ", s.message()));
}

absl::Status CheckVersion(int64_t version, absl::string_view zero_means) {
  if (version >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "version: must be >= 0 (0 = ", zero_means, "), got ", version));
}

absl::Status CheckJobId(const std::string& id) {
  if (!id.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError("job_id is empty");
}

// The model's input columns and its target, as forced CSV/row types.
ColumnTypes SchemaTypesWithTarget(const Artifact& artifact) {
  ColumnTypes types = artifact.input_types();
  types[artifact.metadata().target] = artifact.metadata().target_type;
  return types;
}

// Whether a TrainRequest asks for a promotion gate.
bool HasGate(const v1::TrainRequest& r) {
  return r.gate().conditions_size() > 0 || !r.gate().better_than_label().empty();
}

// What the request's options say about the task before the data is read.
GateTask GateTaskOf(const v1::TrainOptions& o) {
  if (o.task() == v1::TASK_REGRESSION || o.model() == v1::MODEL_TYPE_LINEAR) {
    return GateTask::kRegression;
  }
  if (o.task() == v1::TASK_CLASSIFICATION ||
      o.model() == v1::MODEL_TYPE_LOGISTIC) {
    return GateTask::kClassification;
  }
  return GateTask::kUnknown;
}

// The promotion fields of a TrainRequest (holdout, holdout_fraction, gate,
// promote_label), checked before a job is created.
absl::Status CheckPromotion(const v1::TrainRequest& r, const DataSource& data,
                            const ModelRegistry& registry) {
  const bool gate = HasGate(r);
  if (r.has_holdout() && r.holdout_fraction() != 0) {
    return absl::InvalidArgumentError(
        "holdout and holdout_fraction: set one, not both");
  }
  if (r.holdout_fraction() != 0 &&
      !(r.holdout_fraction() > 0 && r.holdout_fraction() <= 0.9)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "holdout_fraction: must be in (0, 0.9], got ", r.holdout_fraction()));
  }
  if (!gate) {
    if (r.has_holdout() || r.holdout_fraction() != 0) {
      return absl::InvalidArgumentError(
          "holdout: the holdout rows are only used by a gate; set gate too");
    }
    if (!r.promote_label().empty()) {
      return absl::InvalidArgumentError(
          "promote_label: a label is only set by a gate; set gate too");
    }
    if (!r.gate().compare_metric().empty()) {
      return absl::InvalidArgumentError(
          "gate.compare_metric: goes with gate.better_than_label, which is "
          "not set");
    }
    return absl::OkStatus();
  }
  if (!r.has_holdout() && r.holdout_fraction() == 0) {
    return absl::InvalidArgumentError(
        "gate: needs holdout rows: set holdout (a dataset) or "
        "holdout_fraction");
  }
  if (r.promote_label().empty()) {
    return absl::InvalidArgumentError(
        "promote_label: required with a gate (the label the new version "
        "gets when it passes)");
  }
  absl::Status label = ValidateLabel(r.promote_label());
  if (!label.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("promote_label: ", label.message()));
  }
  ASSIGN_OR_RETURN(GateSpec spec, GateSpecFromProto(r.gate()));
  RETURN_IF_ERROR(ValidateGate(spec, GateTaskOf(r.options()), "gate"));
  if (!spec.better_than_label.empty()) {
    const std::map<std::string, int64_t> labels = registry.Labels(r.name());
    if (labels.count(spec.better_than_label) == 0) {
      std::vector<std::string> names;
      for (const auto& [l, v] : labels) names.push_back(l);
      return absl::InvalidArgumentError(absl::StrCat(
          "gate.better_than_label: model '", r.name(),
          "' has no version labelled '", spec.better_than_label, "' (",
          names.empty() ? std::string("it has no labels")
                        : absl::StrCat("its labels: ",
                                       absl::StrJoin(names, ", ")),
          ")"));
    }
  }
  if (r.has_holdout()) {
    absl::Status s = data.Check(r.holdout());
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("holdout: ", s.message()));
    }
  }
  return absl::OkStatus();
}

// The holdout rows of a gated request: `holdout` loaded with the training
// table's column types, or split off `*table` (which keeps the rest).
absl::StatusOr<Table> LoadHoldout(const v1::TrainRequest& r,
                                  const DataSource& data,
                                  const TrainSpec& spec, Table* table) {
  if (r.holdout_fraction() > 0) {
    ASSIGN_OR_RETURN(HoldoutSplit split,
                     SplitHoldout(*table, spec.target, spec.kind,
                                  r.holdout_fraction(), spec.seed));
    *table = std::move(split.train);
    return std::move(split.holdout);
  }
  ColumnTypes types;
  for (const Column& c : table->columns()) types[c.name()] = c.type();
  absl::StatusOr<Table> holdout = data.Load(r.holdout(), types);
  if (!holdout.ok()) {
    return absl::Status(holdout.status().code(),
                        absl::StrCat("holdout: ", holdout.status().message()));
  }
  return holdout;
}

// Scores the new version (and the baseline, for better_than_label) on the
// holdout and returns the gate's verdict. INVALID_ARGUMENT ("holdout: ...")
// when the new version cannot be scored on the holdout rows.
absl::StatusOr<GateResult> RunGate(const v1::TrainRequest& r,
                                   const ModelRegistry& registry,
                                   const TrainSpec& spec,
                                   const Artifact& candidate,
                                   const Table& holdout) {
  ASSIGN_OR_RETURN(GateSpec gate, GateSpecFromProto(r.gate()));
  const bool classifier = IsClassifier(spec.kind);
  absl::Status valid = ValidateGate(
      gate,
      classifier ? GateTask::kClassification : GateTask::kRegression, "gate");
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        valid.message(), " (the model is ", ModelKindName(spec.kind), ")"));
  }
  absl::StatusOr<Evaluation> scored = candidate.Evaluate(holdout);
  if (!scored.ok()) {
    return absl::Status(scored.status().code(),
                        absl::StrCat("holdout: ", scored.status().message()));
  }
  std::optional<GateBaseline> baseline;
  if (!gate.better_than_label.empty()) {
    absl::StatusOr<std::shared_ptr<const Artifact>> labelled =
        registry.GetLabeled(r.name(), gate.better_than_label);
    if (labelled.ok()) {
      baseline.emplace();
      baseline->version = (*labelled)->metadata().version;
      absl::StatusOr<Evaluation> b = (*labelled)->Evaluate(holdout);
      if (b.ok()) {
        baseline->metrics = b->metrics;
      } else {
        baseline->error = b.status();
      }
    } else if (!absl::IsNotFound(labelled.status())) {
      baseline.emplace();
      baseline->error = labelled.status();
    }
  }
  GateResult result =
      EvaluateGate(gate, classifier, scored->metrics, baseline);
  result.holdout_rows = scored->rows_used;
  return result;
}

}  // namespace

// A job kept in the journal (docs/training.md, "Checkpoints and resuming").
// Shared by the job function and its commit step; when the last of them
// lets go, the job's files are deleted unless the server is shutting down
// and the job did not end by itself (then it resumes at the next start).
struct PersistedJob {
  ~PersistedJob() {
    if (done.load() || !stopping->load()) entry->Finish();
  }
  std::unique_ptr<JobJournal::Entry> entry;
  std::shared_ptr<const std::atomic<bool>> stopping;
  JobManager* jobs = nullptr;
  int every_epochs = 0;
  double min_seconds = 0;
  std::string resume;     // checkpoint bytes to continue from
  std::string data_path;  // the kept upload ("" = read request->data())
  std::atomic<bool> done{false};  // succeeded or failed on its own
  absl::Mutex mu;
  std::string job_id ABSL_GUARDED_BY(mu);  // set once submitted
};

namespace {

// The type of the target column `name` of `table` (Train and Tune read
// their options with it); INVALID_ARGUMENT naming options.target and the
// columns the data has when there is no such column.
absl::StatusOr<ColumnType> TargetType(const Table& table,
                                      const std::string& name) {
  const Column* target = table.Find(name);
  if (target == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.target: column '", name,
                     "' is not in the data; the columns are: ",
                     absl::StrJoin(table.column_names(), ", ")));
  }
  return target->type();
}

// The body of a training job: read the data, train, publish. Runs on a
// JobManager thread; the request is shared with the job.
absl::StatusOr<JobOutcome> TrainJobBody(
    const std::shared_ptr<const v1::TrainRequest>& request,
    ModelRegistry* registry, const DataSource* data, int threads,
    Metrics* metrics, const ProgressCallback& progress,
    const std::shared_ptr<PersistedJob>& persisted) {
  CheckpointOptions checkpoints;
  if (persisted != nullptr) {
    checkpoints.every_epochs = persisted->every_epochs;
    checkpoints.min_seconds = persisted->min_seconds;
    checkpoints.resume = persisted->resume;
    PersistedJob* p = persisted.get();
    checkpoints.save = [p](std::string bytes, int epoch) {
      absl::Status saved = p->entry->SaveCheckpoint(bytes);
      std::string id;
      {
        absl::MutexLock lock(&p->mu);
        id = p->job_id;
      }
      if (saved.ok()) {
        p->jobs->RecordCheckpoint(id, epoch);
        return;
      }
      Log(LogLevel::kWarning, "cannot save a training checkpoint",
          {{"job", id}, {"epoch", epoch}, {"error", saved.ToString()}});
    };
  }
  ASSIGN_OR_RETURN(Table table,
                   persisted != nullptr && !persisted->data_path.empty()
                       ? data->LoadCsvFile(persisted->data_path,
                                           request->data())
                       : data->Load(request->data()));
  if (metrics != nullptr) metrics->AddRowsIngested(table.num_rows());
  ASSIGN_OR_RETURN(const ColumnType target_type,
                   TargetType(table, request->options().target()));
  ASSIGN_OR_RETURN(TrainSpec spec,
                   TrainSpecFromProto(request->options(), target_type));
  spec.threads = threads;
  std::optional<Table> holdout;
  if (HasGate(*request)) {
    ASSIGN_OR_RETURN(holdout, LoadHoldout(*request, *data, spec, &table));
  }
  ASSIGN_OR_RETURN(TrainResult result,
                   Train(std::move(table), spec, progress, checkpoints));
  JobOutcome outcome;
  outcome.rows_oversampled = result.rows_oversampled;
  outcome.rows_augmented = result.rows_augmented;
  outcome.name = request->name();
  outcome.train_metrics = result.train_metrics;
  outcome.validation_metrics = result.validation_metrics;
  outcome.epochs = result.epochs_run;
  outcome.early_stopped = result.early_stopped;
  outcome.training_seconds = result.training_seconds;
  outcome.rows_train = result.rows_train;
  outcome.rows_validation = result.rows_validation;
  outcome.rows_dropped = result.rows_dropped;
  // Published by the JobManager only if the job was not cancelled by then:
  // a cancelled job leaves no version, even if training had just finished.
  auto artifact = std::make_shared<Artifact>(
      Artifact::FromTrainResult(std::move(result), request->name(), 0));
  // Lets a server that finds the job again after a crash between the save
  // and the journal's removal see that it already published.
  if (persisted != nullptr) {
    artifact->mutable_metadata().job_uid = persisted->entry->uid();
  }
  if (holdout.has_value()) {
    ASSIGN_OR_RETURN(GateResult gate,
                     RunGate(*request, *registry, spec, *artifact, *holdout));
    artifact->mutable_metadata().gate = gate;
    outcome.gate = std::make_shared<GateResult>(std::move(gate));
  }
  // The version is published whether the gate passed or not; the label
  // moves only when it passed.
  outcome.commit = [registry, artifact, name = request->name(),
                    gate = outcome.gate, persisted,
                    label = request->promote_label()]() -> absl::StatusOr<int64_t> {
    absl::StatusOr<int64_t> published =
        registry->Publish(name, std::move(*artifact));
    if (persisted != nullptr) {
      // Published or failed for good: nothing to resume.
      persisted->done = true;
      persisted->entry->Finish();
    }
    ASSIGN_OR_RETURN(int64_t version, std::move(published));
    if (gate != nullptr && gate->passed) {
      absl::Status set = registry->SetLabel(name, label, version);
      if (set.ok()) {
        gate->promoted_label = label;
      } else {
        absl::StrAppend(&gate->reason, "; but label '", label,
                        "' could not be set: ", set.message());
      }
    }
    return version;
  };
  return outcome;
}

// TrainJobBody, and the journal's bookkeeping: a job cancelled by the
// server's shutdown stays in the journal; any other end is final.
absl::StatusOr<JobOutcome> RunTrainJob(
    const std::shared_ptr<const v1::TrainRequest>& request,
    ModelRegistry* registry, const DataSource* data, int threads,
    Metrics* metrics, const ProgressCallback& progress,
    const std::shared_ptr<PersistedJob>& persisted) {
  absl::StatusOr<JobOutcome> outcome = TrainJobBody(
      request, registry, data, threads, metrics, progress, persisted);
  if (persisted != nullptr && !outcome.ok() &&
      !(absl::IsCancelled(outcome.status()) && persisted->stopping->load())) {
    persisted->done = true;
  }
  return outcome;
}

// The body of a tune job: read the data, search, train the best on every
// row, publish it with the search's results in its metadata.
absl::StatusOr<JobOutcome> RunTuneJob(
    const std::shared_ptr<const v1::TuneRequest>& request,
    ModelRegistry* registry, const DataSource* data, int threads,
    Metrics* metrics, const JobReporter& reporter) {
  ASSIGN_OR_RETURN(Table table, data->Load(request->data()));
  if (metrics != nullptr) metrics->AddRowsIngested(table.num_rows());
  ASSIGN_OR_RETURN(const ColumnType target_type,
                   TargetType(table, request->options().target()));
  ASSIGN_OR_RETURN(TuneOptions options,
                   TuneOptionsFromProto(*request, target_type));
  options.base.threads = threads;
  TuneCallbacks callbacks;
  callbacks.trial = reporter.trial;
  callbacks.search_done = reporter.search_done;
  callbacks.epoch = reporter.epoch;
  callbacks.should_stop = reporter.cancelled;
  ASSIGN_OR_RETURN(TuneResult result, modelserver::Tune(table, options,
                                                        callbacks));
  const TrainResult& trained = result.model;
  JobOutcome outcome;
  outcome.name = request->name();
  outcome.train_metrics = trained.train_metrics;
  outcome.validation_metrics = trained.validation_metrics;
  outcome.epochs = trained.epochs_run;
  outcome.early_stopped = trained.early_stopped;
  outcome.training_seconds = trained.training_seconds;
  outcome.rows_train = trained.rows_train;
  outcome.rows_validation = trained.rows_validation;
  outcome.rows_dropped = trained.rows_dropped;
  auto artifact = std::make_shared<Artifact>(
      Artifact::FromTrainResult(std::move(result.model), request->name(), 0));
  artifact->mutable_metadata().tuning = std::move(result.summary);
  outcome.commit = [registry, artifact, name = request->name()] {
    return registry->Publish(name, std::move(*artifact));
  };
  return outcome;
}

// Rows answered by a PredictResponse, in either form.
int64_t rows_predicted(const v1::PredictResponse& r) {
  return r.predictions_size() + r.values_size() + r.label_indices_size();
}

// Runs a synchronous handler's body and counts the RPC.
// Counts the call, checks its token (server/auth.h), then runs `body`.
template <typename Body>
grpc::Status Counted(Metrics* metrics, const Authenticator* auth,
                     const grpc::ServerContextBase& context, Rpc rpc,
                     absl::string_view model, Body&& body) {
  RpcScope scope(metrics, rpc);
  absl::Status allowed = Authorize(auth, context, rpc);
  if (!allowed.ok()) return scope.Finish(ToGrpcStatus(allowed), model);
  return scope.Finish(body(), model);
}

}  // namespace

ModelServiceImpl::ModelServiceImpl(ModelRegistry* registry, JobManager* jobs,
                                   UploadStore* uploads, const DataSource* data,
                                   int training_threads, Metrics* metrics,
                                   Limits limits, const Authenticator* auth)
    : registry_(registry),
      jobs_(jobs),
      uploads_(uploads),
      data_(data),
      training_threads_(training_threads),
      metrics_(metrics),
      limits_(limits),
      auth_(auth) {
  SetMessageAllocatorFor_Predict(&predict_allocator_);
}

grpc::Status ModelServiceImpl::StreamJob(
    grpc::ServerContext* context, const std::string& job_id,
    grpc::ServerWriter<v1::TrainEvent>* writer) {
  absl::StatusOr<JobSnapshot> job = jobs_->Get(job_id);
  if (!job.ok()) return ToGrpcStatus(job.status());
  const std::string name = job->name;
  const grpc::Status client_left(
      grpc::StatusCode::CANCELLED,
      "the client stopped listening; the job continues (see WatchJob)");
  grpc::Status final_status = grpc::Status::OK;
  size_t next = 0;
  while (true) {
    if (context->IsCancelled()) return client_left;
    bool done = false;
    absl::StatusOr<std::vector<JobEvent>> events =
        jobs_->WaitEvents(job_id, next, absl::Now() + kEventPoll, &done);
    if (!events.ok()) return ToGrpcStatus(events.status());
    for (const JobEvent& event : *events) {
      ++next;
      if (event.type == JobEvent::Type::kFailed) {
        final_status = ToGrpcStatus(event.error);
      }
      if (!writer->Write(TrainEventToProto(job_id, name, event))) {
        return client_left;
      }
    }
    if (done) return final_status;
  }
}

grpc::Status ModelServiceImpl::Train(
    grpc::ServerContext* context, const v1::TrainRequest* request,
    grpc::ServerWriter<v1::TrainEvent>* writer) {
  return Counted(metrics_, auth_, *context, Rpc::kTrain, request->name(), [&]() -> grpc::Status {
    absl::Status valid = CheckName(request->name());
    // The server's limits first: their message names the flag.
    if (valid.ok()) valid = CheckTrainLimits(request->options(), limits_);
    if (valid.ok()) valid = ValidateTrainOptions(request->options());
    if (valid.ok() && !request->has_data()) {
      valid = absl::InvalidArgumentError(
          "data: no source set (one of rows, csv, upload_id, path)");
    }
    if (valid.ok()) valid = data_->Check(request->data());
    if (valid.ok()) valid = CheckPromotion(*request, *data_, *registry_);
    if (!valid.ok()) return ToGrpcStatus(valid);

    auto shared = std::make_shared<const v1::TrainRequest>(*request);
    absl::StatusOr<std::string> job_id =
        SubmitTrainJob(shared, Persist(*request), SubmitOptions());
    if (!job_id.ok()) return ToGrpcStatus(job_id.status());
    return StreamJob(context, *job_id, writer);
  });
}

void ModelServiceImpl::EnableCheckpoints(JobJournal* journal,
                                         double min_seconds) {
  journal_ = journal;
  checkpoint_min_seconds_ = min_seconds;
}

void ModelServiceImpl::BeginShutdown() { stopping_->store(true); }

std::shared_ptr<PersistedJob> ModelServiceImpl::Persist(
    const v1::TrainRequest& request) {
  const int every = CheckpointEveryEpochs(request.options());
  if (journal_ == nullptr || every <= 0) return nullptr;
  std::string data_file;
  if (request.data().source_case() == v1::Dataset::kUploadId) {
    absl::StatusOr<std::string> path =
        uploads_->PathOf(request.data().upload_id());
    if (path.ok()) data_file = *std::move(path);
  }
  absl::StatusOr<std::unique_ptr<JobJournal::Entry>> entry =
      journal_->Create(request.SerializeAsString(), data_file);
  if (!entry.ok()) {
    Log(LogLevel::kWarning,
        "training job not kept in the journal: it will not resume after a "
        "restart",
        {{"model", request.name()}, {"error", entry.status().ToString()}});
    return nullptr;
  }
  auto persisted = std::make_shared<PersistedJob>();
  persisted->entry = *std::move(entry);
  persisted->stopping = stopping_;
  persisted->jobs = jobs_;
  persisted->every_epochs = every;
  persisted->min_seconds = checkpoint_min_seconds_;
  persisted->data_path = persisted->entry->data_path();
  return persisted;
}

absl::StatusOr<std::string> ModelServiceImpl::SubmitTrainJob(
    std::shared_ptr<const v1::TrainRequest> request,
    std::shared_ptr<PersistedJob> persisted, SubmitOptions options) {
  ModelRegistry* registry = registry_;
  const DataSource* data = data_;
  const int threads = training_threads_;
  Metrics* metrics = metrics_;
  absl::StatusOr<std::string> job_id = jobs_->Submit(
      request->name(),
      [request, registry, data, threads, metrics,
       persisted](const ProgressCallback& p) {
        return RunTrainJob(request, registry, data, threads, metrics, p,
                           persisted);
      },
      std::move(options));
  if (job_id.ok() && persisted != nullptr) {
    absl::MutexLock lock(&persisted->mu);
    persisted->job_id = *job_id;
  }
  return job_id;
}

int64_t ModelServiceImpl::PublishedVersionOf(const std::string& name,
                                             const std::string& job_uid) {
  absl::StatusOr<std::vector<std::shared_ptr<const Artifact>>> served =
      registry_->GetAll(name);
  if (!served.ok()) return 0;
  for (const std::shared_ptr<const Artifact>& a : *served) {
    if (a->metadata().job_uid == job_uid) return a->metadata().version;
  }
  return 0;
}

int ModelServiceImpl::ResumeJobs() {
  if (journal_ == nullptr) return 0;
  std::vector<absl::Status> errors;
  std::vector<JobJournal::Claimed> claimed = journal_->ClaimUnfinished(&errors);
  for (const absl::Status& e : errors) {
    Log(LogLevel::kWarning, "cannot resume a training job",
        {{"error", e.ToString()}});
  }
  int resumed = 0;
  for (JobJournal::Claimed& c : claimed) {
    const std::string uid = c.entry->uid();
    auto request = std::make_shared<v1::TrainRequest>();
    absl::Status valid = absl::OkStatus();
    if (!request->ParseFromString(c.request)) {
      valid = absl::DataLossError("its request file cannot be parsed");
    }
    if (valid.ok()) valid = CheckName(request->name());
    if (valid.ok()) valid = ValidateTrainOptions(request->options());
    if (!valid.ok()) {
      Log(LogLevel::kWarning, "cannot resume a training job; dropped",
          {{"journal_entry", uid}, {"error", valid.ToString()}});
      c.entry->Finish();
      continue;
    }
    // Already published (a crash between the version's save and the
    // journal's removal): nothing to resume.
    if (const int64_t published = PublishedVersionOf(request->name(), uid);
        published > 0) {
      Log(LogLevel::kInfo,
          "training job had already published its version; removed from "
          "the journal",
          {{"model", request->name()},
           {"journal_entry", uid},
           {"version", published}});
      c.entry->Finish();
      continue;
    }
    SubmitOptions options;
    options.resumed = true;
    std::string resume;
    absl::StatusOr<std::string> bytes = c.entry->LoadCheckpoint();
    if (bytes.ok()) {
      absl::StatusOr<TrainingCheckpoint> checkpoint =
          DecodeTrainingCheckpoint(*bytes);
      if (checkpoint.ok()) {
        options.resumed_from_epoch = checkpoint->optimizer.epoch;
        resume = *std::move(bytes);
      } else {
        options.resume_note = absl::StrCat(
            "the checkpoint cannot be used (", checkpoint.status().message(),
            "): training starts again from epoch 1");
      }
    } else if (absl::IsNotFound(bytes.status())) {
      options.resume_note =
          "no checkpoint had been saved yet: training starts again from "
          "epoch 1";
    } else {
      options.resume_note = absl::StrCat(
          "the checkpoint cannot be read (", bytes.status().message(),
          "): training starts again from epoch 1");
    }
    auto persisted = std::make_shared<PersistedJob>();
    persisted->entry = std::move(c.entry);
    persisted->stopping = stopping_;
    persisted->jobs = jobs_;
    persisted->every_epochs = CheckpointEveryEpochs(request->options());
    persisted->min_seconds = checkpoint_min_seconds_;
    persisted->resume = std::move(resume);
    persisted->data_path = persisted->entry->data_path();
    const int from = options.resumed_from_epoch;
    const std::string note = options.resume_note;
    absl::StatusOr<std::string> job_id =
        SubmitTrainJob(request, persisted, std::move(options));
    if (!job_id.ok()) {
      // Kept in the journal (not finished) for the next start.
      persisted->stopping = std::make_shared<const std::atomic<bool>>(true);
      Log(LogLevel::kWarning, "cannot resume a training job now",
          {{"journal_entry", uid}, {"error", job_id.status().ToString()}});
      continue;
    }
    ++resumed;
    Log(LogLevel::kInfo, "training job resumed",
        {{"job", *job_id},
         {"model", request->name()},
         {"journal_entry", uid},
         {"from_epoch", from},
         {"note", note}});
  }
  return resumed;
}

grpc::Status ModelServiceImpl::Tune(
    grpc::ServerContext* context, const v1::TuneRequest* request,
    grpc::ServerWriter<v1::TrainEvent>* writer) {
  return Counted(metrics_, auth_, *context, Rpc::kTune, request->name(),
                 [&]() -> grpc::Status {
    absl::Status valid = CheckName(request->name());
    // The server's limits first: their message names the flag.
    if (valid.ok()) valid = CheckTuneLimits(*request, limits_);
    if (valid.ok()) valid = ValidateTuneRequest(*request);
    if (valid.ok() && !request->has_data()) {
      valid = absl::InvalidArgumentError(
          "data: no source set (one of rows, csv, upload_id, path)");
    }
    if (valid.ok()) valid = data_->Check(request->data());
    if (!valid.ok()) return ToGrpcStatus(valid);

    auto shared = std::make_shared<const v1::TuneRequest>(*request);
    ModelRegistry* registry = registry_;
    const DataSource* data = data_;
    const int threads = training_threads_;
    Metrics* metrics = metrics_;
    absl::StatusOr<std::string> job_id = jobs_->SubmitTune(
        request->name(),
        [shared, registry, data, threads, metrics](const JobReporter& r) {
          return RunTuneJob(shared, registry, data, threads, metrics, r);
        });
    if (!job_id.ok()) return ToGrpcStatus(job_id.status());
    return StreamJob(context, *job_id, writer);
  });
}

grpc::Status ModelServiceImpl::UploadDataset(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadChunk>* reader,
    v1::UploadResponse* response) {
  return Counted(metrics_, auth_, *context, Rpc::kUploadDataset, {}, [&]() -> grpc::Status {
    absl::StatusOr<std::unique_ptr<UploadStore::Writer>> upload =
        uploads_->Begin();
    if (!upload.ok()) return ToGrpcStatus(upload.status());
    UploadStore::Writer& w = **upload;
    v1::UploadChunk chunk;
    while (reader->Read(&chunk)) {
      absl::Status s = w.Append(chunk.data());
      if (!s.ok()) return ToGrpcStatus(s);
    }
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "the upload was cancelled by the client");
    }
    absl::Status s = w.Finish();
    if (!s.ok()) return ToGrpcStatus(s);
    response->set_upload_id(w.id());
    response->set_bytes(w.bytes());
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::WatchJob(
    grpc::ServerContext* context, const v1::WatchJobRequest* request,
    grpc::ServerWriter<v1::TrainEvent>* writer) {
  return Counted(metrics_, auth_, *context, Rpc::kWatchJob, {}, [&]() -> grpc::Status {
    absl::Status valid = CheckJobId(request->job_id());
    if (!valid.ok()) return ToGrpcStatus(valid);
    return StreamJob(context, request->job_id(), writer);
  });
}

grpc::Status ModelServiceImpl::GetJob(grpc::ServerContext* context,
                                      const v1::GetJobRequest* request,
                                      v1::Job* response) {
  return Counted(metrics_, auth_, *context, Rpc::kGetJob, {}, [&]() -> grpc::Status {
    absl::Status valid = CheckJobId(request->job_id());
    if (!valid.ok()) return ToGrpcStatus(valid);
    absl::StatusOr<JobSnapshot> job = jobs_->Get(request->job_id());
    if (!job.ok()) return ToGrpcStatus(job.status());
    *response = JobToProto(*job);
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::ListJobs(grpc::ServerContext* context,
                                        const v1::ListJobsRequest* /*request*/,
                                        v1::ListJobsResponse* response) {
  return Counted(metrics_, auth_, *context, Rpc::kListJobs, {}, [&]() -> grpc::Status {
    for (const JobSnapshot& job : jobs_->List()) {
      *response->add_jobs() = JobToProto(job);
    }
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::CancelJob(grpc::ServerContext* context,
                                         const v1::CancelJobRequest* request,
                                         v1::Job* response) {
  return Counted(metrics_, auth_, *context, Rpc::kCancelJob, {}, [&]() -> grpc::Status {
    absl::Status valid = CheckJobId(request->job_id());
    if (!valid.ok()) return ToGrpcStatus(valid);
    absl::StatusOr<JobSnapshot> job = jobs_->Cancel(request->job_id());
    if (!job.ok()) return ToGrpcStatus(job.status());
    *response = JobToProto(*job);
    return grpc::Status::OK;
  });
}

grpc::Status ModelServiceImpl::Evaluate(grpc::ServerContext* context,
                                        const v1::EvaluateRequest* request,
                                        v1::EvaluateResponse* response) {
  return Counted(metrics_, auth_, *context, Rpc::kEvaluate, request->name(), [&]() -> grpc::Status {
        absl::Status valid = CheckName(request->name());
        if (valid.ok()) valid = CheckVersion(request->version(), "latest");
        if (valid.ok() && !request->has_data()) {
          valid = absl::InvalidArgumentError(
              "data: no source set (one of rows, csv, upload_id, path)");
        }
        if (valid.ok()) valid = data_->Check(request->data());
        if (valid.ok() && request->has_importance_options() &&
            !request->importance()) {
          valid = absl::InvalidArgumentError(
              "importance_options is set but importance is false: set "
              "importance to compute it");
        }
        if (!valid.ok()) return ToGrpcStatus(valid);

        absl::StatusOr<std::shared_ptr<const Artifact>> artifact = Resolve(
            request->name(), request->version(), request->version_label());
        if (!artifact.ok()) return ToGrpcStatus(artifact.status());
        absl::StatusOr<Table> table =
            data_->Load(request->data(), SchemaTypesWithTarget(**artifact));
        if (!table.ok()) return ToGrpcStatus(table.status());
        std::optional<FeatureImportanceOptions> importance;
        if (request->importance()) {
          absl::StatusOr<FeatureImportanceOptions> o =
              ImportanceOptionsFromProto(request->importance_options(),
                                         (*artifact)->metadata().seed);
          if (!o.ok()) return ToGrpcStatus(o.status());
          importance = *o;
        }
        absl::StatusOr<Evaluation> evaluation = (*artifact)->Evaluate(
            *table, importance ? &*importance : nullptr);
        if (!evaluation.ok()) return ToGrpcStatus(evaluation.status());
        *response = EvaluationToProto(*evaluation, (*artifact)->metadata());
        return grpc::Status::OK;
      });
}

grpc::ServerUnaryReactor* ModelServiceImpl::Predict(
    grpc::CallbackServerContext* context, const v1::PredictRequest* request,
    v1::PredictResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status allowed = Authorize(auth_, *context, Rpc::kPredict);
  if (!allowed.ok()) {
    RpcScope scope(metrics_, Rpc::kPredict);
    reactor->Finish(scope.Finish(ToGrpcStatus(allowed), request->name()));
    return reactor;
  }
  reactor->Finish(DoPredict(*request, response));
  return reactor;
}

grpc::Status ModelServiceImpl::DoPredict(const v1::PredictRequest& request,
                                         v1::PredictResponse* response) {
  RpcScope scope(metrics_, Rpc::kPredict);
  absl::Status valid = CheckName(request.name());
  if (valid.ok()) valid = CheckVersion(request.version(), "latest");
  if (valid.ok()) {
    switch (request.input_case()) {
      case v1::PredictRequest::kRows:
        if (request.rows().rows_size() == 0) {
          valid = absl::InvalidArgumentError("rows: no rows");
        } else {
          valid = CheckPredictLimits(request.rows().rows_size(),
                                     request.rows().columns_size(), "rows",
                                     limits_);
        }
        break;
      case v1::PredictRequest::kCsv:
        if (request.csv().empty()) {
          valid = absl::InvalidArgumentError("csv is empty");
        }
        break;
      case v1::PredictRequest::kColumns:
        if (request.columns().columns_size() == 0) {
          valid = absl::InvalidArgumentError("columns: no columns");
        } else {
          const v1::ColumnarRows::Column& first = request.columns().columns(0);
          valid = CheckPredictLimits(
              std::max(first.numbers_size(), first.texts_size()),
              request.columns().columns_size(), "columns", limits_);
        }
        break;
      default:
        valid = absl::InvalidArgumentError("input: set rows, csv or columns");
    }
  }
  if (!valid.ok()) return scope.Finish(ToGrpcStatus(valid), request.name());

  absl::StatusOr<std::shared_ptr<const Artifact>> artifact =
      Resolve(request.name(), request.version(), request.version_label());
  if (!artifact.ok()) {
    return scope.Finish(ToGrpcStatus(artifact.status()), request.name());
  }
  // From here on the request reached a model version: count it there.
  const Artifact& model = **artifact;
  ModelSeries* series =
      metrics_ == nullptr
          ? nullptr
          : metrics_->Model(request.name(), model.metadata().version);
  absl::Status status = [&]() -> absl::Status {
    const bool packed = request.input_case() == v1::PredictRequest::kColumns;
    const bool explain = request.explain();
    if (explain) RETURN_IF_ERROR(CheckExplainable(model.metadata().kind));
    Eigen::MatrixXd features;
    if (request.input_case() == v1::PredictRequest::kRows &&
        NumericFeaturesFromRows(request.rows(), model, &features)) {
      if (explain) {
        RETURN_IF_ERROR(CheckExplainSize(model, features.rows()));
        ASSIGN_OR_RETURN(ExplainedPredictions e,
                         model.ExplainFeatures(features));
        ExplainedPredictionsToProto(e, model, /*packed=*/false, response);
        return absl::OkStatus();
      }
      PredictionsToProto(model.PredictFeatures(features), model.metadata(),
                         /*packed=*/false, response);
      return absl::OkStatus();
    }
    const ColumnTypes& types = model.input_types();
    ASSIGN_OR_RETURN(Table table,
                     packed ? TableFromColumns(request.columns(), types)
                     : request.input_case() == v1::PredictRequest::kRows
                         ? TableFromRows(request.rows(), types)
                         : TableFromCsv(request.csv(), types,
                                        limits_.max_predict_rows,
                                        limits_.max_columns,
                                        "--max-predict-rows"));
    if (explain) {
      RETURN_IF_ERROR(CheckExplainSize(model, table.num_rows()));
      ASSIGN_OR_RETURN(ExplainedPredictions e, model.Explain(table));
      ExplainedPredictionsToProto(e, model, packed, response);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Predictions predictions, model.Predict(table));
    PredictionsToProto(predictions, model.metadata(), packed, response);
    return absl::OkStatus();
  }();
  if (series == nullptr) {
    return scope.Finish(ToGrpcStatus(status), request.name());
  }
  // One clock read for both histograms.
  const int64_t end = MonotonicNanos();
  series->Record(status.ok(),
                 static_cast<uint64_t>(status.ok() ? rows_predicted(*response)
                                                   : 0),
                 end - scope.start_nanos());
  return scope.Finish(ToGrpcStatus(status), request.name(), end);
}

grpc::Status ModelServiceImpl::ListModels(
    grpc::ServerContext* context, const v1::ListModelsRequest* /*request*/,
    v1::ListModelsResponse* response) {
  return Counted(metrics_, auth_, *context, Rpc::kListModels, {}, [&]() -> grpc::Status {
    for (const auto& [name, versions] : registry_->List()) {
      if (versions.empty()) continue;
      absl::StatusOr<std::shared_ptr<const Artifact>> latest =
          registry_->Get(name, versions.back());
      if (!latest.ok()) continue;  // deleted meanwhile
      v1::ModelSummary* m = response->add_models();
      m->set_name(name);
      m->set_latest_version(versions.back());
      m->set_num_versions(static_cast<int32_t>(versions.size()));
      m->set_kind(std::string(ModelKindName((*latest)->metadata().kind)));
      m->set_target((*latest)->metadata().target);
    }
    return grpc::Status::OK;
  });
}

absl::StatusOr<std::shared_ptr<const Artifact>> ModelServiceImpl::Resolve(
    const std::string& name, int64_t version, const std::string& label) {
  if (label.empty()) return registry_->Get(name, version);
  if (version != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "version ", version, " and version_label '", label,
        "': set one or the other"));
  }
  return registry_->GetLabeled(name, label);
}

absl::Status ModelServiceImpl::FillModelInfo(const std::string& name,
                                             int64_t version,
                                             v1::ModelInfo* info) {
  info->set_name(name);
  std::vector<int64_t> stored;
  if (version != 0) {
    ASSIGN_OR_RETURN(std::shared_ptr<const Artifact> artifact,
                     registry_->Get(name, version));
    *info->add_versions() = VersionInfoToProto(*artifact);
    absl::StatusOr<std::vector<int64_t>> on_disk =
        registry_->StoredVersions(name);
    if (on_disk.ok()) stored = *std::move(on_disk);
  } else {
    ASSIGN_OR_RETURN(stored, registry_->StoredVersions(name));
    absl::StatusOr<std::vector<std::shared_ptr<const Artifact>>> all =
        registry_->GetAll(name);
    // A model whose versions are on disk but none served (a specific
    // version policy) is still found.
    if (!all.ok() && !(absl::IsNotFound(all.status()) && !stored.empty())) {
      return all.status();
    }
    if (all.ok()) {
      for (const auto& artifact : *all) {
        *info->add_versions() = VersionInfoToProto(*artifact);
      }
    }
  }
  for (int64_t v : stored) info->add_stored_versions(v);
  for (const auto& [label, v] : registry_->Labels(name)) {
    (*info->mutable_labels())[label] = v;
  }
  return absl::OkStatus();
}

grpc::Status ModelServiceImpl::GetModel(grpc::ServerContext* context,
                                        const v1::GetModelRequest* request,
                                        v1::ModelInfo* response) {
  return Counted(metrics_, auth_, *context, Rpc::kGetModel, request->name(), [&]() -> grpc::Status {
        absl::Status valid = CheckName(request->name());
        if (valid.ok())
          valid = CheckVersion(request->version(), "every version");
        if (!valid.ok()) return ToGrpcStatus(valid);
        return ToGrpcStatus(
            FillModelInfo(request->name(), request->version(), response));
      });
}

grpc::Status ModelServiceImpl::SetLabel(grpc::ServerContext* context,
                                        const v1::SetLabelRequest* request,
                                        v1::ModelInfo* response) {
  return Counted(metrics_, auth_, *context, Rpc::kSetLabel, request->name(),
                 [&]() -> grpc::Status {
                   absl::Status s = CheckName(request->name());
                   if (s.ok()) {
                     s = registry_->SetLabel(request->name(), request->label(),
                                             request->version());
                   }
                   if (s.ok()) s = FillModelInfo(request->name(), 0, response);
                   return ToGrpcStatus(s);
                 });
}

grpc::Status ModelServiceImpl::RemoveLabel(grpc::ServerContext* context,
                                           const v1::RemoveLabelRequest* request,
                                           v1::ModelInfo* response) {
  return Counted(metrics_, auth_, *context, Rpc::kRemoveLabel, request->name(),
                 [&]() -> grpc::Status {
                   absl::Status s = CheckName(request->name());
                   if (s.ok()) {
                     s = registry_->RemoveLabel(request->name(),
                                                request->label());
                   }
                   if (s.ok()) s = FillModelInfo(request->name(), 0, response);
                   return ToGrpcStatus(s);
                 });
}

grpc::Status ModelServiceImpl::DeleteModel(
    grpc::ServerContext* context, const v1::DeleteModelRequest* request,
    v1::DeleteModelResponse* response) {
  return Counted(metrics_, auth_, *context, Rpc::kDeleteModel, request->name(),
                 [&]() -> grpc::Status {
                   absl::Status valid = CheckName(request->name());
                   if (valid.ok())
                     valid = CheckVersion(request->version(), "every version");
                   if (!valid.ok()) return ToGrpcStatus(valid);
                   absl::StatusOr<std::vector<int64_t>> deleted =
                       registry_->Delete(request->name(), request->version());
                   if (!deleted.ok()) return ToGrpcStatus(deleted.status());
                   for (int64_t v : *deleted) response->add_deleted_versions(v);
                   return grpc::Status::OK;
                 });
}

}  // namespace modelserver::server
