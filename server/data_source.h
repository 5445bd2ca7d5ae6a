// File: server/data_source.h
// DataSource: turns a request's Dataset (inline rows, CSV bytes, an upload
// id, or a path under --data-dir) into a Table.
//
// Types: the Dataset's column_types overrides apply to every source; the
// `forced` types of Load() (the model's input schema for Predict/Evaluate)
// win over them.
//
// Paths are confined to the data directory: a path must be relative, have
// no ".." component, and its canonical form (symlinks resolved) must lie
// under the canonical data directory. Errors name the path:
//   no --data-dir                         FAILED_PRECONDITION
//   empty, absolute, or with ".."         INVALID_ARGUMENT
//   resolving outside the data directory  PERMISSION_DENIED
//   absent                                NOT_FOUND
//   not a regular file                    INVALID_ARGUMENT
//
// Thread-safety: const methods may be called concurrently.
#ifndef MODELSERVER_SERVER_DATA_SOURCE_H_
#define MODELSERVER_SERVER_DATA_SOURCE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"
#include "modelserver/v1/model_service.pb.h"
#include "server/limits.h"
#include "server/proto_convert.h"
#include "server/upload_store.h"

namespace modelserver::server {

// The canonical path of `relative` inside `data_dir` (see the top of this
// file for the rules and errors).
absl::StatusOr<std::string> ResolveDataPath(const std::string& data_dir,
                                            const std::string& relative);

class DataSource {
 public:
  // `data_dir` may be empty (path sources are then FAILED_PRECONDITION).
  // `uploads` is not owned and must outlive this object. Every dataset
  // loaded is held to `limits` (rows, columns, categorical levels;
  // RESOURCE_EXHAUSTED naming the flag); a CSV stops being read at the
  // first row or column beyond them.
  DataSource(std::string data_dir, const UploadStore* uploads,
             Limits limits = {})
      : data_dir_(std::move(data_dir)), uploads_(uploads), limits_(limits) {}

  // Cheap checks before any work: a source is set, inline rows and CSV
  // bytes are not empty, an upload exists, a path resolves, the
  // column_types are valid. INVALID_ARGUMENT ("data: ...") otherwise, or the
  // codes above.
  absl::Status Check(const v1::Dataset& dataset) const;

  // Reads the dataset. CSV sources use core's CSV reader (errors name the
  // line and column); inline rows use TableFromRows. INVALID_ARGUMENT
  // "no rows" when the data has none.
  absl::StatusOr<Table> Load(const v1::Dataset& dataset,
                             const ColumnTypes& forced = {}) const;
  // Reads the CSV file `path` (chosen by the server, e.g. a resumed job's
  // kept upload: not confined to the data directory) with `dataset`'s
  // column_types and the same limits.
  absl::StatusOr<Table> LoadCsvFile(const std::string& path,
                                    const v1::Dataset& dataset) const;

 private:
  absl::StatusOr<Table> LoadUnchecked(const v1::Dataset& dataset,
                                      const ColumnTypes& forced) const;

  std::string data_dir_;
  const UploadStore* uploads_;
  Limits limits_;
};

// Reads CSV text with the given column types (core/data/csv_reader.h).
// INVALID_ARGUMENT "no rows" for a CSV without data rows; RESOURCE_EXHAUSTED
// beyond `max_rows` data rows or `max_columns` columns (0 = unlimited),
// naming `rows_flag` for rows (server/limits.h).
absl::StatusOr<Table> TableFromCsv(absl::string_view csv,
                                   const ColumnTypes& types,
                                   int64_t max_rows = 0,
                                   int64_t max_columns = 0,
                                   absl::string_view rows_flag = "--max-rows");

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_DATA_SOURCE_H_
