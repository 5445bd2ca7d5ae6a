// File: core/jobs/job_manager.h
// JobManager: runs training jobs on its own bounded pool of threads, keeps
// each job's state and event log, lets callers watch and cancel jobs.
//
// A job is a function that receives a ProgressCallback (core/train/
// trainer.h) to report epochs; the callback returns false once the job is
// cancelled, and the function should then stop and return CANCELLED (Train
// does). Events of a job, in order: kAccepted, kEpoch..., then exactly one
// of kSucceeded / kFailed (cancelled jobs end with kFailed and a CANCELLED
// status). A tune job (SubmitTune, core/tune/tune.h) also reports kTrial
// events (one per finished trial) and one kSearchDone; its log lists them
// after kAccepted and before any kEpoch (the final training's), which is
// the order Tune reports them in. The log of a finished job is kept until it is evicted: the
// oldest finished jobs beyond Options::max_finished_jobs, or beyond
// Options::max_finished_epoch_events epoch events in all, are forgotten
// (a trial or search-done event counts as its size in 64-byte epoch
// events, rounded up).
//
// Thread-safety: every method may be called concurrently.
#ifndef MODELSERVER_CORE_JOBS_JOB_MANAGER_H_
#define MODELSERVER_CORE_JOBS_JOB_MANAGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/eval/gate.h"
#include "core/train/trainer.h"
#include "core/tune/tune.h"

namespace modelserver {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
absl::string_view JobStateName(JobState s);  // "queued", "running", ...

// What a successful job produced.
struct JobOutcome {
  std::string name;
  int64_t version = 0;
  MetricList train_metrics;
  MetricList validation_metrics;
  int epochs = 0;
  bool early_stopped = false;
  double training_seconds = 0;
  int64_t rows_train = 0;
  int64_t rows_validation = 0;
  int64_t rows_dropped = 0;
  // Rows added to the training rows by oversampling and augmentation.
  int64_t rows_oversampled = 0;
  int64_t rows_augmented = 0;
  // With a promotion gate: its verdict. Shared with the commit step, which
  // sets promoted_label once the label is set (before the outcome is
  // published in the kSucceeded event).
  std::shared_ptr<GateResult> gate;
  // Optional commit step (e.g. publishing the model). The manager runs it
  // after the job function returns, only if the job was not cancelled by
  // then; from that point Cancel answers FAILED_PRECONDITION, so a job whose
  // Cancel succeeded never commits. Its result becomes `version`; an error
  // fails the job.
  std::function<absl::StatusOr<int64_t>()> commit;
};

struct JobEvent {
  enum class Type {
    kAccepted,
    kEpoch,
    kSucceeded,
    kFailed,
    kTrial,
    kSearchDone,
    kResumed,
  };
  Type type = Type::kAccepted;
  EpochEvent epoch;    // kEpoch
  TuneProgress trial;  // kTrial
  std::shared_ptr<const TuneSummary> search;  // kSearchDone
  JobOutcome outcome;  // kSucceeded
  absl::Status error;  // kFailed (CANCELLED for a cancelled job)
  // kResumed: the checkpoint epoch the job continues from (0 = from
  // scratch) and, when from scratch, why.
  int resumed_from_epoch = 0;
  std::string resume_note;
};

// Submit's optional settings.
struct SubmitOptions {
  // A job resumed after a server restart: a kResumed event follows
  // kAccepted, and the snapshot's resumed_from_epoch and epoch start at
  // `resumed_from_epoch` (0 = started again from scratch; `resume_note`
  // says why).
  bool resumed = false;
  int resumed_from_epoch = 0;
  std::string resume_note;
};

struct JobSnapshot {
  std::string id;
  std::string name;
  JobState state = JobState::kQueued;
  int epoch = 0;
  int max_epochs = 0;
  double train_loss = 0;
  double validation_loss = 0;
  int64_t version = 0;  // kSucceeded
  absl::Status error;   // kFailed, kCancelled
  int64_t created_unix_micros = 0;
  int64_t started_unix_micros = 0;   // 0 while queued
  int64_t finished_unix_micros = 0;  // 0 until finished
  // Checkpoints (core/train/checkpoint.h): the epoch a resumed job
  // continued from (SubmitOptions), and the epoch of its latest checkpoint
  // (RecordCheckpoint); 0 = none.
  int resumed_from_epoch = 0;
  int checkpoint_epoch = 0;
  // Tune jobs: their latest trial report (trials done, best so far).
  bool tune = false;
  TuneProgress tune_progress;
};

// The work of a job. Runs on a pool thread.
using JobFn =
    std::function<absl::StatusOr<JobOutcome>(const ProgressCallback& progress)>;

// What a tune job reports through. Each callback appends its event and
// returns false once the job is cancelled; `cancelled` only asks.
struct JobReporter {
  ProgressCallback epoch;
  std::function<bool(const TuneProgress&)> trial;
  std::function<bool(const TuneSummary&)> search_done;
  std::function<bool()> cancelled;
};
using TuneJobFn =
    std::function<absl::StatusOr<JobOutcome>(const JobReporter& reporter)>;

class JobManager {
 public:
  struct Options {
    // Jobs running at once. Default 1 (serving keeps the other cores).
    int max_concurrent = 1;
    // Jobs waiting to run; Submit beyond it is RESOURCE_EXHAUSTED. Default 64.
    int max_queued = 64;
    // Finished jobs kept for Get/List/Watch. Default 256.
    int max_finished_jobs = 256;
    // Epoch events kept in the logs of finished jobs, in all (64 bytes
    // each): beyond it the oldest finished jobs are forgotten too, but never
    // the most recent one. Default 1,000,000 (64 MB; 256 jobs of 100,000
    // epochs would otherwise keep 1.6 GB).
    int64_t max_finished_epoch_events = 1'000'000;
    // Nice value (0 = unchanged, up to 19) that each pool thread gives
    // itself on Linux before running jobs; the threads a job starts inherit
    // it. A positive value lets the scheduler favour serving threads over
    // training when they compete for cores. Default 0.
    int thread_niceness = 0;
    // Called once per job when it reaches a final state (succeeded, failed
    // or cancelled), with its final snapshot. Runs with the manager's lock
    // held: it must be quick and must not call this JobManager.
    std::function<void(const JobSnapshot&)> on_finish;
  };

