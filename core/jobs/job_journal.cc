#include "core/jobs/job_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/artifact/model_store.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

constexpr absl::string_view kRequest = "request";
constexpr absl::string_view kData = "data.csv";
constexpr absl::string_view kCheckpoint = "checkpoint";
constexpr absl::string_view kLock = "lock";
constexpr absl::string_view kTmpSuffix = ".tmp";

// Deletes a job directory's files, the request first, then the directory.
void RemoveJobDir(const std::string& dir) {
  for (absl::string_view f : {kRequest, kCheckpoint, kData, kLock}) {
    ::unlink(absl::StrCat(dir, "/", f).c_str());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // temporary checkpoint files
}

std::string NewUid() {
  static std::atomic<uint64_t> counter{0};
  std::random_device random;
  return absl::StrFormat("%d-%d-%d-%08x", absl::ToUnixMicros(absl::Now()),
                         ::getpid(), counter.fetch_add(1), random());
}

// Opens and flocks `path` without waiting: the descriptor, -1 when another
// process holds the lock, or the open error.
absl::StatusOr<int> TryLock(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return -1;
    return ErrnoStatus(err, "cannot lock", path);
  }
  return fd;
}

}  // namespace

JobJournal::Entry::~Entry() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string JobJournal::Entry::data_path() const {
  const std::string path = absl::StrCat(dir_, "/", kData);
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? path : std::string();
}

absl::Status JobJournal::Entry::SaveCheckpoint(absl::string_view bytes) {
  return WriteFileAtomically(absl::StrCat(dir_, "/", kCheckpoint), bytes);
}

absl::StatusOr<std::string> JobJournal::Entry::LoadCheckpoint() const {
  return ReadFile(absl::StrCat(dir_, "/", kCheckpoint));
}

void JobJournal::Entry::Finish() {
  if (lock_fd_ < 0) return;
  RemoveJobDir(dir_);
  const std::string parent = std::filesystem::path(dir_).parent_path();
  (void)FsyncDirectory(parent);
  ::close(lock_fd_);
  lock_fd_ = -1;
}

absl::StatusOr<std::unique_ptr<JobJournal>> JobJournal::Open(std::string dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) &&
      !std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot use '", dir, "' as the job journal: not a directory"));
  }
  return std::unique_ptr<JobJournal>(new JobJournal(std::move(dir)));
}

absl::StatusOr<std::unique_ptr<JobJournal::Entry>> JobJournal::Create(
    absl::string_view request, const std::string& data_file) {
  const std::string uid = NewUid();
  const std::string tmp = absl::StrCat(dir_, "/", uid, kTmpSuffix);
  const std::string final_dir = absl::StrCat(dir_, "/", uid);
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "cannot create", dir_);
  }
  if (::mkdir(tmp.c_str(), 0755) != 0) {
    return ErrnoStatus(errno, "cannot create", tmp);
  }
  int fd = -1;
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(fd, CreateLockedFile(absl::StrCat(tmp, "/", kLock)));
    RETURN_IF_ERROR(
        WriteFileAtomically(absl::StrCat(tmp, "/", kRequest), request));
    if (!data_file.empty()) {
      const std::string link = absl::StrCat(tmp, "/", kData);
      if (::link(data_file.c_str(), link.c_str()) != 0) {
        return ErrnoStatus(errno, absl::StrCat("cannot link '", data_file, "' as"),
                     link);
      }
    }
    RETURN_IF_ERROR(FsyncDirectory(tmp));
    if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
      return ErrnoStatus(errno, "cannot rename into", final_dir);
    }
    return FsyncDirectory(dir_);
  }();
  if (!status.ok()) {
    RemoveJobDir(tmp);
    if (fd >= 0) ::close(fd);
    return status;
  }
  return std::unique_ptr<Entry>(new Entry(uid, final_dir, fd));
}

std::vector<JobJournal::Claimed> JobJournal::ClaimUnfinished(
    std::vector<absl::Status>* errors) {
  std::vector<Claimed> out;
  auto note = [errors](absl::Status s) {
    if (errors != nullptr) errors->push_back(std::move(s));
  };
  std::error_code ec;
  std::vector<std::string> names;
  if (!std::filesystem::exists(dir_, ec)) return out;  // no job ever kept
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  if (ec) {
    note(ErrnoStatus(ec.value(), "cannot list", dir_));
    return out;
  }
  std::sort(names.begin(), names.end());  // oldest uid first
  for (const std::string& name : names) {
    const std::string dir = absl::StrCat(dir_, "/", name);
    const std::string lock = absl::StrCat(dir, "/", kLock);
    absl::StatusOr<int> fd = TryLock(lock);
    if (fd.ok() && *fd < 0) continue;  // a live process holds it
    if (absl::EndsWith(name, kTmpSuffix)) {
      // A creation that never finished: its creator is gone (or it never
      // got to take the lock).
      if (fd.ok() || absl::IsNotFound(fd.status())) RemoveJobDir(dir);
      if (fd.ok()) ::close(*fd);
      continue;
    }
    if (!fd.ok()) {
      if (absl::IsNotFound(fd.status())) {
        RemoveJobDir(dir);  // an interrupted Finish()
      } else {
        note(fd.status());
      }
      continue;
    }
    absl::StatusOr<std::string> request =
        ReadFile(absl::StrCat(dir, "/", kRequest));
    if (!request.ok()) {
      if (absl::IsNotFound(request.status())) {
        RemoveJobDir(dir);  // finished meanwhile, or an interrupted Finish()
      } else {
        note(request.status());
      }
      ::close(*fd);
      continue;
    }
    Claimed c;
    c.entry = std::unique_ptr<Entry>(new Entry(name, dir, *fd));
    c.request = *std::move(request);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace modelserver
