#include "server/data_source.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/data/csv_reader.h"
#include "core/util/status_macros.h"

namespace modelserver::server {
namespace {

absl::StatusOr<std::string> RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat("'", path, "' does not exist"));
    }
    if (err == EACCES) {
      return absl::PermissionDeniedError(
          absl::StrCat("'", path, "': ", std::strerror(err)));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "': ", std::strerror(err)));
  }
  return std::string(buf);
}

absl::Status NoRows() { return absl::InvalidArgumentError("data: no rows"); }

CsvOptions CsvOptionsFor(const ColumnTypes& types, int64_t max_rows = 0,
                         int64_t max_columns = 0) {
  CsvOptions options;
  for (const auto& [name, type] : types) options.column_types[name] = type;
  options.max_rows = max_rows;
  if (max_columns > 0) options.max_columns = max_columns;
  return options;
}

}  // namespace

absl::StatusOr<std::string> ResolveDataPath(const std::string& data_dir,
                                            const std::string& relative) {
  if (data_dir.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("data.path '", relative,
                     "': the server was started without --data-dir"));
  }
  if (relative.empty()) {
    return absl::InvalidArgumentError("data.path is empty");
  }
  if (relative.front() == '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "data.path '", relative,
        "' is absolute; give a path relative to the server's --data-dir"));
  }
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("data.path '", relative, "' must not contain '..'"));
    }
  }
  if (relative.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("data.path contains a NUL byte");
  }
  absl::StatusOr<std::string> root = RealPath(data_dir);
  if (!root.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the server's --data-dir is not usable: ", root.status().message()));
  }
  absl::StatusOr<std::string> full = RealPath(*root + "/" + relative);
  if (!full.ok()) {
    if (full.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat(
          "data.path '", relative, "' does not exist in the data directory"));
    }
    return absl::Status(
        full.status().code(),
        absl::StrCat("data.path '", relative, "': ", full.status().message()));
  }
  const std::string prefix = *root == "/" ? *root : *root + "/";
  if (full->compare(0, prefix.size(), prefix) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("data.path '", relative,
                     "' resolves outside the server's data directory"));
  }
  struct stat st;
  if (::stat(full->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.path '", relative, "' is not a regular file"));
  }
  return *full;
}

absl::StatusOr<Table> TableFromCsv(absl::string_view csv,
                                   const ColumnTypes& types, int64_t max_rows,
                                   int64_t max_columns,
                                   absl::string_view rows_flag) {
  absl::StatusOr<Table> read =
      ReadCsvString(csv, CsvOptionsFor(types, max_rows, max_columns));
  if (!read.ok()) return ExplainCsvLimit(read.status(), rows_flag);
  Table table = *std::move(read);
  if (table.num_rows() == 0) return NoRows();
  return table;
}

absl::Status DataSource::Check(const v1::Dataset& dataset) const {
  RETURN_IF_ERROR(ColumnTypesFromProto(dataset.column_types()).status());
  switch (dataset.source_case()) {
    case v1::Dataset::kRows:
      if (dataset.rows().rows_size() == 0) return NoRows();
      if (dataset.rows().columns_size() == 0) {
        return absl::InvalidArgumentError("data.rows: no columns");
      }
      return absl::OkStatus();
    case v1::Dataset::kCsv:
      if (dataset.csv().empty()) {
        return absl::InvalidArgumentError("data.csv is empty");
      }
      return absl::OkStatus();
    case v1::Dataset::kUploadId:
      return uploads_->PathOf(dataset.upload_id()).status();
    case v1::Dataset::kPath:
      return ResolveDataPath(data_dir_, dataset.path()).status();
    default:
      return absl::InvalidArgumentError(
          "data: no source set (one of rows, csv, upload_id, path)");
  }
}

absl::StatusOr<Table> DataSource::Load(const v1::Dataset& dataset,
                                       const ColumnTypes& forced) const {
  ASSIGN_OR_RETURN(Table table, LoadUnchecked(dataset, forced));
  RETURN_IF_ERROR(CheckDatasetLimits(table, limits_));
  return table;
}

absl::StatusOr<Table> DataSource::LoadCsvFile(
    const std::string& path, const v1::Dataset& dataset) const {
  ASSIGN_OR_RETURN(ColumnTypes types,
                   ColumnTypesFromProto(dataset.column_types()));
  absl::StatusOr<Table> table = ReadCsvFile(
      path, CsvOptionsFor(types, limits_.max_rows, limits_.max_columns));
  if (!table.ok()) return ExplainCsvLimit(table.status());
  if (table->num_rows() == 0) return NoRows();
  RETURN_IF_ERROR(CheckDatasetLimits(*table, limits_));
  return table;
}

absl::StatusOr<Table> DataSource::LoadUnchecked(
    const v1::Dataset& dataset, const ColumnTypes& forced) const {
  RETURN_IF_ERROR(Check(dataset));
  ASSIGN_OR_RETURN(ColumnTypes types,
                   ColumnTypesFromProto(dataset.column_types()));
  for (const auto& [name, type] : forced) types[name] = type;
  std::string path;
  switch (dataset.source_case()) {
    case v1::Dataset::kRows: {
      const v1::InlineRows& rows = dataset.rows();
      if (rows.rows_size() > limits_.max_rows ||
          rows.columns_size() > limits_.max_columns) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "data.rows: ", rows.rows_size(), " rows of ", rows.columns_size(),
            " columns are more than the server's --max-rows=",
            limits_.max_rows, " / --max-columns=", limits_.max_columns));
      }
      ASSIGN_OR_RETURN(Table table, TableFromRows(rows, types));
      if (table.num_rows() == 0) return NoRows();
      return table;
    }
    case v1::Dataset::kCsv:
      return TableFromCsv(dataset.csv(), types, limits_.max_rows,
                          limits_.max_columns);
    case v1::Dataset::kUploadId: {
      ASSIGN_OR_RETURN(path, uploads_->PathOf(dataset.upload_id()));
      break;
    }
    default: {
      ASSIGN_OR_RETURN(path, ResolveDataPath(data_dir_, dataset.path()));
      break;
    }
  }
  absl::StatusOr<Table> table = ReadCsvFile(
      path, CsvOptionsFor(types, limits_.max_rows, limits_.max_columns));
  if (!table.ok()) return ExplainCsvLimit(table.status());
  if (table->num_rows() == 0) return NoRows();
  return table;
}

}  // namespace modelserver::server
