// File: core/registry/model_registry.h
// ModelRegistry: the models a server serves, by name and version, backed by
// a ModelStore (<model-dir>/<name>/<version>/model.msm). Open() loads every
// saved version; Publish() saves a new version and makes it visible; Get()
// hands out a shared_ptr snapshot that keeps the version alive while a
// request uses it, even if the version is deleted meanwhile.
//
// Version policy: which versions on disk are loaded and served (the
// others stay on disk): the newest N that load (a broken newest version
// does not take the model down), all, or specific ones; versions that
// carry a label are always served. Labels ("stable", "canary", any name
// that starts with a letter) map to versions and live in
// <model-dir>/<name>/labels (one "label=version" per line, written
// atomically), so replicas sharing a directory share them. Refresh()
// applies the policy and the labels to what is on disk; Publish, Delete,
// SetLabel and RemoveLabel call it.
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

// Which versions of each model are served.
struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kAll;
  int latest = 1;              // kLatest: the newest `latest` versions
  std::set<int64_t> versions;  // kSpecific
  // "latest:N", "all" or "V1,V2,...": what ParseVersionPolicy reads.
  std::string ToString() const;
};
// "latest" (= latest:1), "latest:N" (N >= 1), "all", or a comma-separated
// list of versions >= 1; INVALID_ARGUMENT otherwise.
absl::StatusOr<VersionPolicy> ParseVersionPolicy(absl::string_view text);

// Label names: 1-64 characters of [A-Za-z0-9_.-] starting with a letter
// (so that a label is never read as a version number).
absl::Status ValidateLabel(absl::string_view label);

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
    // Temporary files left by crashed writers and deleted (Open only; see
    // ModelStore::RemoveAbandonedTempFiles).
    int temp_files_removed = 0;
  };

  // Opens (creating if needed) the model directory, deletes the temporary
  // files crashed writers left, and loads the versions `policy` (and the
  // labels) select. Errors only when the directory itself is unusable; a
  // read-only one opens and serves (saving, labels and deletes then fail
  // with FAILED_PRECONDITION).
  static absl::StatusOr<std::unique_ptr<ModelRegistry>> Open(
      std::string model_dir, LoadReport* report = nullptr,
      VersionPolicy policy = VersionPolicy());

  // One version; `version` 0 = the latest served. NOT_FOUND naming the
  // model (and version) when absent or not served; INVALID_ARGUMENT for a
  // bad name or version < 0.
  absl::StatusOr<std::shared_ptr<const Artifact>> Get(absl::string_view name,
                                                      int64_t version) const;
  // The version labelled `label`. NOT_FOUND when the model has no such
  // label; INVALID_ARGUMENT for a bad name or label.
  absl::StatusOr<std::shared_ptr<const Artifact>> GetLabeled(
      absl::string_view name, absl::string_view label) const;
  // Every served version of `name`, ascending. NOT_FOUND when it has none.
  absl::StatusOr<std::vector<std::shared_ptr<const Artifact>>> GetAll(
      absl::string_view name) const;

  // Saves `artifact` as the next version of `name` (atomically, see
  // ModelStore) and publishes it. Returns the version. Once this returns OK
  // the model is on disk and survives a restart.
  absl::StatusOr<int64_t> Publish(absl::string_view name, Artifact artifact);

  // Deletes one version (or every version, and the labels, when `version`
  // is 0) from disk and from the registry; returns the versions deleted,
  // ascending. NOT_FOUND when absent; FAILED_PRECONDITION for one version
  // that carries a label (move or remove the label first). Versions on disk
  // that failed to load or are not served can be deleted too.
  // Snapshots handed out by Get() stay usable. Version numbers stay taken
  // (never reused).
  absl::StatusOr<std::vector<int64_t>> Delete(absl::string_view name,
                                              int64_t version);

  // Every model with its served versions (ascending), sorted by name.
  std::vector<std::pair<std::string, std::vector<int64_t>>> List() const;

  // Points `label` of model `name` at `version`, which must be on disk
  // (NOT_FOUND otherwise), and serves that version. INVALID_ARGUMENT for a
  // bad name, label or version.
  absl::Status SetLabel(absl::string_view name, absl::string_view label,
                        int64_t version);
  // NOT_FOUND when the model has no such label.
  absl::Status RemoveLabel(absl::string_view name, absl::string_view label);
  // The labels of `name` (label -> version), as of the last Refresh.
  std::map<std::string, int64_t> Labels(absl::string_view name) const;
  // Versions of `name` on disk, served or not, ascending.
  absl::StatusOr<std::vector<int64_t>> StoredVersions(
      absl::string_view name) const;
  const VersionPolicy& policy() const { return policy_; }

  // Re-scans the directory: re-reads the labels, loads the versions the
  // policy and the labels select that are not loaded yet (written by other
  // processes, or newly selected) and forgets the others and those whose
  // files are gone. (Replicas sharing a directory call it periodically.)
  // A file that fails to load (or a labels file with a malformed line) is
  // reported once, and tried again only when it changes (size or
  // modification time).
  absl::Status Refresh(LoadReport* report = nullptr);

  const ModelStore& store() const { return *store_; }

 private:
  using Models =
      std::map<std::string, std::map<int64_t, std::shared_ptr<const Artifact>>,
               std::less<>>;
  using LabelMap =
      std::map<std::string, std::map<std::string, int64_t, std::less<>>,
               std::less<>>;
  // What Get and GetLabeled read.
  struct State {
    Models models;
    LabelMap labels;
  };

  ModelRegistry(std::unique_ptr<ModelStore> store, VersionPolicy policy);

  // The latest published copy of the state, as this thread last saw it;
  // valid until this thread calls it again.
  const State& Snapshot() const;
  // Makes the current models_ and labels_ the published copy.
  void PublishSnapshotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string LabelsPath(absl::string_view name) const;
  // The labels file of `name` (empty when absent); a malformed line is
  // reported in `failures` and skipped.
  std::map<std::string, int64_t, std::less<>> ReadLabels(
      absl::string_view name, std::vector<absl::Status>* failures) const;
  absl::Status WriteLabels(
      absl::string_view name,
      const std::map<std::string, int64_t, std::less<>>& labels) const;

  std::unique_ptr<ModelStore> store_;
  const VersionPolicy policy_;
  const uint64_t id_;  // unique per instance, for the per-thread copies
  // Serializes Refresh and label writes (each is a read-modify-write of
  // what is on disk). Taken before mu_, never while holding it.
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Files that failed to load: (name, version) -> (size, mtime in ns) when
  // they failed; tried again only when that changes.
  std::map<std::pair<std::string, int64_t>, std::pair<int64_t, int64_t>>
      failed_ ABSL_GUARDED_BY(refresh_mu_);
  // The same for labels files with a malformed line (reported once).
  std::map<std::string, std::pair<int64_t, int64_t>> labels_failed_
      ABSL_GUARDED_BY(refresh_mu_);
  mutable absl::Mutex mu_;
  Models models_ ABSL_GUARDED_BY(mu_);
  LabelMap labels_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const State> snapshot_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{0};
  // Versions deleted through this registry: a Refresh that loaded one of
  // them before the delete must not bring it back (numbers are never reused,
  // so this set only grows by the number of deletions).
  std::set<std::pair<std::string, int64_t>> deleted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_REGISTRY_MODEL_REGISTRY_H_
