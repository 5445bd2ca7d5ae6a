#include "client/csv_records.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Batches = std::vector<std::pair<size_t, size_t>>;

// The rows as strings (views compare fine, but strings print better).
std::vector<std::string> Rows(const CsvRecords& records) {
  return std::vector<std::string>(records.rows.begin(), records.rows.end());
}

CsvRecords MustSplit(absl::string_view text) {
  absl::StatusOr<CsvRecords> records = SplitCsvRecords(text);
  EXPECT_TRUE(records.ok()) << records.status();
  return records.ok() ? *std::move(records) : CsvRecords{};
}

// ------------------------------------------------------------ SplitCsvRecords

TEST(SplitCsvRecordsTest, SimpleLines) {
  const CsvRecords r = MustSplit("a,b\n1,2\n3,4\n");
  EXPECT_EQ(r.header, "a,b");
  EXPECT_THAT(Rows(r), ElementsAre("1,2", "3,4"));
}

TEST(SplitCsvRecordsTest, LastRecordWithoutLineEnding) {
  const CsvRecords r = MustSplit("a,b\n1,2\n3,4");
  EXPECT_EQ(r.header, "a,b");
  EXPECT_THAT(Rows(r), ElementsAre("1,2", "3,4"));
}

TEST(SplitCsvRecordsTest, HeaderOnly) {
  const CsvRecords r = MustSplit("a,b\n");
  EXPECT_EQ(r.header, "a,b");
  EXPECT_THAT(r.rows, IsEmpty());
}

TEST(SplitCsvRecordsTest, QuotedCommaStaysInOneRecord) {
  const CsvRecords r =
      MustSplit("name,city\n\"Smith, J\",\"Paris, FR\"\nx,y\n");
  EXPECT_THAT(Rows(r), ElementsAre("\"Smith, J\",\"Paris, FR\"", "x,y"));
}

TEST(SplitCsvRecordsTest, EscapedQuotesStayInOneRecord) {
  const CsvRecords r =
      MustSplit("a,b\n\"say \"\"hi\"\"\",2\n\"\"\"\",3\n\"\",4\n");
  EXPECT_THAT(Rows(r),
              ElementsAre("\"say \"\"hi\"\"\",2", "\"\"\"\",3", "\"\",4"));
}

TEST(SplitCsvRecordsTest, EmbeddedNewlinesStayInOneRecord) {
  const CsvRecords r =
      MustSplit("id,note\n1,\"line one\nline two\n\nline four\"\n2,plain\n");
  EXPECT_THAT(Rows(r),
              ElementsAre("1,\"line one\nline two\n\nline four\"", "2,plain"));
}

TEST(SplitCsvRecordsTest, QuotedHeaderWithNewline) {
  const CsvRecords r = MustSplit("\"a\nb\",c\n1,2\n");
  EXPECT_EQ(r.header, "\"a\nb\",c");
  EXPECT_THAT(Rows(r), ElementsAre("1,2"));
}

TEST(SplitCsvRecordsTest, CrlfStripped) {
  const CsvRecords r = MustSplit("a,b\r\n1,2\r\n3,4\r\n");
  EXPECT_EQ(r.header, "a,b");
  EXPECT_THAT(Rows(r), ElementsAre("1,2", "3,4"));
}

TEST(SplitCsvRecordsTest, CrlfInsideQuotesKept) {
  const CsvRecords r = MustSplit("a,b\r\n\"x\r\ny\",2\r\n");
  EXPECT_THAT(Rows(r), ElementsAre("\"x\r\ny\",2"));
}

TEST(SplitCsvRecordsTest, LeadingBomDroppedFromHeader) {
  const CsvRecords r = MustSplit("\xEF\xBB\xBFid,x\n1,2\n");
  EXPECT_EQ(r.header, "id,x");
  EXPECT_THAT(Rows(r), ElementsAre("1,2"));
}

TEST(SplitCsvRecordsTest, BomOnlyInTheMiddleIsKept) {
  const CsvRecords r = MustSplit(
      "id\n\xEF\xBB\xBF"
      "1\n");
  EXPECT_EQ(r.header, "id");
  EXPECT_THAT(Rows(r), ElementsAre("\xEF\xBB\xBF"
                                   "1"));
}