  // INVALID_ARGUMENT for options < 1 (thread_niceness outside [0, 19]).
  static absl::StatusOr<std::unique_ptr<JobManager>> Create(Options options);
  // Shutdown(/*cancel_running=*/true) if not done yet.
  ~JobManager();

  // Queues a job for model `name`; returns its id, "job-<n>" with n counting
  // from 1 (unique in this process, reused after a restart).
  // RESOURCE_EXHAUSTED when the queue is full; UNAVAILABLE after Shutdown;
  // INVALID_ARGUMENT for an empty `fn`. An exception escaping `fn` fails the
  // job with INTERNAL.
  absl::StatusOr<std::string> Submit(std::string name, JobFn fn);
  absl::StatusOr<std::string> Submit(std::string name, JobFn fn,
                                     SubmitOptions options);
  // Notes that job `id` saved a checkpoint of epoch `epoch` (shown in its
  // snapshot); unknown ids are ignored.
  void RecordCheckpoint(absl::string_view id, int epoch);
  // The same for a tune job (JobSnapshot::tune set): `fn` reports trials,
  // the search's end and the final training's epochs through its reporter.
  absl::StatusOr<std::string> SubmitTune(std::string name, TuneJobFn fn);

  // NOT_FOUND for an unknown (or evicted) id.
  absl::StatusOr<JobSnapshot> Get(absl::string_view id) const;
  // Every kept job, oldest first.
  std::vector<JobSnapshot> List() const;

  // Cancels a queued job at once, or asks a running one to stop (its
  // progress callback returns false from now on, and its commit step will
  // not run); returns the snapshot. FAILED_PRECONDITION for a job that
  // already finished or is committing its result; NOT_FOUND.
  absl::StatusOr<JobSnapshot> Cancel(absl::string_view id);

  // Events of job `id` from index `from` on. Blocks until at least one such
  // event exists, the job has ended and every event was returned (`*done`
  // set, possibly with no events), or `deadline` passes (no events, not
  // done: call again). NOT_FOUND for an unknown id.
  absl::StatusOr<std::vector<JobEvent>> WaitEvents(absl::string_view id,
                                                   size_t from,
                                                   absl::Time deadline,
                                                   bool* done) const;

  // Stops accepting jobs, cancels queued ones, and either cancels running
  // ones (`cancel_running`) or lets them finish; returns when no job runs.
  void Shutdown(bool cancel_running);

  class Impl;

 private:
  explicit JobManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_JOBS_JOB_MANAGER_H_
