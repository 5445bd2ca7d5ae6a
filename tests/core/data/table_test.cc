#include "core/data/table.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ColumnTypeTest, NamesRoundTrip) {
  for (ColumnType t :
       {ColumnType::kNumeric, ColumnType::kCategorical, ColumnType::kDate}) {
    auto parsed = ParseColumnType(ColumnTypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(ColumnTypeName(ColumnType::kCategorical), "categorical");
  auto bad = ParseColumnType("Numeric");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'Numeric'"));
}

TEST(ColumnTest, CategoricalFromStringsBuildsLevelsInOrder) {
  Column c = Column::CategoricalFromStrings(
      "color", {"red", "blue", "red", "x", "green"},
      {false, false, false, true, false});
  EXPECT_EQ(c.type(), ColumnType::kCategorical);
  EXPECT_EQ(c.name(), "color");
  EXPECT_EQ(c.size(), 5);
  EXPECT_THAT(c.levels(), ElementsAre("red", "blue", "green"));
  EXPECT_THAT(c.codes(), ElementsAre(0, 1, 0, kMissingCode, 2));
  EXPECT_TRUE(c.is_missing(3));
  EXPECT_FALSE(c.is_missing(0));
  EXPECT_EQ(c.CountMissing(), 1);
  EXPECT_TRUE(c.values().empty());

  // No missing mask: nothing missing.
  Column d = Column::CategoricalFromStrings("d", {"b", "a", "b"});
  EXPECT_THAT(d.levels(), ElementsAre("b", "a"));
  EXPECT_THAT(d.codes(), ElementsAre(0, 1, 0));
  EXPECT_EQ(d.CountMissing(), 0);
}

TEST(ColumnTest, CountMissingNumericAndDate) {
  Column n = Column::Numeric("x", {1.0, kNaN, 3.0, kNaN});
  EXPECT_EQ(n.type(), ColumnType::kNumeric);
  EXPECT_EQ(n.CountMissing(), 2);
  EXPECT_TRUE(n.is_missing(1));
  EXPECT_FALSE(n.is_missing(2));
  EXPECT_TRUE(n.codes().empty());
  Column d = Column::Date("when", {0.0, 86400.0, kNaN});
  EXPECT_EQ(d.type(), ColumnType::kDate);
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.CountMissing(), 1);
}

TEST(ColumnTest, SelectRowsKeepsLevelsAndOrder) {
  Column c = Column::Categorical("c", {2, 0, kMissingCode, 1}, {"a", "b", "c"});
  Column s = c.SelectRows({3, 0, 0, 2});
  EXPECT_EQ(s.name(), "c");
  EXPECT_THAT(s.codes(), ElementsAre(1, 2, 2, kMissingCode));
  EXPECT_THAT(s.levels(), ElementsAre("a", "b", "c"));
  Column n = Column::Numeric("n", {10, 20, 30});
  EXPECT_THAT(n.SelectRows({2, 1}).values(), ElementsAre(30, 20));
  EXPECT_EQ(n.SelectRows({}).size(), 0);
}

Table MakeTable() {
  Table t;
  EXPECT_TRUE(t.AddColumn(Column::Numeric("x", {1, 2, 3})).ok());
  EXPECT_TRUE(
      t.AddColumn(Column::CategoricalFromStrings("y", {"a", "b", "a"})).ok());
  EXPECT_TRUE(t.AddColumn(Column::Date("d", {0, 86400, 172800})).ok());
  return t;
}

TEST(TableTest, AddColumnAndLookups) {
  Table t = MakeTable();
  EXPECT_EQ(t.num_rows(), 3);
  EXPECT_EQ(t.num_columns(), 3);
  EXPECT_THAT(t.column_names(), ElementsAre("x", "y", "d"));
  ASSERT_NE(t.Find("y"), nullptr);
  EXPECT_EQ(t.Find("y")->type(), ColumnType::kCategorical);
  EXPECT_EQ(t.Find("z"), nullptr);
  auto idx = t.ColumnIndex("d");
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(*idx, 2);
  EXPECT_EQ(t.column(2).name(), "d");
  auto missing = t.ColumnIndex("price");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("'price'"));
}

TEST(TableTest, AddColumnRejectsDuplicateNames) {
  Table t = MakeTable();
  absl::Status s = t.AddColumn(Column::Numeric("x", {4, 5, 6}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("duplicate column name 'x'"));
  EXPECT_EQ(t.num_columns(), 3);
}

TEST(TableTest, AddColumnRejectsSizeMismatch) {
  Table t = MakeTable();
  absl::Status s = t.AddColumn(Column::Numeric("z", {4, 5}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("column 'z' has 2 rows; the table has 3"));
  EXPECT_EQ(t.num_columns(), 3);
  EXPECT_EQ(t.Find("z"), nullptr);
}

TEST(TableTest, SelectRows) {
  Table t = MakeTable();
  Table s = t.SelectRows({2, 0});
  EXPECT_EQ(s.num_rows(), 2);
  EXPECT_EQ(s.num_columns(), 3);
  EXPECT_THAT(s.Find("x")->values(), ElementsAre(3, 1));
  EXPECT_THAT(s.Find("y")->codes(), ElementsAre(0, 0));
  EXPECT_THAT(s.Find("y")->levels(), ElementsAre("a", "b"));
  EXPECT_THAT(s.Find("d")->values(), ElementsAre(172800, 0));
  EXPECT_EQ(s.Find("d")->type(), ColumnType::kDate);
  // Zero rows keeps the columns.
  Table e = t.SelectRows({});
  EXPECT_EQ(e.num_rows(), 0);
  EXPECT_EQ(e.num_columns(), 3);
}

}  // namespace
}  // namespace modelserver