TEST(SplitCsvRecordsTest, BlankLinesSkipped) {
  const CsvRecords r = MustSplit("\n\na,b\n\n1,2\r\n\r\n\n3,4\n\n");
  EXPECT_EQ(r.header, "a,b");
  EXPECT_THAT(Rows(r), ElementsAre("1,2", "3,4"));
}

TEST(SplitCsvRecordsTest, RowsAreViewsIntoTheText) {
  const std::string text = "a\n1\n";
  absl::StatusOr<CsvRecords> r = SplitCsvRecords(text);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->header.data(), text.data());
  EXPECT_EQ(r->rows[0].data(), text.data() + 2);
}

// As the server's reader (core/data/csv_reader.h): a quote inside an
// unquoted field is a literal character, not the start of a quoted field.
TEST(SplitCsvRecordsTest, QuoteInsideUnquotedFieldIsLiteral) {
  const CsvRecords r = MustSplit("size,name\n5,12\" pipe\n6,3\" pipe\n");
  EXPECT_THAT(Rows(r), ElementsAre("5,12\" pipe", "6,3\" pipe"));
}

TEST(SplitCsvRecordsTest, LiteralQuoteThenQuotedField) {
  const CsvRecords r = MustSplit("a,b,c\n5\" x,\"y,\nz\",1\n2,3,4\n");
  EXPECT_THAT(Rows(r), ElementsAre("5\" x,\"y,\nz\",1", "2,3,4"));
}

TEST(SplitCsvRecordsTest, SingleLiteralQuoteIsNotUnterminated) {
  const CsvRecords r = MustSplit("size,name\n5,12\" pipe\n6,hose\n");
  EXPECT_THAT(Rows(r), ElementsAre("5,12\" pipe", "6,hose"));
}

