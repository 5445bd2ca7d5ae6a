#include "core/data/table.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace modelserver {

absl::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kNumeric:
      return "numeric";
    case ColumnType::kCategorical:
      return "categorical";
    case ColumnType::kDate:
      return "date";
  }
  return "unknown";
}

absl::StatusOr<ColumnType> ParseColumnType(absl::string_view name) {
  if (name == "numeric") return ColumnType::kNumeric;
  if (name == "categorical") return ColumnType::kCategorical;
  if (name == "date") return ColumnType::kDate;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown column type '", name,
                   "' (expected numeric, categorical or date)"));
}

Column Column::Numeric(std::string name, std::vector<double> values) {
  Column c(std::move(name), ColumnType::kNumeric);
  c.values_ = std::move(values);
  return c;
}

Column Column::Date(std::string name, std::vector<double> seconds) {
  Column c(std::move(name), ColumnType::kDate);
  c.values_ = std::move(seconds);
  return c;
}

Column Column::Categorical(std::string name, std::vector<int32_t> codes,
                           std::vector<std::string> levels) {
  Column c(std::move(name), ColumnType::kCategorical);
  c.codes_ = std::move(codes);
  c.levels_ = std::move(levels);
  return c;
}

Column Column::CategoricalFromStrings(std::string name,
                                      const std::vector<std::string>& values,
                                      const std::vector<bool>& missing) {
  std::vector<int32_t> codes(values.size(), kMissingCode);
  std::vector<std::string> levels;
  absl::flat_hash_map<std::string, int32_t> ids;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!missing.empty() && missing[i]) continue;
    auto [it, inserted] =
        ids.try_emplace(values[i], static_cast<int32_t>(levels.size()));
    if (inserted) levels.push_back(values[i]);
    codes[i] = it->second;
  }
  return Categorical(std::move(name), std::move(codes), std::move(levels));
}

int64_t Column::size() const {
  return static_cast<int64_t>(
      type_ == ColumnType::kCategorical ? codes_.size() : values_.size());
}

bool Column::is_missing(int64_t row) const {
  return type_ == ColumnType::kCategorical ? codes_[row] == kMissingCode
                                           : std::isnan(values_[row]);
}

int64_t Column::CountMissing() const {
  int64_t n = 0;
  if (type_ == ColumnType::kCategorical) {
    for (int32_t c : codes_) n += (c == kMissingCode);
  } else {
    for (double v : values_) n += std::isnan(v);
  }
  return n;
}

Column Column::SelectRows(const std::vector<int64_t>& rows) const {
  Column c(name_, type_);
  if (type_ == ColumnType::kCategorical) {
    c.levels_ = levels_;
    c.codes_.reserve(rows.size());
    for (int64_t r : rows) c.codes_.push_back(codes_[r]);
  } else {
    c.values_.reserve(rows.size());
    for (int64_t r : rows) c.values_.push_back(values_[r]);
  }
  return c;
}

absl::Status Table::AddColumn(Column column) {
  if (IndexOf(column.name()) >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("duplicate column name '", column.name(), "'"));
  }
  if (!columns_.empty() && column.size() != num_rows_) {
    return absl::InvalidArgumentError(
        absl::StrCat("column '", column.name(), "' has ", column.size(),
                     " rows; the table has ", num_rows_));
  }
  num_rows_ = column.size();
  columns_.push_back(std::move(column));
  if (columns_.size() == kIndexFrom) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      index_.emplace(columns_[i].name(), static_cast<int>(i));
    }
  } else if (columns_.size() > kIndexFrom) {
    index_.emplace(columns_.back().name(),
                   static_cast<int>(columns_.size() - 1));
  }
  return absl::OkStatus();
}

int Table::IndexOf(absl::string_view name) const {
  if (columns_.size() < kIndexFrom) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      // Length and first byte first: most names differ there, without a
      // call to memcmp.
      const std::string& n = columns_[i].name();
      if (n.size() == name.size() && (name.empty() || n[0] == name[0]) &&
          n == name) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

std::vector<std::string> Table::column_names() const {
  std::vector<std::string> names;
  names.reserve(columns_.size());
  for (const Column& c : columns_) names.push_back(c.name());
  return names;
}

const Column* Table::Find(absl::string_view name) const {
  const int i = IndexOf(name);
  return i < 0 ? nullptr : &columns_[i];
}

absl::StatusOr<int> Table::ColumnIndex(absl::string_view name) const {
  const int i = IndexOf(name);
  if (i < 0) {
    return absl::NotFoundError(absl::StrCat("no column named '", name, "'"));
  }
  return i;
}

Table Table::SelectRows(const std::vector<int64_t>& rows) const {
  Table t;
  for (const Column& c : columns_) {
    // Names are unique and lengths equal, so AddColumn cannot fail.
    t.AddColumn(c.SelectRows(rows)).IgnoreError();
  }
  t.num_rows_ = static_cast<int64_t>(rows.size());
  return t;
}

}  // namespace modelserver
