// File: core/data/csv_reader.h
// Streaming RFC 4180 CSV reader producing a typed Table (see docs/csv.md for
// the full format, inference rules and limits).
//
// Format: a header row is required (names trimmed of ASCII spaces/tabs,
// non-empty, unique, valid UTF-8); fields are separated by
// CsvOptions::delimiter; a field may be quoted with `"`, and a quoted field may
// contain delimiters, doubled quotes (`""` = one `"`) and line breaks. Records
// end with LF or CRLF; the last one may lack a line ending. A leading UTF-8 BOM
// is skipped and completely empty lines are skipped. A `"` inside an unquoted
// field is kept literally; text after a closing quote other than a delimiter
// or a line ending is an error.
//
// Types (unless overridden in CsvOptions::column_types): a column is numeric
// if every non-missing value is a number, date if every non-missing value is
// an ISO-8601 date or date-time (see core/data/datetime.h), categorical
// otherwise; a column without any value is numeric. Categorical levels are
// the exact field text after unquoting (never a re-spelling of a number).
//
// Errors (all INVALID_ARGUMENT unless stated) name the physical line
// (1-based; the header is line 1; line breaks inside quoted fields count) and
// the column: ragged rows, unterminated quoted fields, text after a closing
// quote, bare CR, NUL bytes, invalid UTF-8 in the header or a categorical
// value, empty or duplicate header names, a missing header, non-finite
// numbers in a numeric column, values that do not parse as the forced type.
// Exceeding a limit is RESOURCE_EXHAUSTED naming the limit.
//
// Thread-safety: the functions are reentrant; concurrent calls are safe.
#ifndef MODELSERVER_CORE_DATA_CSV_READER_H_
#define MODELSERVER_CORE_DATA_CSV_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/table.h"

namespace modelserver {

struct CsvOptions {
  // Field separator. Default ','. Must not be '"', CR, LF or NUL
  // (INVALID_ARGUMENT).
  char delimiter = ',';
  // Field texts (compared after trimming ASCII spaces/tabs) that mean
  // "missing". Default: "", "NA", "NaN", "null", "?". Case-sensitive.
  std::vector<std::string> missing_values = {"", "NA", "NaN", "null", "?"};
  // Column type overrides by column name (header names are trimmed of ASCII
  // spaces/tabs). Default: none. Names absent from the header are ignored
  // (the caller checks the columns it needs).
  absl::flat_hash_map<std::string, ColumnType> column_types;
  // Limits; exceeding one is RESOURCE_EXHAUSTED naming the limit.
  // 0 = unlimited; negative is INVALID_ARGUMENT.
  // Data rows (the header not counted). Default unlimited.
  int64_t max_rows = 0;
  // Columns in the header. Default 100000.
  int64_t max_columns = 100000;
  // Bytes of one field as written (without its enclosing quotes). Default
  // 1 MiB.
  int64_t max_field_bytes = 1 << 20;
};

// Reads the CSV file at `path` in 1 MiB chunks (the file is never held in
// memory as a whole; a second read happens only if a column inferred numeric
// or date turns out to be categorical, to keep the exact text).
// Open/read errors carry the errno-derived code (NOT_FOUND,
// PERMISSION_DENIED, ...) and name the path; FAILED_PRECONDITION if the file
// must be re-read and cannot be rewound (a pipe); ABORTED if it changed
// between the two reads. Other errors as described at the top of this file.
absl::StatusOr<Table> ReadCsvFile(const std::string& path,
                                  const CsvOptions& options);

// Reads CSV from memory; same rules as ReadCsvFile. `text` is not retained.
absl::StatusOr<Table> ReadCsvString(absl::string_view text,
                                    const CsvOptions& options);

namespace csv_internal {

// For tests: ReadCsvString reading `chunk_bytes` (>= 1) bytes at a time, so
// that records span chunk boundaries. If `passes` is not null it receives the
// number of passes over the input (1, or 2 after a type change).
absl::StatusOr<Table> ReadCsvStringInChunks(absl::string_view text,
                                            const CsvOptions& options,
                                            size_t chunk_bytes,
                                            int* passes = nullptr);

}  // namespace csv_internal
}  // namespace modelserver

#endif  // MODELSERVER_CORE_DATA_CSV_READER_H_
