// File: core/registry/model_registry.h
// ModelRegistry: the models a server serves, by name and version, backed by
// a ModelStore (<model-dir>/<name>/<version>/model.msm). Open() loads every
// saved version; Publish() saves a new version and makes it visible; Get()
// hands out a shared_ptr snapshot that keeps the version alive while a
// request uses it, even if the version is deleted meanwhile.
//
// Thread-safety: every method may be called concurrently. Get() takes no
// lock: writers publish an immutable copy of the name -> versions map and
// bump a generation counter; each thread keeps the copy it last saw and
// takes the lock only to pick up a newer one. (So a deleted version's
// memory is freed once every thread that served it has called Get again.)
#ifndef MODELSERVER_CORE_REGISTRY_MODEL_REGISTRY_H_
#define MODELSERVER_CORE_REGISTRY_MODEL_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/artifact/artifact.h"
#include "core/artifact/model_store.h"

namespace modelserver {

class ModelRegistry {
 public:
  // What Open()/Refresh() found on disk.
  struct LoadReport {
    int loaded = 0;
    // Versions forgotten because their files are gone (Refresh only).
    int removed = 0;
    // One status per version that could not be loaded (DATA_LOSS, ...),
    // its message naming the file. Such versions are skipped, not fatal.
    std::vector<absl::Status> failures;
  };

  // Opens (creating if needed) the model directory and loads every version.
  // Errors only when the directory itself is unusable.
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Open(
      std::string model_dir, LoadReport* report = nullptr);

  // One version; `version` 0 = the latest. NOT_FOUND naming the model (and
  // version) when absent; INVALID_ARGUMENT for a bad name or version < 0.
  absl::StatusOr<std::shared_ptr<const Artifact>> Get(absl::string_view name,
                                                      int64_t version) const;
  // Every version of `name`, ascending. NOT_FOUND when it has none.
  absl::StatusOr<std::vector<std::shared_ptr<const Artifact>>> GetAll(
      absl::string_view name) const;

  // Saves `artifact` as the next version of `name` (atomically, see
  // ModelStore) and publishes it. Returns the version. Once this returns OK
  // the model is on disk and survives a restart.
  absl::StatusOr<int64_t> Publish(absl::string_view name, Artifact artifact);

  // Deletes one version (or every version when `version` is 0) from disk and
  // from the registry; returns the versions deleted, ascending. NOT_FOUND
  // when absent. Versions on disk that failed to load can be deleted too.
  // Snapshots handed out by Get() stay usable. Version numbers stay taken
  // (never reused).
  absl::StatusOr<std::vector<int64_t>> Delete(absl::string_view name,
                                              int64_t version);

  // Every model with its versions (ascending), sorted by name.
  std::vector<std::pair<std::string, std::vector<int64_t>>> List() const;

  // Re-scans the directory: loads versions written by other processes and
  // forgets versions whose files are gone. (Replicas sharing a directory.)
  // Files that fail to load are reported again on every call (and skipped).
  absl::Status Refresh(LoadReport* report = nullptr);

  const ModelStore& store() const { return *store_; }

 private:
  using Models =
      std::map<std::string, std::map<int64_t, std::shared_ptr<const Artifact>>,
               std::less<>>;

  explicit ModelRegistry(std::unique_ptr<ModelStore> store);

  // The latest published copy of models_, as this thread last saw it; valid
  // until this thread calls it again.
  const Models& Snapshot() const;
  // Makes the current models_ the published copy.
  void PublishSnapshotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<ModelStore> store_;
  const uint64_t id_;  // unique per instance, for the per-thread copies
  mutable absl::Mutex mu_;
  Models models_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const Models> snapshot_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
  // Versions deleted through this registry: a Refresh that loaded one of
  // them before the delete must not bring it back (numbers are never reused,
  // so this set only grows by the number of deletions).
  std::set<std::pair<std::string, int64_t>> deleted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_REGISTRY_MODEL_REGISTRY_H_
