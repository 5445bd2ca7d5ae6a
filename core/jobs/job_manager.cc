#include "core/jobs/job_manager.h"

#include <sys/resource.h>
#include <unistd.h>

#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace modelserver {

absl::string_view JobStateName(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

namespace {

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

bool IsFinished(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed ||
         s == JobState::kCancelled;
}

// An epoch event as a job's log keeps it: an EpochEvent with its metric
// name as an index into Job::metric_names. 64 bytes, where a JobEvent takes
// about 300 (it also holds a JobOutcome): a finished job of 100,000 epochs
// keeps 6.4 MB instead of 40.
struct EpochRecord {
  int epoch = 0;
  int max_epochs = 0;
  int metric = 0;
  double train_loss = 0;
  double validation_loss = 0;
  double validation_metric = 0;
  double elapsed_seconds = 0;
  double remaining_seconds = 0;
  double learning_rate = 0;
};

// A trial or search-done event's memory in 64-byte epoch-event units
// (rounded up): what it counts against max_finished_epoch_events.
int64_t Units(size_t bytes) {
  return static_cast<int64_t>((bytes + sizeof(EpochRecord) - 1) /
                              sizeof(EpochRecord));
}
size_t TrialBytes(const TuneTrial& t) {
  size_t bytes = sizeof(TuneTrial) + t.error.size();
  for (const auto& [k, v] : t.params) {
    bytes += sizeof(std::pair<std::string, std::string>) + k.size() + v.size();
  }
  return bytes;
}
int64_t TrialUnits(const TuneProgress& p) {
  return Units(sizeof(TuneProgress) - sizeof(TuneTrial) + p.metric.size() +
               TrialBytes(p.trial));
}
int64_t SearchUnits(const TuneSummary& s) {
  size_t bytes = sizeof(TuneSummary) + s.metric.size() + s.mode.size() +
                 s.stop_reason.size();
  for (const TuneTrial& t : s.trials) bytes += TrialBytes(t);
  return Units(bytes);
}

// One job. Every field is guarded by JobManager::Impl::mu_.
struct Job {
  // Events in order: kAccepted, one per entry of `trials`, the search's end
  // (tune jobs), one per entry of `epochs`, then `last`.
  size_t num_events() const {
    return 1 + (resumed ? 1 : 0) + trials.size() + (search ? 1 : 0) +
           epochs.size() + (last ? 1 : 0);
  }
  // Memory of the log in epoch-event units.
  int64_t units() const {
    return static_cast<int64_t>(epochs.size()) + trial_units;
  }
  JobEvent EventAt(size_t i) const {
    if (i == 0) return JobEvent{};  // kAccepted
    if (resumed) {
      if (i == 1) return *resumed;
      --i;
    }
    if (i <= trials.size()) {
      JobEvent event;
      event.type = JobEvent::Type::kTrial;
      event.trial = trials[i - 1];
      return event;
    }
    i -= trials.size();
    if (search) {
      if (i == 1) {
        JobEvent event;
        event.type = JobEvent::Type::kSearchDone;
        event.search = search;
        return event;
      }
      --i;
    }
    if (i > epochs.size()) return *last;
    const EpochRecord& r = epochs[i - 1];
    JobEvent event;
    event.type = JobEvent::Type::kEpoch;
    event.epoch.epoch = r.epoch;
    event.epoch.max_epochs = r.max_epochs;
    event.epoch.train_loss = r.train_loss;
    event.epoch.validation_loss = r.validation_loss;
    event.epoch.metric_name = metric_names[r.metric];
    event.epoch.validation_metric = r.validation_metric;
    event.epoch.elapsed_seconds = r.elapsed_seconds;
    event.epoch.remaining_seconds = r.remaining_seconds;
    event.epoch.learning_rate = r.learning_rate;
    return event;
  }

  JobSnapshot snapshot;
  std::vector<EpochRecord> epochs;
  std::vector<std::string> metric_names;  // distinct, usually one
  std::optional<JobEvent> last;           // kSucceeded or kFailed
  std::optional<JobEvent> resumed;        // kResumed, right after kAccepted
  std::vector<TuneProgress> trials;       // tune jobs
  std::shared_ptr<const TuneSummary> search;  // tune jobs, once searched
  int64_t trial_units = 0;  // trials and search in epoch-event units
  TuneJobFn fn;  // moved out by the worker that runs it
  bool cancel_requested = false;
  bool committing = false;  // the commit step runs; too late to cancel
  // Signalled whenever an event is appended.
  absl::CondVar events_cv;
};

}  // namespace

class JobManager::Impl {
 public:
  explicit Impl(Options options) : options_(options) {}

  void Start() {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < options_.max_concurrent; ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
  }

  absl::StatusOr<std::string> Submit(std::string name, TuneJobFn fn,
                                     bool tune,
                                     const SubmitOptions& options = {}) {
    if (!fn)
      return absl::InvalidArgumentError("the job has no function to run");
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::UnavailableError(
          "the job manager is shutting down; no new jobs are accepted");
    }
    if (queue_.size() >= static_cast<size_t>(options_.max_queued)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the training queue is full (", queue_.size(),
                       " jobs waiting); try again later"));
    }
    auto job = std::make_shared<Job>();
    job->snapshot.id = absl::StrCat("job-", ++next_id_);
    job->snapshot.name = std::move(name);
    job->snapshot.state = JobState::kQueued;
    job->snapshot.created_unix_micros = NowMicros();
    job->snapshot.tune = tune;
    if (options.resumed) {
      JobEvent resumed;
      resumed.type = JobEvent::Type::kResumed;
      resumed.resumed_from_epoch = options.resumed_from_epoch;
      resumed.resume_note = options.resume_note;
      job->resumed = std::move(resumed);
      job->snapshot.resumed_from_epoch = options.resumed_from_epoch;
      job->snapshot.epoch = options.resumed_from_epoch;
      job->snapshot.checkpoint_epoch = options.resumed_from_epoch;
    }
    job->fn = std::move(fn);
    by_id_[job->snapshot.id] = job;
    by_seq_[next_id_] = job;
    seq_of_[job->snapshot.id] = next_id_;
    queue_.push_back(job);
    work_cv_.Signal();
    return job->snapshot.id;
  }

  void RecordCheckpoint(absl::string_view id, int epoch) {
    absl::MutexLock lock(&mu_);
    auto job = Find(id);
    if (job != nullptr) job->snapshot.checkpoint_epoch = epoch;
  }

  absl::StatusOr<JobSnapshot> Get(absl::string_view id) const {
    absl::MutexLock lock(&mu_);
    auto job = Find(id);
    if (job == nullptr) return NotFound(id);
    return job->snapshot;
  }

  std::vector<JobSnapshot> List() const {
    absl::MutexLock lock(&mu_);
    std::vector<JobSnapshot> out;
    out.reserve(by_seq_.size());
    for (const auto& [seq, job] : by_seq_) out.push_back(job->snapshot);
    return out;
  }

  absl::StatusOr<JobSnapshot> Cancel(absl::string_view id) {
    absl::MutexLock lock(&mu_);
    auto job = Find(id);
    if (job == nullptr) return NotFound(id);
    const JobState state = job->snapshot.state;
    if (IsFinished(state)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job '", id, "' already finished (", JobStateName(state), ")"));
    }
    if (job->committing) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job '", id, "' has finished training and is publishing its result"));
    }
    if (state == JobState::kQueued) {
      CancelQueuedLocked(
          job, absl::CancelledError(
                   absl::StrCat("job '", id, "' was cancelled while queued")));
    } else {
      job->cancel_requested = true;
    }
    return job->snapshot;
  }

  absl::StatusOr<std::vector<JobEvent>> WaitEvents(absl::string_view id,
                                                   size_t from,
                                                   absl::Time deadline,
                                                   bool* done) const {
    if (done != nullptr) *done = false;
    absl::MutexLock lock(&mu_);
    // Held by shared_ptr: the job may be evicted while we wait.
    std::shared_ptr<Job> job = Find(id);
    if (job == nullptr) return NotFound(id);
    while (true) {
      const bool finished = IsFinished(job->snapshot.state);
      const size_t available = job->num_events();
      if (available > from) {
        if (done != nullptr) *done = finished;
        std::vector<JobEvent> out;
        out.reserve(available - from);
        for (size_t i = from; i < available; ++i) {
          out.push_back(job->EventAt(i));
        }
        return out;
      }
      if (finished) {
        if (done != nullptr) *done = true;
        return std::vector<JobEvent>();
      }
      if (job->events_cv.WaitWithDeadline(&mu_, deadline) &&
          job->num_events() <= from && !IsFinished(job->snapshot.state)) {
        return std::vector<JobEvent>();  // deadline passed
      }
    }
  }

  void Shutdown(bool cancel_running) {
    absl::MutexLock join_lock(&join_mu_);
    std::vector<std::thread> workers;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      while (!queue_.empty()) {
        std::shared_ptr<Job> job = queue_.front();
        CancelQueuedLocked(
            job, absl::CancelledError(absl::StrCat(
                     "job '", job->snapshot.id,
                     "' was cancelled: the server is shutting down")));
      }
      if (cancel_running) {
        for (auto& [seq, job] : by_seq_) {
          if (job->snapshot.state == JobState::kRunning) {
            job->cancel_requested = true;
          }
        }
      }
      work_cv_.SignalAll();
      workers.swap(workers_);
    }
    for (std::thread& t : workers) t.join();
  }

 private:
  static absl::Status NotFound(absl::string_view id) {
    return absl::NotFoundError(absl::StrCat("job '", id, "' not found"));
  }

  std::shared_ptr<Job> Find(absl::string_view id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = by_id_.find(std::string(id));
    return it == by_id_.end() ? nullptr : it->second;
  }

  // Removes a queued job from the queue and ends it as cancelled.
  void CancelQueuedLocked(const std::shared_ptr<Job>& job, absl::Status error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (*it == job) {
        queue_.erase(it);
        break;
      }
    }
    job->fn = nullptr;
    job->cancel_requested = true;
    FinishLocked(job, JobState::kCancelled, std::move(error), JobOutcome());
  }

  // Records the end of a job and evicts the oldest finished jobs.
  void FinishLocked(const std::shared_ptr<Job>& job, JobState state,
                    absl::Status error, JobOutcome outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    JobEvent event;
    job->snapshot.state = state;
    job->snapshot.finished_unix_micros = NowMicros();
    if (state == JobState::kSucceeded) {
      job->snapshot.version = outcome.version;
      event.type = JobEvent::Type::kSucceeded;
      event.outcome = std::move(outcome);
    } else {
      job->snapshot.error = error;
      event.type = JobEvent::Type::kFailed;
      event.error = std::move(error);
    }
    job->last = std::move(event);
    job->epochs.shrink_to_fit();  // no more epochs: drop the spare capacity
    job->events_cv.SignalAll();
    if (options_.on_finish) options_.on_finish(job->snapshot);

    finished_.push_back(job->snapshot.id);
    job->trials.shrink_to_fit();
    finished_epochs_ += job->units();
    while (finished_.size() > static_cast<size_t>(options_.max_finished_jobs) ||
           (finished_epochs_ > options_.max_finished_epoch_events &&
            finished_.size() > 1)) {
      const std::string& oldest = finished_.front();
      auto evicted = by_id_.find(oldest);
      if (evicted != by_id_.end()) {
        finished_epochs_ -= evicted->second->units();
      }
      auto seq = seq_of_.find(oldest);
      if (seq != seq_of_.end()) {
        by_seq_.erase(seq->second);
        seq_of_.erase(seq);
      }
      by_id_.erase(oldest);
      finished_.pop_front();
    }
  }

  // Appends an epoch event; returns false once the job is cancelled.
  bool OnProgress(const std::shared_ptr<Job>& job, const EpochEvent& epoch) {
    absl::MutexLock lock(&mu_);
    job->snapshot.epoch = epoch.epoch;
    job->snapshot.max_epochs = epoch.max_epochs;
    job->snapshot.train_loss = epoch.train_loss;
    job->snapshot.validation_loss = epoch.validation_loss;
    EpochRecord r;
    r.epoch = epoch.epoch;
    r.max_epochs = epoch.max_epochs;
    r.train_loss = epoch.train_loss;
    r.validation_loss = epoch.validation_loss;
    r.validation_metric = epoch.validation_metric;
    r.elapsed_seconds = epoch.elapsed_seconds;
    r.remaining_seconds = epoch.remaining_seconds;
    r.learning_rate = epoch.learning_rate;
    std::vector<std::string>& names = job->metric_names;
    while (r.metric < static_cast<int>(names.size()) &&
           names[r.metric] != epoch.metric_name) {
      ++r.metric;
    }
    if (r.metric == static_cast<int>(names.size())) {
      names.push_back(epoch.metric_name);
    }
    job->epochs.push_back(r);
    job->events_cv.SignalAll();
    return !job->cancel_requested;
  }

  // Appends a trial event; returns false once the job is cancelled.
  bool OnTrial(const std::shared_ptr<Job>& job, const TuneProgress& trial) {
    absl::MutexLock lock(&mu_);
    job->snapshot.tune_progress = trial;
    job->trials.push_back(trial);
    job->trial_units += TrialUnits(trial);
    job->events_cv.SignalAll();
    return !job->cancel_requested;
  }

  // Records the search's end; returns false once the job is cancelled.
  bool OnSearchDone(const std::shared_ptr<Job>& job,
                    const TuneSummary& summary) {
    auto shared = std::make_shared<const TuneSummary>(summary);
    absl::MutexLock lock(&mu_);
    if (job->search) job->trial_units -= SearchUnits(*job->search);
    job->search = std::move(shared);
    job->trial_units += SearchUnits(*job->search);
    job->events_cv.SignalAll();
    return !job->cancel_requested;
  }

  bool Cancelled(const std::shared_ptr<Job>& job) const {
    absl::MutexLock lock(&mu_);
    return job->cancel_requested;
  }

  void WorkerLoop() {
    if (options_.thread_niceness > 0) {
      // Per thread on Linux (the nice value is a thread attribute there);
      // best effort: a failure leaves the thread at the process's priority.
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()),
                  options_.thread_niceness);
    }
    while (true) {
      std::shared_ptr<Job> job;
      TuneJobFn fn;
      {
        absl::MutexLock lock(&mu_);
        while (queue_.empty() && !stopping_) work_cv_.Wait(&mu_);
        if (queue_.empty()) return;  // stopping
        job = queue_.front();
        queue_.pop_front();
        fn = std::move(job->fn);
        job->fn = nullptr;
        job->snapshot.state = JobState::kRunning;
        job->snapshot.started_unix_micros = NowMicros();
      }

      JobReporter reporter;
      reporter.epoch = [this, job](const EpochEvent& e) {
        return OnProgress(job, e);
      };
      reporter.trial = [this, job](const TuneProgress& t) {
        return OnTrial(job, t);
      };
      reporter.search_done = [this, job](const TuneSummary& s) {
        return OnSearchDone(job, s);
      };
      reporter.cancelled = [this, job] { return Cancelled(job); };
      absl::StatusOr<JobOutcome> result;
      // Core code reports errors by status; an escaping exception (e.g.
      // std::bad_alloc on a huge data set) must not take the server down.
      try {
        result = fn(reporter);
      } catch (const std::exception& e) {
        result = absl::InternalError(
            absl::StrCat("training job threw an exception: ", e.what()));
      } catch (...) {
        result = absl::InternalError("training job threw an exception");
      }
      fn = nullptr;  // release what the job captured, outside the lock

      if (result.ok() && result->commit) {
        bool commit = false;
        {
          absl::MutexLock lock(&mu_);
          if (job->cancel_requested) {
            result = absl::CancelledError("the job was cancelled");
          } else {
            job->committing = true;
            commit = true;
          }
        }
        if (commit) {
          absl::StatusOr<int64_t> version;
          try {
            version = result->commit();
          } catch (const std::exception& e) {
            version = absl::InternalError(
                absl::StrCat("committing the job threw: ", e.what()));
          }
          if (version.ok()) {
            result->version = *version;
          } else {
            result = version.status();
          }
        }
        if (result.ok()) result->commit = nullptr;
      }

      absl::MutexLock lock(&mu_);
      if (result.ok()) {
        FinishLocked(job, JobState::kSucceeded, absl::OkStatus(),
                     *std::move(result));
      } else {
        const bool cancelled =
            absl::IsCancelled(result.status()) || job->cancel_requested;
        FinishLocked(job, cancelled ? JobState::kCancelled : JobState::kFailed,
                     result.status(), JobOutcome());
      }
    }
  }

  const Options options_;
  mutable absl::Mutex mu_;
  absl::CondVar work_cv_;  // signalled when a job is queued or on shutdown
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  // Kept jobs by id, and by submission order for List().
  std::map<std::string, std::shared_ptr<Job>> by_id_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::shared_ptr<Job>> by_seq_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> seq_of_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  // Ids of kept finished jobs, in the order they finished, and their epoch
  // events in total.
  std::deque<std::string> finished_ ABSL_GUARDED_BY(mu_);
  int64_t finished_epochs_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  // Serialises Shutdown() calls so that each returns only after the join.
  absl::Mutex join_mu_;
};

