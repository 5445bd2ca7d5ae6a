// Shared by the core tests that build a Table by hand or read one of the
// data sets in tests/data (MODELSERVER_TEST_DATA_DIR): a failure to build or
// read is a test failure (EXPECT), and the caller gets an empty Table.
#ifndef MODELSERVER_TESTS_CORE_TEST_TABLES_H_
#define MODELSERVER_TESTS_CORE_TEST_TABLES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/data/csv_reader.h"
#include "core/data/table.h"
#include "gtest/gtest.h"

namespace modelserver::test_tables {

// A Table of `columns`, in order.
inline Table MakeTable(std::vector<Column> columns) {
  Table t;
  for (Column& c : columns) {
    absl::Status s = t.AddColumn(std::move(c));
    EXPECT_TRUE(s.ok()) << s;
  }
  return t;
}

// tests/data/<file> read with default CsvOptions.
inline Table Load(const std::string& file) {
  absl::StatusOr<Table> t = ReadCsvFile(
      std::string(MODELSERVER_TEST_DATA_DIR) + "/" + file, CsvOptions());
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : Table();
}

}  // namespace modelserver::test_tables

#endif  // MODELSERVER_TESTS_CORE_TEST_TABLES_H_
