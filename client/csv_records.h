// File: client/csv_records.h
// Record-level CSV handling for modelctl: split CSV text into records
// (RFC 4180: quoted fields may hold commas, quotes and newlines) without
// parsing fields, batch records for requests, and append columns to records
// for `predict --output`. The server does the real parsing; this only needs
// to find record boundaries.
#ifndef MODELSERVER_CLIENT_CSV_RECORDS_H_
#define MODELSERVER_CLIENT_CSV_RECORDS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver::client {

// CSV text split into records. Each record excludes its line terminator
// (LF or CRLF). A leading UTF-8 BOM is kept out of the header. Empty lines
// (outside quotes) are skipped, as the server's reader does.
struct CsvRecords {
  absl::string_view header;
  std::vector<absl::string_view> rows;  // views into the text
};

// INVALID_ARGUMENT for text without a header, or with an unterminated
// quoted field (naming its line).
absl::StatusOr<CsvRecords> SplitCsvRecords(absl::string_view text);

// Groups rows into CSV documents of about `max_bytes` each (always at least
// one row per document), each starting with the header: the bodies of
// consecutive Predict requests. Returns the [begin, end) row range of each.
std::vector<std::pair<size_t, size_t>> BatchRows(const CsvRecords& records,
                                                 size_t max_bytes);
std::string BatchText(const CsvRecords& records, size_t begin, size_t end);

// Quotes a field if it holds a comma, quote, CR or LF.
std::string CsvField(absl::string_view field);

}  // namespace modelserver::client

#endif  // MODELSERVER_CLIENT_CSV_RECORDS_H_