absl::StatusOr<std::unique_ptr<JobManager>> JobManager::Create(
    Options options) {
  if (options.max_concurrent < 1 || options.max_queued < 1 ||
      options.max_finished_jobs < 1 || options.max_finished_epoch_events < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job manager options must be at least 1: max_concurrent=",
        options.max_concurrent, ", max_queued=", options.max_queued,
        ", max_finished_jobs=", options.max_finished_jobs,
        ", max_finished_epoch_events=", options.max_finished_epoch_events));
  }
  if (options.thread_niceness < 0 || options.thread_niceness > 19) {
    return absl::InvalidArgumentError(
        absl::StrCat("thread_niceness must be in [0, 19], got ",
                     options.thread_niceness));
  }
  auto impl = std::make_unique<Impl>(options);
  impl->Start();
  return std::unique_ptr<JobManager>(new JobManager(std::move(impl)));
}

JobManager::JobManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JobManager::~JobManager() { impl_->Shutdown(/*cancel_running=*/true); }

absl::StatusOr<std::string> JobManager::Submit(std::string name, JobFn fn) {
  if (!fn) return impl_->Submit(std::move(name), nullptr, /*tune=*/false);
  return impl_->Submit(
      std::move(name),
      [fn = std::move(fn)](const JobReporter& r) { return fn(r.epoch); },
      /*tune=*/false);
}

