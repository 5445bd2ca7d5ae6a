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

// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync
// of the directory). The directory must exist.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view bytes);
// Reads a whole file. NOT_FOUND if it does not exist; FAILED_PRECONDITION,
// without blocking, if it is not a regular file (a directory, FIFO or device).
absl::StatusOr<std::string> ReadFile(const std::string& path);

class ModelStore {
 public:
  // Opens (creating it and its parents if needed) the model directory.
  // FAILED_PRECONDITION / PERMISSION_DENIED naming the path on failure.
  static absl::StatusOr<std::unique_ptr<ModelStore>> Open(std::string root);

  const std::string& root() const { return root_; }

  // Saves `artifact` as the next version of `name`, setting its metadata's
  // name and version, and returns the version.
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

 private:
  explicit ModelStore(std::string root) : root_(std::move(root)) {}

  std::string root_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_ARTIFACT_MODEL_STORE_H_
