// File: core/data/table.h
// Table: named, typed columns of equal length that keep missing values as
// such. It is what CsvReader produces and what the preprocessing Pipeline
// consumes.
//
//   numeric      double per row, NaN = missing
//   date         double per row: seconds since 1970-01-01T00:00:00Z (UTC),
//                NaN = missing
//   categorical  int32 code per row into levels(), -1 = missing; levels are
//                kept in order of first appearance
//
// Thread-safety: const methods may be called concurrently; mutation needs
// external synchronisation.
#ifndef MODELSERVER_CORE_DATA_TABLE_H_
#define MODELSERVER_CORE_DATA_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver {

// The values are part of the artifact format: never renumber.
enum class ColumnType : uint8_t {
  kNumeric = 0,
  kCategorical = 1,
  kDate = 2,
};

// "numeric", "categorical", "date".
absl::string_view ColumnTypeName(ColumnType type);
// Inverse of ColumnTypeName; INVALID_ARGUMENT for any other spelling.
absl::StatusOr<ColumnType> ParseColumnType(absl::string_view name);

inline constexpr int32_t kMissingCode = -1;

class Column {
 public:
  // REQUIRES for all factories: codes in [-1, levels.size()).
  static Column Numeric(std::string name, std::vector<double> values);
  static Column Date(std::string name, std::vector<double> seconds);
  static Column Categorical(std::string name, std::vector<int32_t> codes,
                            std::vector<std::string> levels);
  // Builds the level dictionary from the strings; `missing[i]` marks row i
  // missing (its string is ignored). `missing` may be empty (none missing).
  static Column CategoricalFromStrings(std::string name,
                                       const std::vector<std::string>& values,
                                       const std::vector<bool>& missing = {});

  const std::string& name() const { return name_; }
  ColumnType type() const { return type_; }
  int64_t size() const;
  bool is_missing(int64_t row) const;
  int64_t CountMissing() const;

  // Numeric and date columns only (empty otherwise).
  const std::vector<double>& values() const { return values_; }
  // Categorical columns only (empty otherwise).
  const std::vector<int32_t>& codes() const { return codes_; }
  const std::vector<std::string>& levels() const { return levels_; }

  // The rows `rows` (in that order) of this column; levels are kept as is.
  // REQUIRES: every index in [0, size()).
  Column SelectRows(const std::vector<int64_t>& rows) const;

 private:
  Column(std::string name, ColumnType type)
      : name_(std::move(name)), type_(type) {}

  std::string name_;
  ColumnType type_;
  std::vector<double> values_;
  std::vector<int32_t> codes_;
  std::vector<std::string> levels_;
};

class Table {
 public:
  Table() = default;

  // Appends a column. INVALID_ARGUMENT if a column of that name exists or the
  // length differs from the table's other columns.
  absl::Status AddColumn(Column column);
  // Room for `columns` columns without moving the ones added.
  void Reserve(int columns) { columns_.reserve(static_cast<size_t>(columns)); }

  int64_t num_rows() const { return num_rows_; }
  int num_columns() const { return static_cast<int>(columns_.size()); }
  const Column& column(int i) const { return columns_[i]; }
  const std::vector<Column>& columns() const { return columns_; }
  std::vector<std::string> column_names() const;

  // The column called `name`, or nullptr.
  const Column* Find(absl::string_view name) const;
  // Index of the column called `name`; NOT_FOUND naming it otherwise.
  absl::StatusOr<int> ColumnIndex(absl::string_view name) const;

  // The rows `rows` (in that order) of every column.
  // REQUIRES: every index in [0, num_rows()).
  Table SelectRows(const std::vector<int64_t>& rows) const;

 private:
  // Position of `name`, or -1: a scan for small tables (no per-table
  // allocation on the Predict path), the index beyond kIndexFrom columns.
  int IndexOf(absl::string_view name) const;
  static constexpr size_t kIndexFrom = 16;

  std::vector<Column> columns_;
  absl::flat_hash_map<std::string, int> index_;  // empty below kIndexFrom
  int64_t num_rows_ = 0;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_DATA_TABLE_H_
