#include "core/registry/model_registry.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

absl::Status ValidateVersion(absl::string_view name, int64_t version) {
  if (version < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("version ", version, " of model '", name,
                     "' is negative; use 0 for the latest version"));
  }
  return absl::OkStatus();
}

absl::Status ModelNotFound(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat("model '", name, "' not found"));
}

absl::Status VersionNotFound(absl::string_view name, int64_t version) {
  return absl::NotFoundError(
      absl::StrCat("model '", name, "' has no version ", version));
}

std::atomic<uint64_t> g_next_registry_id{1};

}  // namespace

ModelRegistry::ModelRegistry(std::unique_ptr<ModelStore> store)
    : store_(std::move(store)), id_(g_next_registry_id.fetch_add(1)) {
  absl::MutexLock lock(&mu_);
  PublishSnapshotLocked();
}

void ModelRegistry::PublishSnapshotLocked() {
  snapshot_ = std::make_shared<const Models>(models_);
  generation_.fetch_add(1, std::memory_order_release);
}

const ModelRegistry::Models& ModelRegistry::Snapshot() const {
  struct Seen {
    uint64_t registry = 0;
    uint64_t generation = 0;
    std::shared_ptr<const Models> models;
  };
  thread_local Seen seen;
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (seen.registry != id_ || seen.generation != generation) {
    absl::ReaderMutexLock lock(&mu_);
    seen.registry = id_;
    seen.generation = generation_.load(std::memory_order_relaxed);
    seen.models = snapshot_;
  }
  return *seen.models;
}

absl::StatusOr<std::unique_ptr<ModelRegistry>> ModelRegistry::Open(
    std::string model_dir, LoadReport* report) {
  ASSIGN_OR_RETURN(std::unique_ptr<ModelStore> store,
                   ModelStore::Open(std::move(model_dir)));
  std::unique_ptr<ModelRegistry> registry(new ModelRegistry(std::move(store)));
  RETURN_IF_ERROR(registry->Refresh(report));
  return registry;
}

absl::StatusOr<std::shared_ptr<const Artifact>> ModelRegistry::Get(
    absl::string_view name, int64_t version) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateVersion(name, version));
  const Models& models = Snapshot();
  auto it = models.find(name);
  if (it == models.end() || it->second.empty()) return ModelNotFound(name);
  if (version == 0) return it->second.rbegin()->second;
  auto v = it->second.find(version);
  if (v == it->second.end()) return VersionNotFound(name, version);
  return v->second;
}

absl::StatusOr<std::vector<std::shared_ptr<const Artifact>>>
ModelRegistry::GetAll(absl::string_view name) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  absl::ReaderMutexLock lock(&mu_);
  auto it = models_.find(std::string(name));
  if (it == models_.end() || it->second.empty()) return ModelNotFound(name);
  std::vector<std::shared_ptr<const Artifact>> out;
  out.reserve(it->second.size());
  for (const auto& [version, artifact] : it->second) out.push_back(artifact);
  return out;
}

absl::StatusOr<int64_t> ModelRegistry::Publish(absl::string_view name,
                                               Artifact artifact) {
  // The store sets the metadata's name and version and writes the file
  // atomically; only then does the version become visible.
  ASSIGN_OR_RETURN(int64_t version, store_->SaveNewVersion(name, artifact));
  auto shared = std::make_shared<const Artifact>(std::move(artifact));
  absl::MutexLock lock(&mu_);
  models_[std::string(name)].insert_or_assign(version, std::move(shared));
  PublishSnapshotLocked();
  return version;
}

absl::StatusOr<std::vector<int64_t>> ModelRegistry::Delete(
    absl::string_view name, int64_t version) {
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateVersion(name, version));
  // The versions to delete: those loaded and those on disk (a version that
  // failed to load can be deleted too).
  std::set<int64_t> candidates;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = models_.find(std::string(name));
    if (it != models_.end()) {
      for (const auto& [v, artifact] : it->second) candidates.insert(v);
    }
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> on_disk, store_->ListVersions(name));
  candidates.insert(on_disk.begin(), on_disk.end());
  if (version != 0) {
    if (candidates.count(version) == 0) return VersionNotFound(name, version);
    candidates = {version};
  } else if (candidates.empty()) {
    return ModelNotFound(name);
  }

  std::vector<int64_t> deleted;
  absl::Status error;
  for (int64_t v : candidates) {
    absl::Status s = store_->DeleteVersion(name, v);
    // NOT_FOUND: the file is already gone (another replica deleted it).
    if (s.ok() || absl::IsNotFound(s)) {
      deleted.push_back(v);
    } else if (error.ok()) {
      error = s;
    }
  }

  absl::MutexLock lock(&mu_);
  auto it = models_.find(std::string(name));
  for (int64_t v : deleted) {
    deleted_.insert({std::string(name), v});
    if (it != models_.end()) it->second.erase(v);
  }
  if (it != models_.end() && it->second.empty()) models_.erase(it);
  PublishSnapshotLocked();
  if (!error.ok()) return error;
  return deleted;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> ModelRegistry::List()
    const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  absl::ReaderMutexLock lock(&mu_);
  out.reserve(models_.size());
  for (const auto& [name, versions] : models_) {
    if (versions.empty()) continue;
    std::vector<int64_t> numbers;
    numbers.reserve(versions.size());
    for (const auto& [v, artifact] : versions) numbers.push_back(v);
    out.emplace_back(name, std::move(numbers));
  }
  return out;
}

absl::Status ModelRegistry::Refresh(LoadReport* report) {
  LoadReport local;
  // What is loaded now. Taken before the scan, so that a version published
  // during the scan is never mistaken for one whose file vanished.
  std::set<std::pair<std::string, int64_t>> known;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, versions] : models_) {
      for (const auto& [v, artifact] : versions) known.insert({name, v});
    }
  }

  // Scan and load without holding the lock.
  std::set<std::pair<std::string, int64_t>> on_disk;
  std::vector<std::pair<std::pair<std::string, int64_t>,
                        std::shared_ptr<const Artifact>>>
      loaded;
  ASSIGN_OR_RETURN(std::vector<std::string> names, store_->ListModels());
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(std::vector<int64_t> versions, store_->ListVersions(name));
    for (int64_t v : versions) {
      on_disk.insert({name, v});
      if (known.count({name, v}) > 0) continue;
      absl::StatusOr<Artifact> artifact = store_->Load(name, v);
      if (!artifact.ok()) {
        // Deleted between the listing and the load: not a failure.
        if (!absl::IsNotFound(artifact.status())) {
          local.failures.push_back(artifact.status());
        }
        continue;
      }
      loaded.push_back(
          {{name, v}, std::make_shared<const Artifact>(*std::move(artifact))});
    }
  }

  {
    absl::MutexLock lock(&mu_);
    for (auto& [key, artifact] : loaded) {
      // Deleted through this registry while we were loading.
      if (deleted_.count(key) > 0) continue;
      auto& versions = models_[key.first];
      if (versions.emplace(key.second, std::move(artifact)).second) {
        ++local.loaded;
      }
    }
    for (const auto& key : known) {
      if (on_disk.count(key) > 0) continue;
      auto it = models_.find(key.first);
      if (it == models_.end()) continue;
      local.removed += static_cast<int>(it->second.erase(key.second));
      if (it->second.empty()) models_.erase(it);
    }
    PublishSnapshotLocked();
  }
  if (report != nullptr) *report = std::move(local);
  return absl::OkStatus();
}

}  // namespace modelserver
