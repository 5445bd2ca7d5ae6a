#include "core/registry/model_registry.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

// (size, modification time in ns) of a file; (-1, -1) when it cannot be
// read.
std::pair<int64_t, int64_t> Stamp(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return {-1, -1};
  const auto time = std::filesystem::last_write_time(path, ec);
  if (ec) return {-1, -1};
  return {static_cast<int64_t>(size),
          static_cast<int64_t>(time.time_since_epoch().count())};
}

}  // namespace

std::string VersionPolicy::ToString() const {
  switch (kind) {
    case Kind::kLatest:
      return absl::StrCat("latest:", latest);
    case Kind::kAll:
      return "all";
    case Kind::kSpecific:
      return absl::StrJoin(versions, ",");
  }
  return "all";
}

absl::StatusOr<VersionPolicy> ParseVersionPolicy(absl::string_view text) {
  VersionPolicy policy;
  const std::string bad = absl::StrCat(
      "version policy '", text,
      "': expected latest, latest:N (N >= 1), all, or versions such as 1,3");
  if (text == "all") {
    policy.kind = VersionPolicy::Kind::kAll;
    return policy;
  }
  if (text == "latest") {
    policy.kind = VersionPolicy::Kind::kLatest;
    return policy;
  }
  if (absl::ConsumePrefix(&text, "latest:")) {
    int n = 0;
    if (!absl::SimpleAtoi(text, &n) || n < 1) {
      return absl::InvalidArgumentError(bad);
    }
    policy.kind = VersionPolicy::Kind::kLatest;
    policy.latest = n;
    return policy;
  }
  policy.kind = VersionPolicy::Kind::kSpecific;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &v) || v < 1) {
      return absl::InvalidArgumentError(bad);
    }
    policy.versions.insert(v);
  }
  return policy;
}

absl::Status ValidateLabel(absl::string_view label) {
  const bool ok =
      !label.empty() && label.size() <= 64 && absl::ascii_isalpha(label[0]) &&
      std::all_of(label.begin(), label.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
      });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "label '", label,
      "': use 1-64 characters of A-Z a-z 0-9 _ . - starting with a letter"));
}

ModelRegistry::ModelRegistry(std::unique_ptr<ModelStore> store,
                             VersionPolicy policy)
    : store_(std::move(store)),
      policy_(std::move(policy)),
      id_(g_next_registry_id.fetch_add(1)) {
  absl::MutexLock lock(&mu_);
  PublishSnapshotLocked();
}

void ModelRegistry::PublishSnapshotLocked() {
  snapshot_ = std::make_shared<const State>(State{models_, labels_});
  generation_.fetch_add(1, std::memory_order_release);
}

const ModelRegistry::State& ModelRegistry::Snapshot() const {
  struct Seen {
    uint64_t registry = 0;
    uint64_t generation = 0;
    std::shared_ptr<const State> models;
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
    std::string model_dir, LoadReport* report, VersionPolicy policy) {
  ASSIGN_OR_RETURN(std::unique_ptr<ModelStore> store,
                   ModelStore::Open(std::move(model_dir)));
  const int removed = store->RemoveAbandonedTempFiles();
  std::unique_ptr<ModelRegistry> registry(
      new ModelRegistry(std::move(store), std::move(policy)));
  RETURN_IF_ERROR(registry->Refresh(report));
  if (report != nullptr) report->temp_files_removed = removed;
  return registry;
}

absl::StatusOr<std::shared_ptr<const Artifact>> ModelRegistry::Get(
    absl::string_view name, int64_t version) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateVersion(name, version));
  const Models& models = Snapshot().models;
  auto it = models.find(name);
  if (it != models.end() && !it->second.empty()) {
    if (version == 0) return it->second.rbegin()->second;
    auto v = it->second.find(version);
    if (v != it->second.end()) return v->second;
  }
  // Not served: say whether it is on disk (the error path may read it).
  absl::StatusOr<std::vector<int64_t>> stored = store_->ListVersions(name);
  const bool on_disk =
      stored.ok() && !stored->empty() &&
      (version == 0 ||
       std::binary_search(stored->begin(), stored->end(), version));
  if (on_disk) {
    return absl::NotFoundError(absl::StrCat(
        "model '", name, "'", version == 0 ? "" : " version ",
        version == 0 ? "" : absl::StrCat(version),
        " is in the model directory but not served (version policy ",
        policy_.ToString(), "; a label serves a version)"));
  }
  if (it == models.end() || it->second.empty()) return ModelNotFound(name);
  return VersionNotFound(name, version);
}

