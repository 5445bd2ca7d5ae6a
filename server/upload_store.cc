#include "server/upload_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/artifact/model_store.h"
#include "server/log.h"

namespace modelserver::server {
namespace {

constexpr size_t kIdHexDigits = 32;

std::string NewId() {
  std::random_device rd;  // /dev/urandom-backed on Linux
  std::string id;
  while (id.size() < kIdHexDigits) {
    absl::StrAppendFormat(&id, "%08x", static_cast<uint32_t>(rd()));
  }
  return id;
}

bool IsValidId(absl::string_view id) {
  if (id.size() != kIdHexDigits) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path) {
  const std::string text =
      absl::StrCat(what, " '", path, "': ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(text);
    case EACCES:
    case EPERM:
    case EROFS:
      // The server's disk, not the caller's rights.
      return absl::FailedPreconditionError(text);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(text);
    default:
      return absl::InternalError(text);
  }
}

bool IsUnwritable(int err) {
  return err == EACCES || err == EPERM || err == EROFS;
}

}  // namespace

UploadStore::Writer::Writer(std::string id, std::string part_path,
                            std::string final_path, std::FILE* file,
                            int64_t max_bytes)
    : id_(std::move(id)),
      part_path_(std::move(part_path)),
      final_path_(std::move(final_path)),
      file_(file),
      max_bytes_(max_bytes) {}

UploadStore::Writer::~Writer() { Abort(); }

void UploadStore::Writer::Abort() {
  if (file_ != nullptr) {
    ::unlink(part_path_.c_str());  // while still locked
    std::fclose(file_);
    file_ = nullptr;
  }
}

absl::Status UploadStore::Writer::Append(absl::string_view data) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError("upload is already finished");
  }
  if (static_cast<int64_t>(data.size()) > max_bytes_ - bytes_) {
    Abort();
    return absl::ResourceExhaustedError(
        absl::StrCat("upload exceeds the server's limit of ", max_bytes_,
                     " bytes (--max-upload-bytes)"));
  }
  if (!data.empty() &&
      std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    const int err = errno;
    Abort();
    return ErrnoStatus(err, "cannot write upload", part_path_);
  }
  bytes_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::Status UploadStore::Writer::Finish() {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError("upload is already finished");
  }
  if (bytes_ == 0) {
    Abort();
    return absl::InvalidArgumentError("upload is empty: no data was sent");
  }
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    const int err = errno;
    Abort();
    return ErrnoStatus(err, "cannot write upload", part_path_);
  }
  // Renamed while still open (and locked): never seen unlocked as .part.
  if (::rename(part_path_.c_str(), final_path_.c_str()) != 0) {
    const int err = errno;
    Abort();
    return ErrnoStatus(err, "cannot rename upload", part_path_);
  }
  std::fclose(file_);
  file_ = nullptr;
  const std::string dir =
      std::filesystem::path(final_path_).parent_path().string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int err = fd < 0 || ::fsync(fd) != 0 ? errno : 0;
  if (fd >= 0) ::close(fd);
  if (err != 0) {
    ::unlink(final_path_.c_str());
    return ErrnoStatus(err, "cannot fsync upload directory", dir);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UploadStore>> UploadStore::Create(
    Options options) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("upload directory is empty");
  }
  if (options.max_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max upload bytes must be >= 1, got ", options.max_bytes));
  }
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  int unwritable = ec ? ec.value() : 0;
  if (ec && !IsUnwritable(unwritable)) {
    return ErrnoStatus(ec.value(), "cannot create upload directory",
                       options.dir);
  }
  if (!ec && ::access(options.dir.c_str(), W_OK) != 0) unwritable = errno;
  auto store =
      std::unique_ptr<UploadStore>(new UploadStore(std::move(options)));
  const std::string& dir = store->options_.dir;
  if (unwritable != 0) {
    Log(LogLevel::kWarning,
        "the upload directory is not writable (a read-only model directory?): "
        "serving continues; UploadDataset fails until it is writable",
        {{"dir", dir}, {"error", std::strerror(unwritable)}});
    return store;
  }
  store->Sweep(absl::Now());
  // Partial uploads whose writer died (a crash): no one can finish them.
  int removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (absl::EndsWith(entry.path().filename().string(), ".csv.part") &&
        RemoveIfAbandoned(entry.path().string())) {
      ++removed;
    }
  }
  if (removed > 0) {
    Log(LogLevel::kInfo, "deleted partial uploads left by a crash",
        {{"dir", dir}, {"files", removed}});
  }
  return store;
}

absl::StatusOr<std::unique_ptr<UploadStore::Writer>> UploadStore::Begin() {
  Sweep(absl::Now());
  const std::string id = NewId();
  const std::string part = absl::StrCat(options_.dir, "/", id, ".csv.part");
  // (Created at start-up unless the model directory was read-only then.)
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) {
    return ErrnoStatus(ec.value(), "cannot create upload directory",
                       options_.dir);
  }
  absl::StatusOr<int> created = CreateLockedFile(part);
  if (!created.ok()) {
    return absl::Status(created.status().code(),
                        absl::StrCat("upload: ", created.status().message()));
  }
  const int fd = *created;
  std::FILE* file = ::fdopen(fd, "wb");
  if (file == nullptr) {
    const int err = errno;
    ::close(fd);
    ::unlink(part.c_str());
    return ErrnoStatus(err, "cannot open upload", part);
  }
  return std::unique_ptr<Writer>(
      new Writer(id, part, absl::StrCat(options_.dir, "/", id, ".csv"), file,
                 options_.max_bytes));
}

absl::StatusOr<std::string> UploadStore::PathOf(absl::string_view id) const {
  if (!IsValidId(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.upload_id: '", id.substr(0, 64),
                     "' is not an upload id (32 hex digits)"));
  }
  const std::string path = absl::StrCat(options_.dir, "/", id, ".csv");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat(
        "upload '", id,
        "' not found (it may not be complete, or it expired: uploads are "
        "kept for ",
        absl::FormatDuration(options_.max_age), ")"));
  }
  return path;
}

int UploadStore::Sweep(absl::Time now) {
  const absl::Time cutoff = now - options_.max_age;
  int deleted = 0;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!absl::EndsWith(name, ".csv") && !absl::EndsWith(name, ".csv.part")) {
      continue;
    }
    struct stat st;
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    if (absl::FromTimeT(st.st_mtime) < cutoff &&
        ::unlink(entry.path().c_str()) == 0) {
      ++deleted;
    }
  }
  return deleted;
}

}  // namespace modelserver::server
