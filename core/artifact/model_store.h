// File: core/artifact/model_store.h
// ModelStore: the model directory on disk.
//
//   <root>/<name>/<version>/model.msm     one artifact per version
//
// Names use the alphabet [A-Za-z0-9_.-], 1 to 128 characters, not starting
// with '.' (so no path can escape the root). Versions are positive integers
// and are never reused: a new version takes the next number after every
// existing version directory, claimed with an exclusive mkdir, so that
// several processes sharing one directory never write the same version.
// Saving is atomic: the artifact is written to a temporary file in the
// version directory, fsync'ed, renamed to model.msm and the directory
// fsync'ed; a half-written file is never visible under the final name.
// SaveNewVersion returns only once the version is durable (the model's
// directory and, for a new model, the root are fsync'ed too).
//
// Temporary files ("<file>.tmp-<pid>-<n>") are locked (flock) by their
// writer while it writes them, so a crashed writer's files can be told from
// those of a live one, also in another process sharing the directory:
// RemoveAbandonedTempFiles() deletes the former (the server calls it at
// start-up).
//
// Errors name the path and the cause (strerror): ENOSPC/EDQUOT/EFBIG are
// RESOURCE_EXHAUSTED; EACCES/EPERM/EROFS (an unwritable or read-only model
// directory: a state of the server's disk, not the caller's permissions)
// FAILED_PRECONDITION; ENOENT NOT_FOUND; others INTERNAL.
//
// Thread-safety: all methods may be called concurrently, also from several
// processes on the same root.
#ifndef MODELSERVER_CORE_ARTIFACT_MODEL_STORE_H_
#define MODELSERVER_CORE_ARTIFACT_MODEL_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/artifact/artifact.h"

namespace modelserver {

// OK, or INVALID_ARGUMENT explaining what is wrong with `name`.
absl::Status ValidateModelName(absl::string_view name);

// The status of a failed system call `what` on `path`, from its errno:
// NOT_FOUND (ENOENT); FAILED_PRECONDITION (EACCES, EPERM, EROFS: the
// server's disk, not the caller's rights); RESOURCE_EXHAUSTED (ENOSPC,
// EDQUOT, EFBIG); ALREADY_EXISTS (EEXIST); INTERNAL otherwise. The message
// is "<what> '<path>': <strerror>".
absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path);
// fsync of a directory: makes the entries created, renamed or removed in it
// durable.
absl::Status FsyncDirectory(const std::string& path);

// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync
// of the directory). The directory must exist. On failure the temporary
// file is removed.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view bytes);

// Creates `path` (exclusively, mode 0644) for writing and holds an exclusive
// flock on it until the returned descriptor is closed (by the caller): a
// file being written. ALREADY_EXISTS when `path` exists.
absl::StatusOr<int> CreateLockedFile(const std::string& path);
// Deletes `path` if no process holds its flock, i.e. its writer is gone;
// true when it deleted it. A file being written (CreateLockedFile) in this
// or any other process is left alone.
bool RemoveIfAbandoned(const std::string& path);
// Reads a whole file. NOT_FOUND if it does not exist; FAILED_PRECONDITION,
// without blocking, if it is not a regular file (a directory, FIFO or device).
absl::StatusOr<std::string> ReadFile(const std::string& path);

class ModelStore {
 public:
  // Opens (creating it and its parents if needed) the model directory; an
  // existing read-only one opens (Load and the listings work, saving fails).
  // FAILED_PRECONDITION naming the path when it cannot be created or is not
  // a directory.
  static absl::StatusOr<std::unique_ptr<ModelStore>> Open(std::string root);

  const std::string& root() const { return root_; }

  // Saves `artifact` as the next version of `name`, setting its metadata's
  // name and version, and returns the version once it is durable. On
  // failure nothing is left (no temporary file, no claimed version
  // directory) and the message names the model, the model directory, the
  // file and the cause, e.g. RESOURCE_EXHAUSTED "cannot save model 'm' in
  // the model directory '/d': cannot write '/d/m/3/model.msm.tmp-7-0': No
  // space left on device".
  absl::StatusOr<int64_t> SaveNewVersion(absl::string_view name,
                                         Artifact& artifact);
  // Loads one version. NOT_FOUND if absent; DATA_LOSS / FAILED_PRECONDITION
  // from Artifact::Decode, with the path in the message.
  absl::StatusOr<Artifact> Load(absl::string_view name, int64_t version) const;

  // Names with at least one saved version, sorted.
  absl::StatusOr<std::vector<std::string>> ListModels() const;
  // Saved versions of `name` (directories holding model.msm), ascending.
  // Empty if the model does not exist.
  absl::StatusOr<std::vector<int64_t>> ListVersions(
      absl::string_view name) const;

  // Deletes one version's artifact file (and fsyncs its directory). The
  // empty version directory stays, so the number is never reused.
  // NOT_FOUND naming the model and version if it has no artifact file;
  // INVALID_ARGUMENT for a bad name or version < 1.
  absl::Status DeleteVersion(absl::string_view name, int64_t version);

  // Path of a version's artifact file.
  std::string ArtifactPath(absl::string_view name, int64_t version) const;

  // Deletes the temporary files (<name>/labels.tmp-*,
  // <name>/<version>/model.msm.tmp-*) that no live writer holds: those left
  // by a crash. Returns how many it deleted.
  int RemoveAbandonedTempFiles();

 private:
  explicit ModelStore(std::string root) : root_(std::move(root)) {}

  std::string root_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_ARTIFACT_MODEL_STORE_H_