absl::StatusOr<std::shared_ptr<const Artifact>> ModelRegistry::GetLabeled(
    absl::string_view name, absl::string_view label) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateLabel(label));
  const State& state = Snapshot();
  auto labels = state.labels.find(name);
  if (labels == state.labels.end() || !labels->second.contains(label)) {
    return absl::NotFoundError(
        absl::StrCat("model '", name, "' has no label '", label, "'"));
  }
  const int64_t version = labels->second.find(label)->second;
  auto model = state.models.find(name);
  if (model != state.models.end()) {
    auto v = model->second.find(version);
    if (v != model->second.end()) return v->second;
  }
  return absl::NotFoundError(absl::StrCat(
      "label '", label, "' of model '", name, "' points to version ",
      version, ", which is not loaded"));
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
  {
    absl::MutexLock lock(&mu_);
    models_[std::string(name)].insert_or_assign(version, std::move(shared));
    PublishSnapshotLocked();
  }
  // Apply the version policy (an older version may stop being served). The
  // version is on disk and served whatever this says; a failure here is
  // retried by the next Refresh.
  (void)Refresh();
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
    for (const auto& [label, v] : ReadLabels(name, nullptr)) {
      if (v == version) {
        return absl::FailedPreconditionError(absl::StrCat(
            "version ", version, " of model '", name, "' carries label '",
            label, "'; move or remove the label first"));
      }
    }
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

  if (version == 0 && error.ok()) {
    // The whole model goes: its labels too.
    std::error_code ec;
    std::filesystem::remove(LabelsPath(name), ec);
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = models_.find(std::string(name));
    for (int64_t v : deleted) {
      deleted_.insert({std::string(name), v});
      if (it != models_.end()) it->second.erase(v);
    }
    if (it != models_.end() && it->second.empty()) models_.erase(it);
    if (version == 0) labels_.erase(std::string(name));
    PublishSnapshotLocked();
  }
  // An older version may now be selected by the policy.
  (void)Refresh();
  if (!error.ok()) return error;
  return deleted;
}

std::string ModelRegistry::LabelsPath(absl::string_view name) const {
  return absl::StrCat(store_->root(), "/", name, "/labels");
}

std::map<std::string, int64_t, std::less<>> ModelRegistry::ReadLabels(
    absl::string_view name, std::vector<absl::Status>* failures) const {
  std::map<std::string, int64_t, std::less<>> labels;
  const std::string path = LabelsPath(name);
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (!absl::IsNotFound(text.status()) && failures != nullptr) {
      failures->push_back(text.status());
    }
    return labels;
  }
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    int64_t version = 0;
    if (!ValidateLabel(kv.first).ok() || !absl::SimpleAtoi(kv.second, &version) ||
        version < 1) {
      if (failures != nullptr) {
        failures->push_back(absl::DataLossError(absl::StrCat(
            path, ":", line_number, ": expected label=version, got '", line,
            "'")));
      }
      continue;
    }
    labels[std::string(kv.first)] = version;
  }
  return labels;
}

absl::Status ModelRegistry::WriteLabels(
    absl::string_view name,
    const std::map<std::string, int64_t, std::less<>>& labels) const {
  std::string text;
  for (const auto& [label, version] : labels) {
    absl::StrAppend(&text, label, "=", version, "\n");
  }
  return WriteFileAtomically(LabelsPath(name), text);
}

absl::Status ModelRegistry::SetLabel(absl::string_view name,
                                     absl::string_view label,
                                     int64_t version) {
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateLabel(label));
  if (version < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "version ", version, ": a label points to a version >= 1"));
  }
  {
    absl::MutexLock lock(&refresh_mu_);
    ASSIGN_OR_RETURN(std::vector<int64_t> on_disk, store_->ListVersions(name));
    if (std::find(on_disk.begin(), on_disk.end(), version) == on_disk.end()) {
      return on_disk.empty() ? ModelNotFound(name)
                             : VersionNotFound(name, version);
    }
    std::map<std::string, int64_t, std::less<>> labels =
        ReadLabels(name, nullptr);
    labels[std::string(label)] = version;
    RETURN_IF_ERROR(WriteLabels(name, labels));
  }
  return Refresh();
}

