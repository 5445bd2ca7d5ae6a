#include "client/csv_records.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace modelserver::client {

absl::StatusOr<CsvRecords> SplitCsvRecords(absl::string_view text) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  CsvRecords out;
  bool in_quotes = false;
  bool have_header = false;
  size_t start = 0;
  size_t line = 1;
  size_t quote_line = 0;
  auto emit = [&](size_t end) {
    absl::string_view record = text.substr(start, end - start);
    if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
    if (record.empty()) return;
    if (!have_header) {
      out.header = record;
      have_header = true;
    } else {
      out.rows.push_back(record);
    }
  };
  // As the server's reader (core/data/csv_reader.h): a quote opens a quoted
  // field only as the first byte of a field, and is literal elsewhere in an
  // unquoted one; inside a quoted field "" is an escaped quote.
  bool field_start = true;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          ++i;  // an escaped quote: the field goes on
        } else {
          in_quotes = false;
        }
      } else if (c == '\n') {
        ++line;
      }
      continue;
    }
    if (c == '"' && field_start) {
      in_quotes = true;
      quote_line = line;
      field_start = false;
    } else if (c == '\n') {
      ++line;
      emit(i);
      start = i + 1;
      field_start = true;
    } else {
      field_start = c == ',';
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line ", quote_line, ": a quoted field is not terminated"));
  }
  emit(text.size());
  if (!have_header) {
    return absl::InvalidArgumentError("the CSV file is empty (no header row)");
  }
  return out;
}

std::vector<std::pair<size_t, size_t>> BatchRows(const CsvRecords& records,
                                                 size_t max_bytes) {
  std::vector<std::pair<size_t, size_t>> batches;
  size_t begin = 0;
  size_t bytes = records.header.size() + 1;
  for (size_t i = 0; i < records.rows.size(); ++i) {
    const size_t row_bytes = records.rows[i].size() + 1;
    if (i > begin && bytes + row_bytes > max_bytes) {
      batches.emplace_back(begin, i);
      begin = i;
      bytes = records.header.size() + 1;
    }
    bytes += row_bytes;
  }
  if (begin < records.rows.size()) {
    batches.emplace_back(begin, records.rows.size());
  }
  return batches;
}

std::string BatchText(const CsvRecords& records, size_t begin, size_t end) {
  size_t size = records.header.size() + 1;
  for (size_t i = begin; i < end; ++i) size += records.rows[i].size() + 1;
  std::string out;
  out.reserve(size);
  absl::StrAppend(&out, records.header, "\n");
  for (size_t i = begin; i < end; ++i) {
    absl::StrAppend(&out, records.rows[i], "\n");
  }
  return out;
}

std::string CsvField(absl::string_view field) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(field);
  }
  return absl::StrCat("\"", absl::StrReplaceAll(field, {{"\"", "\"\""}}), "\"");
}

}  // namespace modelserver::client
