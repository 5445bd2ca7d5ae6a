// File: core/jobs/job_journal.h
// JobJournal: training jobs kept on disk so that a server restart resumes
// them (docs/training.md, "Checkpoints and resuming"). One directory per
// job under the journal's directory (the server uses <model-dir>/.jobs,
// which the model store ignores, as its name starts with '.'):
//
//   <uid>/request      what to run: opaque bytes (the server writes the
//                      serialized TrainRequest, inline data included)
//   <uid>/data.csv     optional: a hard link to the job's uploaded CSV, so
//                      that the upload's expiry does not lose it
//   <uid>/checkpoint   the latest checkpoint, replaced atomically
//   <uid>/lock         flock'ed by the process that runs the job
//
// Create() builds the directory as "<uid>.tmp" and renames it into place
// only once its request is durable (fsync'ed) and its lock held, so a
// half-created job is never resumed. Replicas sharing the directory never
// run one job twice: ClaimUnfinished() takes a job only if it gets its
// flock without waiting (a live process running it holds it), and then
// checks that the request still exists (Finish() deletes it first).
// Checkpoints are written like models: temporary file, fsync, rename,
// fsync of the directory (core/artifact/model_store.h).
//
// Errors name the path and the cause (core/artifact/model_store.h's
// mapping: ENOSPC RESOURCE_EXHAUSTED, EACCES/EROFS FAILED_PRECONDITION, ...).
//
// Thread-safety: JobJournal's methods may be called concurrently (and from
// several processes); one Entry is used by one thread at a time.
#ifndef MODELSERVER_CORE_JOBS_JOB_JOURNAL_H_
#define MODELSERVER_CORE_JOBS_JOB_JOURNAL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver {

class JobJournal {
 public:
  // One job this process holds the lock of. Destroying it releases the
  // lock and keeps the files (the job resumes at the next start-up);
  // Finish() deletes them.
  class Entry {
   public:
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    const std::string& uid() const { return uid_; }
    const std::string& dir() const { return dir_; }
    // The kept data file, or "" when the job has none.
    std::string data_path() const;

    // Replaces the checkpoint atomically.
    absl::Status SaveCheckpoint(absl::string_view bytes);
    // The latest checkpoint; NOT_FOUND when none was saved.
    absl::StatusOr<std::string> LoadCheckpoint() const;
    // Deletes the job's files and directory (the request first), then
    // releases the lock. Idempotent; failures are ignored (a leftover
    // directory without a request is deleted by the next ClaimUnfinished).
    void Finish();

   private:
    friend class JobJournal;
    Entry(std::string uid, std::string dir, int lock_fd)
        : uid_(std::move(uid)), dir_(std::move(dir)), lock_fd_(lock_fd) {}

    std::string uid_;
    std::string dir_;
    int lock_fd_;  // -1 once finished
  };

  struct Claimed {
    std::unique_ptr<Entry> entry;
    std::string request;
  };

  // A journal in `dir`, which Create() makes (one level) when it first
  // needs it. FAILED_PRECONDITION naming it when it exists and is not a
  // directory.
  static absl::StatusOr<std::unique_ptr<JobJournal>> Open(std::string dir);

  const std::string& dir() const { return dir_; }

  // Records a new job with its request and, when `data_file` is not empty,
  // a hard link to that file (same file system; else the error). Returns
  // it locked. On failure nothing is left.
  absl::StatusOr<std::unique_ptr<Entry>> Create(absl::string_view request,
                                                const std::string& data_file);

  // Claims every unfinished job no live process holds, with its request;
  // deletes what crashed creations and interrupted Finish() calls left.
  // Problems with single jobs are appended to `errors` (may be null) and
  // the job is skipped.
  std::vector<Claimed> ClaimUnfinished(std::vector<absl::Status>* errors);

 private:
  explicit JobJournal(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_JOBS_JOB_JOURNAL_H_