TEST(SplitCsvRecordsTest, UnterminatedQuoteNamesItsLine) {
  absl::StatusOr<CsvRecords> r = SplitCsvRecords("a,b\n1,2\n3,\"open\n4,5\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("line 3:"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("not terminated"));
}

TEST(SplitCsvRecordsTest, UnterminatedQuoteCountsBlankAndQuotedLines) {
  // Line 1 header, 2 blank, 3-4 a quoted field with a newline, 5 blank,
  // 6 the unterminated one.
  absl::StatusOr<CsvRecords> r =
      SplitCsvRecords("a,b\n\n\"x\ny\",1\n\n\"never closed,2\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("line 6:"));
}

TEST(SplitCsvRecordsTest, UnterminatedQuoteWithEscapedQuotesNamesOpeningLine) {
  // The field opens on line 2; a doubled quote on line 3 does not move it.
  absl::StatusOr<CsvRecords> r =
      SplitCsvRecords("a,b\n1,\"first\nsecond \"\"quoted\"\" text\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("line 2:"));
}

TEST(SplitCsvRecordsTest, UnterminatedQuoteInHeaderAfterBom) {
  absl::StatusOr<CsvRecords> r = SplitCsvRecords("\xEF\xBB\xBF\"a,b\n1,2\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("line 1:"));
}

TEST(SplitCsvRecordsTest, EmptyTextIsInvalid) {
  absl::StatusOr<CsvRecords> r = SplitCsvRecords("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("empty"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("header"));
}

TEST(SplitCsvRecordsTest, OnlyBlankLinesOrBomIsInvalid) {
  for (absl::string_view text :
       {"\n", "\r\n\r\n", "\n\n\n", "\xEF\xBB\xBF", "\xEF\xBB\xBF\r\n"}) {
    absl::StatusOr<CsvRecords> r = SplitCsvRecords(text);
    ASSERT_FALSE(r.ok()) << "text: " << text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("no header row"));
  }
}

// ------------------------------------------------------------------ BatchRows

// Header "h" (2 bytes with its newline) and `n` rows "r0x", "r1x", ... of
// 4 bytes each with their newline.
CsvRecords FourByteRows(int n, std::vector<std::string>* storage) {
  storage->clear();
  for (int i = 0; i < n; ++i) storage->push_back(absl::StrCat("r", i, "x"));
  CsvRecords records;
  records.header = "h";
  for (const std::string& s : *storage) records.rows.push_back(s);
  return records;
}

TEST(BatchRowsTest, ExactRanges) {
  std::vector<std::string> storage;
  const CsvRecords records = FourByteRows(5, &storage);
  // Each document: 2 (header) + 4 per row.
  EXPECT_EQ(BatchRows(records, 10), (Batches{{0, 2}, {2, 4}, {4, 5}}));
  EXPECT_EQ(BatchRows(records, 9),
            (Batches{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}));
  EXPECT_EQ(BatchRows(records, 14), (Batches{{0, 3}, {3, 5}}));
  EXPECT_EQ(BatchRows(records, 22), (Batches{{0, 5}}));
  EXPECT_EQ(BatchRows(records, 1 << 20), (Batches{{0, 5}}));
}

TEST(BatchRowsTest, AtLeastOneRowPerBatch) {
  std::vector<std::string> storage;
  const CsvRecords records = FourByteRows(3, &storage);
  EXPECT_EQ(BatchRows(records, 0), (Batches{{0, 1}, {1, 2}, {2, 3}}));
  EXPECT_EQ(BatchRows(records, 1), (Batches{{0, 1}, {1, 2}, {2, 3}}));
}

TEST(BatchRowsTest, OversizedRowGetsItsOwnBatch) {
  const std::string big(100, 'x');
  CsvRecords records;
  records.header = "h";
  records.rows = {"a", big, "b", "c"};
  // "h\n" + "a\n" = 4; the big row alone is 103 > 10, but still one batch.
  EXPECT_EQ(BatchRows(records, 10), (Batches{{0, 1}, {1, 2}, {2, 4}}));
}

TEST(BatchRowsTest, NoRowsNoBatches) {
  CsvRecords records;
  records.header = "a,b";
  EXPECT_THAT(BatchRows(records, 100), IsEmpty());
}

TEST(BatchRowsTest, BatchesCoverEveryRowInOrderWithinTheLimit) {
  const CsvRecords records =
      MustSplit("id,text\n1,a\n2,\"b,c\"\n3,\"d\ne\"\n4,ffffff\n5,g\n");
  const size_t limit = 20;
  const Batches batches = BatchRows(records, limit);
  size_t next = 0;
  for (const auto& [begin, end] : batches) {
    EXPECT_EQ(begin, next);
    EXPECT_LT(begin, end);
    if (end - begin > 1) {
      EXPECT_LE(BatchText(records, begin, end).size(), limit);
    }
    next = end;
  }
  EXPECT_EQ(next, records.rows.size());
}

// ------------------------------------------------------------------ BatchText

TEST(BatchTextTest, StartsWithHeader) {
  const CsvRecords records = MustSplit("a,b\r\n1,2\r\n\"x\ny\",3\r\n5,6\r\n");
  EXPECT_EQ(BatchText(records, 0, 3), "a,b\n1,2\n\"x\ny\",3\n5,6\n");
  EXPECT_EQ(BatchText(records, 1, 3), "a,b\n\"x\ny\",3\n5,6\n");
  EXPECT_EQ(BatchText(records, 2, 3), "a,b\n5,6\n");
  EXPECT_EQ(BatchText(records, 1, 1), "a,b\n");
}

TEST(BatchTextTest, HeaderWithoutBom) {
  const CsvRecords records = MustSplit("\xEF\xBB\xBFq\n7\n");
  EXPECT_EQ(BatchText(records, 0, 1), "q\n7\n");
}

// ------------------------------------------------------------------- CsvField

TEST(CsvFieldTest, PlainFieldUnchanged) {
  EXPECT_EQ(CsvField("abc"), "abc");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("1.5"), "1.5");
  EXPECT_EQ(CsvField(" spaced "), " spaced ");
}

TEST(CsvFieldTest, QuotesSpecialCharacters) {
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("\""), "\"\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
}

TEST(CsvFieldTest, QuotedFieldSplitsBackAsOneRecord) {
  const std::string field = CsvField("x,\"y\"\nz");
  const std::string text = absl::StrCat("h\n", field, "\nnext\n");
  const CsvRecords records = MustSplit(text);
  EXPECT_THAT(Rows(records), ElementsAre(field, "next"));
}

}  // namespace
}  // namespace modelserver::client