absl::Status ModelRegistry::RemoveLabel(absl::string_view name,
                                        absl::string_view label) {
  RETURN_IF_ERROR(ValidateModelName(name));
  RETURN_IF_ERROR(ValidateLabel(label));
  {
    absl::MutexLock lock(&refresh_mu_);
    std::map<std::string, int64_t, std::less<>> labels =
        ReadLabels(name, nullptr);
    auto it = labels.find(label);
    if (it == labels.end()) {
      return absl::NotFoundError(
          absl::StrCat("model '", name, "' has no label '", label, "'"));
    }
    labels.erase(it);
    RETURN_IF_ERROR(WriteLabels(name, labels));
  }
  return Refresh();
}

std::map<std::string, int64_t> ModelRegistry::Labels(
    absl::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = labels_.find(name);
  if (it == labels_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

absl::StatusOr<std::vector<int64_t>> ModelRegistry::StoredVersions(
    absl::string_view name) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  return store_->ListVersions(name);
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
  absl::MutexLock refresh_lock(&refresh_mu_);
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

  // Scan and load without holding mu_.
  std::set<std::pair<std::string, int64_t>> wanted;
  LabelMap labels;
  std::vector<std::pair<std::pair<std::string, int64_t>,
                        std::shared_ptr<const Artifact>>>
      loaded;
  ASSIGN_OR_RETURN(std::vector<std::string> names, store_->ListModels());
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(std::vector<int64_t> versions, store_->ListVersions(name));
    std::vector<absl::Status> label_failures;
    auto model_labels = ReadLabels(name, &label_failures);
    if (label_failures.empty()) {
      labels_failed_.erase(name);
    } else if (report != nullptr) {
      const std::pair<int64_t, int64_t> stamp = Stamp(LabelsPath(name));
      auto [it, inserted] = labels_failed_.try_emplace(name, stamp);
      if (inserted || it->second != stamp) {
        it->second = stamp;
        for (absl::Status& f : label_failures) {
          local.failures.push_back(std::move(f));
        }
      }
    }
    // Whether version v can be served: loaded already, or loaded now. A
    // file that failed before and has not changed is not tried again.
    std::map<int64_t, bool> tried;
    auto available = [&](int64_t v) -> bool {
      auto done = tried.find(v);
      if (done != tried.end()) return done->second;
      const std::pair<std::string, int64_t> key{name, v};
      bool ok = known.count(key) > 0;
      if (!ok) {
        const std::pair<int64_t, int64_t> stamp =
            Stamp(store_->ArtifactPath(name, v));
        auto failed = failed_.find(key);
        if (failed == failed_.end() || failed->second != stamp) {
          absl::StatusOr<Artifact> artifact = store_->Load(name, v);
          if (artifact.ok()) {
            failed_.erase(key);
            loaded.push_back(
                {key, std::make_shared<const Artifact>(*std::move(artifact))});
            ok = true;
          } else if (!absl::IsNotFound(artifact.status())) {
            // (NOT_FOUND: deleted between the listing and the load.)
            local.failures.push_back(artifact.status());
            // Remembered only when someone is told (the poller, Open's
            // caller): the refreshes after Publish, Delete and label
            // changes pass no report, and must leave it to be reported.
            if (report != nullptr) failed_[key] = stamp;
          }
        }
      }
      tried[v] = ok;
      if (ok) wanted.insert(key);
      return ok;
    };
    switch (policy_.kind) {
      case VersionPolicy::Kind::kAll:
        for (int64_t v : versions) available(v);
        break;
      case VersionPolicy::Kind::kSpecific:
        for (int64_t v : versions) {
          if (policy_.versions.count(v) > 0) available(v);
        }
        break;
      case VersionPolicy::Kind::kLatest: {
        // The newest N that load: a broken newest version does not take
        // the model down.
        int taken = 0;
        for (auto it = versions.rbegin();
             it != versions.rend() && taken < policy_.latest; ++it) {
          if (available(*it)) ++taken;
        }
        break;
      }
    }
    for (const auto& [label, v] : model_labels) {
      if (std::binary_search(versions.begin(), versions.end(), v)) {
        available(v);
      }
    }
    if (!model_labels.empty()) labels[name] = std::move(model_labels);
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
      if (wanted.count(key) > 0) continue;
      auto it = models_.find(key.first);
      if (it == models_.end()) continue;
      local.removed += static_cast<int>(it->second.erase(key.second));
      if (it->second.empty()) models_.erase(it);
    }
    labels_ = std::move(labels);
    PublishSnapshotLocked();
  }
  if (report != nullptr) *report = std::move(local);
  return absl::OkStatus();
}

}  // namespace modelserver
