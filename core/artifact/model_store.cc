#include "core/artifact/model_store.h"

#include <fcntl.h>
#include <sys/file.h>
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
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

constexpr char kArtifactFile[] = "model.msm";
constexpr size_t kMaxNameLength = 128;

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
      // The server's disk, not the caller's rights (PERMISSION_DENIED is
      // what a client gets for a token without the role).
      return absl::FailedPreconditionError(msg);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::ResourceExhaustedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status FsyncDirectory(const std::string& path) {
  return FsyncPath(path, O_RDONLY | O_DIRECTORY);
}

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

absl::StatusOr<int> CreateLockedFile(const std::string& path) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus(errno, "cannot create", path);
    if (::flock(fd, LOCK_EX) != 0) {
      int err = errno;
      ::unlink(path.c_str());
      ::close(fd);
      return ErrnoStatus(err, "cannot lock", path);
    }
    // A RemoveIfAbandoned() may have deleted the file between the open and
    // the flock: then create it again.
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_nlink > 0) return fd;
    ::close(fd);
  }
  return absl::AbortedError(
      absl::StrCat("cannot create '", path, "': deleted while being created"));
}

bool RemoveIfAbandoned(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  bool removed = false;
  struct stat held, now;
  // Locked by us, so no writer holds it; and still the file at `path` (its
  // writer may have renamed it into place meanwhile).
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &held) == 0 &&
      S_ISREG(held.st_mode) && ::lstat(path.c_str(), &now) == 0 &&
      now.st_dev == held.st_dev && now.st_ino == held.st_ino) {
    removed = ::unlink(path.c_str()) == 0;
  }
  ::close(fd);
  return removed;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view bytes) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0;; ++attempt) {
    tmp = absl::StrCat(path, ".tmp-", ::getpid(), "-", counter.fetch_add(1));
    absl::StatusOr<int> created = CreateLockedFile(tmp);
    if (created.ok()) {
      fd = *created;
      break;
    }
    // A name taken by a file of an earlier process with the same pid (pid 1
    // in every container) or of another replica: take the next number.
    if (!absl::IsAlreadyExists(created.status()) || attempt >= 1000) {
      return created.status();
    }
  }
  // Until the rename, failures remove the temporary file (still locked).
  auto fail = [&](int err, absl::string_view what, const std::string& p) {
    ::unlink(tmp.c_str());
    ::close(fd);
    return ErrnoStatus(err, what, p);
  };
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "cannot write", tmp);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(errno, "cannot fsync", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(errno, "cannot rename into", path);
  }
  if (::close(fd) != 0) return ErrnoStatus(errno, "cannot close", path);
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
  auto fail = [&](const absl::Status& s) {
    return absl::Status(
        s.code(), absl::StrCat("cannot save model '", name,
                               "' in the model directory '", root_,
                               "': ", s.message()));
  };
  const std::string model_dir = absl::StrCat(root_, "/", name);
  if (::mkdir(model_dir.c_str(), 0755) == 0) {
    // A new model: its directory entry must be durable too.
    if (absl::Status s = FsyncPath(root_, O_RDONLY | O_DIRECTORY); !s.ok()) {
      return fail(s);
    }
  } else if (errno != EEXIST) {
    return fail(ErrnoStatus(errno, "cannot create", model_dir));
  }
  // The next number after every existing version directory, even empty ones
  // (left by a crash, or by a deletion): numbers are never reused.
  int64_t next = 1;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    int64_t v;
    if (ParseVersion(entry.path().filename().string(), &v)) {
      next = std::max(next, v + 1);
    }
  }
  if (ec) return fail(ErrnoStatus(ec.value(), "cannot list", model_dir));
  std::string dir;
  for (;; ++next) {
    dir = absl::StrCat(model_dir, "/", next);
    if (::mkdir(dir.c_str(), 0755) == 0) break;
    if (errno != EEXIST) return fail(ErrnoStatus(errno, "cannot create", dir));
  }
  artifact.mutable_metadata().name = std::string(name);
  artifact.mutable_metadata().version = next;
  absl::Status s = FsyncPath(model_dir, O_RDONLY | O_DIRECTORY);
  if (s.ok()) s = WriteFileAtomically(ArtifactPath(name, next), artifact.Encode());
  if (!s.ok()) {
    // Nothing stays: not the file (if the rename happened but a later
    // fsync failed), not the claimed directory (its number was never
    // reported, so it may be taken again).
    ::unlink(ArtifactPath(name, next).c_str());
    ::rmdir(dir.c_str());
    return fail(s);
  }
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

int ModelStore::RemoveAbandonedTempFiles() {
  int removed = 0;
  std::error_code ec;
  for (const auto& model : std::filesystem::directory_iterator(root_, ec)) {
    if (!ValidateModelName(model.path().filename().string()).ok()) continue;
    std::error_code model_ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(model.path(), model_ec)) {
      const std::string file = entry.path().filename().string();
      int64_t v;
      if (absl::StartsWith(file, "labels.tmp-")) {
        removed += RemoveIfAbandoned(entry.path().string()) ? 1 : 0;
      } else if (ParseVersion(file, &v)) {
        std::error_code version_ec;
        for (const auto& f :
             std::filesystem::directory_iterator(entry.path(), version_ec)) {
          if (absl::StartsWith(f.path().filename().string(),
                               absl::StrCat(kArtifactFile, ".tmp-"))) {
            removed += RemoveIfAbandoned(f.path().string()) ? 1 : 0;
          }
        }
      }
    }
  }
  return removed;
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
