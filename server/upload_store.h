// File: server/upload_store.h
// UploadStore: CSV files uploaded in chunks (UploadDataset), kept as
//   <dir>/<id>.csv.part   while being written
//   <dir>/<id>.csv        once complete (renamed atomically)
// where <id> is 32 random lowercase hex digits. The directory is
// `<model-dir>/.uploads` in the server: its name starts with '.', so the
// model store never mistakes it for a model. Uploads (complete or not)
// older than Options::max_age are deleted by Sweep(), which runs at Create()
// and at every Begin(). A .part file is locked (flock) by its writer, so
// Create() also deletes the .part files of writers that died (a crash),
// and no upload that another process sharing the directory is writing.
// A complete upload is durable (file and directory fsync'ed) before Finish
// returns.
//
// Write errors name the file and the cause: ENOSPC/EDQUOT are
// RESOURCE_EXHAUSTED, EACCES/EPERM/EROFS (an unwritable directory)
// FAILED_PRECONDITION; the partial file is deleted.
//
// Thread-safety: UploadStore methods may be called concurrently; one Writer
// is used by one thread at a time.
#ifndef MODELSERVER_SERVER_UPLOAD_STORE_H_
#define MODELSERVER_SERVER_UPLOAD_STORE_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace modelserver::server {

class UploadStore {
 public:
  struct Options {
    // Directory of the uploads; created (with parents) if needed. Required.
    std::string dir;
    // Largest upload in bytes; more is RESOURCE_EXHAUSTED. Default 2 GiB.
    int64_t max_bytes = int64_t{2} << 30;
    // Uploads older than this are deleted by Sweep(). Default 24 h.
    absl::Duration max_age = absl::Hours(24);
  };

  // One upload in progress. Destroying it before Finish() deletes the
  // partial file.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    const std::string& id() const { return id_; }
    int64_t bytes() const { return bytes_; }
    // Appends a chunk. RESOURCE_EXHAUSTED once the total exceeds max_bytes
    // or the disk is full, other errno-derived codes on a write error (the
    // partial file is then deleted).
    absl::Status Append(absl::string_view data);
    // Flushes, fsyncs and renames the file to <id>.csv, and fsyncs the
    // directory. INVALID_ARGUMENT for an empty upload.
    absl::Status Finish();

   private:
    friend class UploadStore;
    Writer(std::string id, std::string part_path, std::string final_path,
           std::FILE* file, int64_t max_bytes);
    void Abort();

    std::string id_;
    std::string part_path_;
    std::string final_path_;
    std::FILE* file_;
    int64_t max_bytes_;
    int64_t bytes_ = 0;
  };

  // INVALID_ARGUMENT for an empty dir or max_bytes < 1; the errno-derived
  // code naming the path when the directory cannot be created, except for
  // a read-only or unwritable parent: then the store is created (logging a
  // warning) and Begin() fails until the directory can be written, so that
  // a server on a read-only model directory still serves.
  static absl::StatusOr<std::unique_ptr<UploadStore>> Create(Options options);

  // Starts a new upload (after a Sweep()). FAILED_PRECONDITION naming the
  // directory when it is not writable.
  absl::StatusOr<std::unique_ptr<Writer>> Begin();

  // Path of the complete upload `id`. INVALID_ARGUMENT when `id` is not 32
  // lowercase hex digits; NOT_FOUND when there is no such complete upload.
  absl::StatusOr<std::string> PathOf(absl::string_view id) const;

  // Deletes uploads whose last modification is before now - max_age;
  // returns how many files were deleted.
  int Sweep(absl::Time now);

  const Options& options() const { return options_; }

 private:
  explicit UploadStore(Options options) : options_(std::move(options)) {}

  Options options_;
};

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_UPLOAD_STORE_H_