absl::StatusOr<std::string> JobManager::Submit(std::string name, JobFn fn,
                                               SubmitOptions options) {
  if (!fn) return impl_->Submit(std::move(name), nullptr, /*tune=*/false);
  return impl_->Submit(
      std::move(name),
      [fn = std::move(fn)](const JobReporter& r) { return fn(r.epoch); },
      /*tune=*/false, options);
}

void JobManager::RecordCheckpoint(absl::string_view id, int epoch) {
  impl_->RecordCheckpoint(id, epoch);
}

absl::StatusOr<std::string> JobManager::SubmitTune(std::string name,
                                                   TuneJobFn fn) {
  return impl_->Submit(std::move(name), std::move(fn), /*tune=*/true);
}

absl::StatusOr<JobSnapshot> JobManager::Get(absl::string_view id) const {
  return impl_->Get(id);
}

std::vector<JobSnapshot> JobManager::List() const { return impl_->List(); }

absl::StatusOr<JobSnapshot> JobManager::Cancel(absl::string_view id) {
  return impl_->Cancel(id);
}

absl::StatusOr<std::vector<JobEvent>> JobManager::WaitEvents(
    absl::string_view id, size_t from, absl::Time deadline, bool* done) const {
  return impl_->WaitEvents(id, from, deadline, done);
}

void JobManager::Shutdown(bool cancel_running) {
  impl_->Shutdown(cancel_running);
}

}  // namespace modelserver
