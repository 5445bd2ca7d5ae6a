#include "core/artifact/model_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

constexpr char kArtifactFile[] = "model.msm";
constexpr size_t kMaxNameLength = 128;

absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path) {
  const std::string msg =
      absl::StrCat(what, " '", path, "': ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "cannot fsync", path);
  return absl::OkStatus();
}

// Parses a version directory name: a positive decimal without leading zeros.
bool ParseVersion(const std::string& s, int64_t* v) {
  if (s.empty() || s[0] == '0' || s.size() > 18) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && *v > 0;
}

}  // namespace

absl::Status ValidateModelName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("model name is empty");
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("model name is ", name.size(),
                     " characters long; the limit is ", kMaxNameLength));
  }
  if (name[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat("model name '", name, "' must not start with '.'"));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("model name '", absl::CHexEscape(name),
                       "' may only use letters, digits, '_', '-' and '.'"));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view bytes) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      absl::StrCat(path, ".tmp-", ::getpid(), "-", counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", tmp);
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoStatus(err, "cannot write", tmp);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "cannot fsync", tmp);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "cannot close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "cannot rename into", path);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return FsyncPath(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  // O_NONBLOCK: a FIFO where a file belongs must not block open() (and with
  // it the registry's re-scan) forever; regular files ignore the flag.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    // A directory, FIFO or device (/dev/zero would never end).
    ::close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not a regular file"));
  }
  if (st.st_size > 0) out.reserve(st.st_size);
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::StatusOr<std::unique_ptr<ModelStore>> ModelStore::Open(std::string root) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    return ErrnoStatus(ec.value(), "cannot create the model directory", root);
  }
  if (!std::filesystem::is_directory(root, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("model directory '", root, "' is not a directory"));
  }
  return std::unique_ptr<ModelStore>(new ModelStore(std::move(root)));
}

std::string ModelStore::ArtifactPath(absl::string_view name,
                                     int64_t version) const {
  return absl::StrCat(root_, "/", name, "/", version, "/", kArtifactFile);
}

absl::StatusOr<int64_t> ModelStore::SaveNewVersion(absl::string_view name,
                                                   Artifact& artifact) {
  RETURN_IF_ERROR(ValidateModelName(name));
  const std::string model_dir = absl::StrCat(root_, "/", name);
  if (::mkdir(model_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "cannot create", model_dir);
  }
  // The next number after every existing version directory, even empty ones
  // (left by a crash): numbers are never reused.
  int64_t next = 1;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    int64_t v;
    if (ParseVersion(entry.path().filename().string(), &v)) {
      next = std::max(next, v + 1);
    }
  }
  if (ec) return ErrnoStatus(ec.value(), "cannot list", model_dir);
  for (;; ++next) {
    const std::string dir = absl::StrCat(model_dir, "/", next);
    if (::mkdir(dir.c_str(), 0755) == 0) break;
    if (errno != EEXIST) return ErrnoStatus(errno, "cannot create", dir);
  }
  RETURN_IF_ERROR(FsyncPath(model_dir, O_RDONLY | O_DIRECTORY));
  artifact.mutable_metadata().name = std::string(name);
  artifact.mutable_metadata().version = next;
  RETURN_IF_ERROR(
      WriteFileAtomically(ArtifactPath(name, next), artifact.Encode()));
  return next;
}

absl::StatusOr<Artifact> ModelStore::Load(absl::string_view name,
                                          int64_t version) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  const std::string path = ArtifactPath(name, version);
  auto bytes = ReadFile(path);
  if (!bytes.ok()) {
    if (absl::IsNotFound(bytes.status())) {
      return absl::NotFoundError(
          absl::StrCat("model '", name, "' has no version ", version));
    }
    return bytes.status();
  }
  auto artifact = Artifact::Decode(*bytes);
  if (!artifact.ok()) {
    return absl::Status(artifact.status().code(),
                        absl::StrCat(path, ": ", artifact.status().message()));
  }
  return artifact;
}

absl::Status ModelStore::DeleteVersion(absl::string_view name,
                                       int64_t version) {
  RETURN_IF_ERROR(ValidateModelName(name));
  if (version < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "version ", version, " of model '", name, "' is not positive"));
  }
  const std::string path = ArtifactPath(name, version);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("model '", name, "' has no version ", version));
    }
    return ErrnoStatus(errno, "cannot delete", path);
  }
  // The version directory stays (empty): its number is never reused.
  return FsyncPath(absl::StrCat(root_, "/", name, "/", version),
                   O_RDONLY | O_DIRECTORY);
}

absl::StatusOr<std::vector<std::string>> ModelStore::ListModels() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!ValidateModelName(name).ok() || !entry.is_directory(ec)) continue;
    ASSIGN_OR_RETURN(std::vector<int64_t> versions, ListVersions(name));
    if (!versions.empty()) names.push_back(name);
  }
  if (ec) return ErrnoStatus(ec.value(), "cannot list", root_);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::vector<int64_t>> ModelStore::ListVersions(
    absl::string_view name) const {
  RETURN_IF_ERROR(ValidateModelName(name));
  std::vector<int64_t> versions;
  const std::string model_dir = absl::StrCat(root_, "/", name);
  std::error_code ec;
  if (!std::filesystem::exists(model_dir, ec)) return versions;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    int64_t v;
    if (ParseVersion(entry.path().filename().string(), &v) &&
        std::filesystem::exists(entry.path() / kArtifactFile, ec)) {
      versions.push_back(v);
    }
  }
  if (ec) return ErrnoStatus(ec.value(), "cannot list", model_dir);
  std::sort(versions.begin(), versions.end());
  return versions;
}

}  // namespace modelserver
