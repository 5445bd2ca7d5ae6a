// Fuzz target: the CSV reader (core/data/csv_reader.h).
//
// Input: 4 option bytes, then the CSV text.
//   byte 0  delimiter: ',' ';' '\t' '|' by its low 2 bits; >= 0xF0: byte 0xF0
//           ^ byte 0 itself (0x00..0x0F, mostly invalid delimiters: NUL, LF,
//           CR are INVALID_ARGUMENT)
//   byte 1  bit 0: missing values {"-", "NA"}; bit 1: no missing values;
//           bits 2-3: type override of the first header name (none, numeric,
//           categorical, date); bit 4: also read through ReadCsvFile;
//           bits 5-7: chunk size of the second read (1, 2, 3, 7, 16, 64,
//           4096, 1 MiB)
//   byte 2  max_rows (0 = unlimited)
//   byte 3  max_columns (0 = the default 100000); bit 7 also sets
//           max_field_bytes to 16
// Checks, beyond "no crash, no sanitizer report": the reader gives the same
// answer (the same table, or the same error) whatever the chunk size and
// whether it reads from memory or from a file, and every table it returns
// satisfies the Table invariants (fuzz_common.h).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/data/csv_reader.h"
#include "fuzz/fuzz_common.h"

namespace modelserver::fuzz {
namespace {

constexpr size_t kChunkSizes[8] = {1, 2, 3, 7, 16, 64, 4096, 1 << 20};

// The first header name as the reader would see it when it is unquoted:
// up to the delimiter or line end, trimmed of spaces and tabs.
std::string FirstName(absl::string_view text, char delimiter) {
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
  size_t end = 0;
  while (end < text.size() && text[end] != delimiter && text[end] != '\n' &&
         text[end] != '\r') {
    ++end;
  }
  absl::string_view name = text.substr(0, end);
  while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) {
    name.remove_prefix(1);
  }
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
    name.remove_suffix(1);
  }
  return std::string(name);
}

// The same result: equal tables, or errors with the same code (and, when
// `same_message`, the same message).
void CheckSame(const absl::StatusOr<Table>& a, const absl::StatusOr<Table>& b,
               bool same_message, const std::string& what) {
  FUZZ_CHECK(a.ok() == b.ok(), what + ": " + a.status().ToString() + " vs " +
                                   b.status().ToString());
  if (!a.ok()) {
    FUZZ_CHECK(a.status().code() == b.status().code(),
               what + ": " + a.status().ToString() + " vs " +
                   b.status().ToString());
    if (same_message) {
      FUZZ_CHECK(a.status().message() == b.status().message(),
                 what + ": " + a.status().ToString() + " vs " +
                     b.status().ToString());
    }
    return;
  }
  const std::string diff = TableDifference(*a, *b);
  FUZZ_CHECK(diff.empty(), what + ": " + diff);
}

}  // namespace
}  // namespace modelserver::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelserver;
  using namespace modelserver::fuzz;
  if (size < 4) return 0;
  const uint8_t b0 = data[0], b1 = data[1], b2 = data[2], b3 = data[3];
  const absl::string_view text(reinterpret_cast<const char*>(data) + 4,
                               size - 4);
  CsvOptions options;
  static constexpr char kDelimiters[4] = {',', ';', '\t', '|'};
  options.delimiter =
      b0 >= 0xF0 ? static_cast<char>(b0 ^ 0xF0) : kDelimiters[b0 & 3];
  if (b1 & 1) options.missing_values = {"-", "NA"};
  if (b1 & 2) options.missing_values.clear();
  static constexpr ColumnType kTypes[3] = {
      ColumnType::kNumeric, ColumnType::kCategorical, ColumnType::kDate};
  if (const int t = (b1 >> 2) & 3; t != 0) {
    options.column_types[FirstName(text, options.delimiter)] = kTypes[t - 1];
  }
  options.max_rows = b2;
  if (b3 & 0x7F) options.max_columns = b3 & 0x7F;
  if (b3 & 0x80) options.max_field_bytes = 16;

  const absl::StatusOr<Table> whole = ReadCsvString(text, options);
  if (whole.ok()) {
    const std::string violation = TableViolation(*whole);
    FUZZ_CHECK(violation.empty(), violation);
  }
  int passes = 0;
  const size_t chunk = kChunkSizes[b1 >> 5];
  CheckSame(whole,
            csv_internal::ReadCsvStringInChunks(text, options, chunk, &passes),
            /*same_message=*/true, absl::StrCat("chunks of ", chunk));
  FUZZ_CHECK(passes == 0 || passes == 1 || passes == 2,
             absl::StrCat("passes ", passes));

  if (b1 & 0x10) {
    // ReadCsvFile: its messages name the file, so only codes are compared.
    static const std::string path =
        absl::StrCat("/tmp/csv_fuzzer.", getpid(), ".csv");
    std::FILE* f = std::fopen(path.c_str(), "wb");
    FUZZ_CHECK(f != nullptr, path);
    FUZZ_CHECK(std::fwrite(text.data(), 1, text.size(), f) == text.size(),
               path);
    std::fclose(f);
    CheckSame(whole, ReadCsvFile(path, options), /*same_message=*/false,
              "ReadCsvFile");
    std::remove(path.c_str());
  }
  return 0;
}
