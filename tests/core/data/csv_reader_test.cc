#include "core/data/csv_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/datetime.h"
#include "core/util/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Reads `text` with the default 1 MiB chunk and with tiny chunks, which must
// agree; returns the former.
absl::StatusOr<Table> Read(absl::string_view text,
                           const CsvOptions& options = CsvOptions()) {
  absl::StatusOr<Table> whole = ReadCsvString(text, options);
  for (size_t chunk : {1, 3, 16}) {
    absl::StatusOr<Table> chunked =
        csv_internal::ReadCsvStringInChunks(text, options, chunk);
    EXPECT_EQ(chunked.status(), whole.status()) << "chunk " << chunk;
    if (whole.ok() && chunked.ok()) {
      EXPECT_EQ(chunked->column_names(), whole->column_names());
      EXPECT_EQ(chunked->num_rows(), whole->num_rows());
    }
  }
  return whole;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// Level text per row ("<NA>" for missing).
std::vector<std::string> Texts(const Column& c) {
  std::vector<std::string> out;
  for (int32_t code : c.codes()) {
    out.push_back(code == kMissingCode ? "<NA>" : c.levels()[code]);
  }
  return out;
}

std::string TempPath(absl::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/csv_reader_test_", getpid(), "_",
                      name);
}

void WriteFile(const std::string& path, absl::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

TEST(CsvReaderTest, ReadsTypedColumns) {
  auto t = Read("x,name,when\n1.5,a,2024-01-02\n-2,b,2024-01-03T12:00:00\n");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->num_columns(), 3);
  EXPECT_EQ(t->num_rows(), 2);
  EXPECT_THAT(t->column_names(), ElementsAre("x", "name", "when"));
  const Column& x = t->column(0);
  EXPECT_EQ(x.type(), ColumnType::kNumeric);
  EXPECT_THAT(x.values(), ElementsAre(1.5, -2.0));
  const Column& name = t->column(1);
  EXPECT_EQ(name.type(), ColumnType::kCategorical);
  EXPECT_THAT(name.levels(), ElementsAre("a", "b"));
  EXPECT_THAT(name.codes(), ElementsAre(0, 1));
  const Column& when = t->column(2);
  EXPECT_EQ(when.type(), ColumnType::kDate);
  // 2024-01-02 is day 19724 since the epoch.
  EXPECT_THAT(when.values(),
              ElementsAre(19724 * 86400.0, 19725 * 86400.0 + 12 * 3600));
}

TEST(CsvReaderTest, NumberSpellings) {
  auto t = Read("v\n  3 \n+1.25\n1e3\n.5\n-0.0e-1\n5.\n\t7\t\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);
  EXPECT_THAT(t->column(0).values(),
              ElementsAre(3.0, 1.25, 1000.0, 0.5, -0.0, 5.0, 7.0));
  // Not numbers: the column is categorical with the exact texts.
  for (const char* s : {"0x10", "1,5", "1e", "--1", "+-1", "1 2", "1_000"}) {
    auto c = Read(absl::StrCat("v\n\"", s, "\"\n"));
    ASSERT_TRUE(c.ok()) << s;
    EXPECT_EQ(c->column(0).type(), ColumnType::kCategorical) << s;
    EXPECT_THAT(c->column(0).levels(), ElementsAre(s));
  }
}

// Every number must be the correctly rounded double, bit for bit (glibc's
// strtod is correctly rounded): short decimals take a fast path, the rest
// go through fast_float.
TEST(CsvReaderTest, NumbersAreCorrectlyRounded) {
  std::vector<std::string> texts = {"0.1",
                                    "0.3",
                                    "-0",
                                    "1e22",
                                    "1e23",
                                    "9007199254740992",
                                    "9007199254740993",
                                    "123456789012345678901234567890",
                                    "4.35679e-05",
                                    "2.2250738585072014e-308",
                                    "4.9e-324",
                                    "1.7976931348623157e308",
                                    "0.000000000000000000001",
                                    "1e-22",
                                    "1e-23",
                                    "1E+5",
                                    "-.5e1",
                                    "1e0004",
                                    "1e00005",
                                    "8.589973e9",
                                    "0.30000000000000004"};
  Rng rng(20240229);
  for (int i = 0; i < 3000; ++i) {
    std::string t = rng.UniformInt(2) == 0 ? "" : "-";
    const uint64_t int_digits = rng.UniformInt(12);
    const uint64_t frac_digits = rng.UniformInt(14);
    for (uint64_t d = 0; d < int_digits; ++d) {
      t += static_cast<char>('0' + rng.UniformInt(10));
    }
    if (frac_digits > 0 || int_digits == 0) {
      t += '.';
      for (uint64_t d = 0; d < std::max<uint64_t>(frac_digits, 1); ++d) {
        t += static_cast<char>('0' + rng.UniformInt(10));
      }
    }
    if (rng.UniformInt(3) == 0) {
      absl::StrAppend(&t, "e", static_cast<int>(rng.UniformInt(61)) - 30);
    }
    texts.push_back(t);
  }
  std::string csv = "x\n";
  for (const std::string& t : texts) absl::StrAppend(&csv, t, "\n");
  auto table = ReadCsvString(csv, CsvOptions());
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->column(0).type(), ColumnType::kNumeric);
  const std::vector<double>& values = table->column(0).values();
  ASSERT_EQ(values.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const double expected = std::strtod(texts[i].c_str(), nullptr);
    EXPECT_EQ(std::memcmp(&values[i], &expected, sizeof(double)), 0)
        << texts[i] << " -> " << values[i] << " vs " << expected;
  }
}

TEST(CsvReaderTest, QuotedFieldsWithDelimitersQuotesAndNewlines) {
  const std::string text =
      "id,text\n"
      "1,\"a,b\"\n"
      "2,\"say \"\"hi\"\"\"\n"
      "3,\"two\nlines\"\n"
      "4,\"crlf\r\ninside\"\r\n"
      "5,\"\"\"\"\n"
      "6,plain\"quote\n";
  auto t = Read(text);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 6);
  EXPECT_THAT(t->column(0).values(), ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_THAT(Texts(t->column(1)),
              ElementsAre("a,b", "say \"hi\"", "two\nlines", "crlf\r\ninside",
                          "\"", "plain\"quote"));
}

TEST(CsvReaderTest, LineNumbersCountNewlinesInsideQuotes) {
  // Line 1 header; record 1 spans lines 2-4; record 2 is line 5 (ragged).
  auto t = Read("a,b\n1,\"x\ny\nz\"\n2\n");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(t.status()), "line 5: expected 2 fields, found 1");
  // An error in a field after a multi-line field names the field's own line.
  auto u = Read("a,b,c\n1,\"x\n\ny\",inf\n");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(Message(u.status()),
            "line 4, column 'c': 'inf' is not a finite number");
}

TEST(CsvReaderTest, SkipsBomAndBlankLines) {
  auto t = Read("\xEF\xBB\xBF\n\r\nx,y\n\n1,2\r\n\r\n3,4\n\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->column_names(), ElementsAre("x", "y"));
  EXPECT_THAT(t->column(0).values(), ElementsAre(1, 3));
  EXPECT_THAT(t->column(1).values(), ElementsAre(2, 4));
  // Blank lines still count: the ragged row is on line 8.
  auto u = Read("\xEF\xBB\xBFx,y\n\n1,2\r\n\r\n3,4\n\n\n5\n");
  EXPECT_EQ(Message(u.status()), "line 8: expected 2 fields, found 1");
}

TEST(CsvReaderTest, LineEndingsAgree) {
  for (const char* text : {"a,b\n1,x\n2,\"y\"\n", "a,b\r\n1,x\r\n2,\"y\"\r\n",
                           "a,b\n1,x\n2,\"y\"", "a,b\r\n1,x\r\n2,y"}) {
    auto t = Read(text);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->num_rows(), 2) << text;
    EXPECT_THAT(t->column(0).values(), ElementsAre(1, 2)) << text;
    EXPECT_THAT(t->column(1).levels(), ElementsAre("x", "y")) << text;
  }
  // A trailing delimiter at the end of input is an empty last field.
  auto t = Read("a,b\n1,");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(1).CountMissing(), 1);
}

TEST(CsvReaderTest, BareCarriageReturnIsAnError) {
  auto t = Read("a,b\n1,2\r3,4\n");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(t.status()), HasSubstr("line 2: carriage return"));
}

TEST(CsvReaderTest, EveryMissingMarker) {
  auto t = Read(
      "n,c\n1,a\n,\nNA,NA\nNaN,NaN\nnull,null\n?,?\n  NA ,\t? \n\"\",\"\"\n"
      "2,b\n");
  ASSERT_TRUE(t.ok()) << t.status();
  const Column& n = t->column(0);
  const Column& c = t->column(1);
  EXPECT_EQ(n.type(), ColumnType::kNumeric);
  EXPECT_EQ(c.type(), ColumnType::kCategorical);
  EXPECT_EQ(t->num_rows(), 9);
  EXPECT_EQ(n.CountMissing(), 7);
  EXPECT_EQ(c.CountMissing(), 7);
  EXPECT_EQ(n.values()[0], 1);
  EXPECT_EQ(n.values()[8], 2);
  EXPECT_THAT(c.levels(), ElementsAre("a", "b"));
}

TEST(CsvReaderTest, CustomMissingValues) {
  CsvOptions options;
  options.missing_values = {"-999", " n/a "};
  auto t = Read("z,x,y\n-999,-999,n/a\n1,1, n/a\n2,,NA\n", options);
  ASSERT_TRUE(t.ok()) << t.status();
  const Column& z = t->column(0);
  EXPECT_EQ(z.type(), ColumnType::kNumeric);
  EXPECT_TRUE(std::isnan(z.values()[0]));
  EXPECT_EQ(z.values()[1], 1);
  EXPECT_EQ(z.values()[2], 2);
  // "" is no longer a missing value: it is text, so x is categorical with
  // the exact texts.
  const Column& x = t->column(1);
  EXPECT_EQ(x.type(), ColumnType::kCategorical);
  EXPECT_THAT(Texts(x), ElementsAre("<NA>", "1", ""));
  EXPECT_THAT(Texts(t->column(2)), ElementsAre("<NA>", "<NA>", "NA"));
}

TEST(CsvReaderTest, ColumnWithoutValuesIsNumeric) {
  auto t = Read("a,b\nNA,1\n,2\n");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);
  EXPECT_EQ(t->column(0).CountMissing(), 2);
  // Missing values first, then text: categorical without a second pass.
  int passes = 0;
  auto u = csv_internal::ReadCsvStringInChunks("a\nNA\n\nx\nNA\ny\n",
                                               CsvOptions(), 4, &passes);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(passes, 1);
  EXPECT_THAT(Texts(u->column(0)), ElementsAre("<NA>", "x", "<NA>", "y"));
}

TEST(CsvReaderTest, InfersDatesAndDateTimes) {
  auto t = Read(
      "d,dt\n2024-02-29,2024-02-29T13:30:00Z\nNA,2024-02-29 13:30\n"
      "1970-01-01,1970-01-01T02:00:00+02:00\n");
  ASSERT_TRUE(t.ok()) << t.status();
  const Column& d = t->column(0);
  const Column& dt = t->column(1);
  EXPECT_EQ(d.type(), ColumnType::kDate);
  EXPECT_EQ(dt.type(), ColumnType::kDate);
  EXPECT_EQ(d.values()[0], 19782 * 86400.0);
  EXPECT_TRUE(std::isnan(d.values()[1]));
  EXPECT_EQ(d.values()[2], 0.0);
  EXPECT_THAT(dt.values(), ElementsAre(19782 * 86400.0 + 13.5 * 3600,
                                       19782 * 86400.0 + 13.5 * 3600, 0.0));
  // An invalid date makes the column categorical with the exact texts.
  int passes = 0;
  auto u = csv_internal::ReadCsvStringInChunks("d\n2021-02-28\n2021-02-29\n",
                                               CsvOptions(), 1 << 20, &passes);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(passes, 2);
  EXPECT_THAT(Texts(u->column(0)), ElementsAre("2021-02-28", "2021-02-29"));
}

TEST(CsvReaderTest, ForcedCategoricalKeepsText) {
  CsvOptions options;
  options.column_types["zip"] = ColumnType::kCategorical;
  options.column_types["not_in_header"] = ColumnType::kDate;
  int passes = 0;
  auto t = csv_internal::ReadCsvStringInChunks(
      "zip,n\n007,1\n7,2\nNA,3\n007,4\n", options, 1 << 20, &passes);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(passes, 1);
  EXPECT_EQ(t->column(0).type(), ColumnType::kCategorical);
  EXPECT_THAT(t->column(0).levels(), ElementsAre("007", "7"));
  EXPECT_THAT(t->column(0).codes(), ElementsAre(0, 1, kMissingCode, 0));
  EXPECT_EQ(t->column(1).type(), ColumnType::kNumeric);
}

TEST(CsvReaderTest, ForcedNumericAndDateErrors) {
  CsvOptions options;
  options.column_types["price"] = ColumnType::kNumeric;
  auto t = Read("id,price\na,1\nb,\nc,cheap\n", options);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(t.status()),
            "line 4, column 'price': 'cheap' is not a number (the column's "
            "type is set to numeric)");
  // Long values are cut in the message.
  const std::string long_value(100, 'z');
  auto l = Read(absl::StrCat("id,price\na,", long_value, "\n"), options);
  EXPECT_THAT(Message(l.status()),
              HasSubstr(absl::StrCat("'", std::string(40, 'z'), "...'")));
  EXPECT_THAT(Message(l.status()), Not(HasSubstr(std::string(41, 'z'))));

  CsvOptions dates;
  dates.column_types["when"] = ColumnType::kDate;
  auto d = Read("when\n2020-01-01\n\n2020-13-01\n", dates);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(d.status()),
              HasSubstr("line 4, column 'when': '2020-13-01' is not an "
                        "ISO-8601 date"));
  // A forced date column that reads fine; and a forced numeric column that
  // would otherwise be a date is an error.
  auto ok = Read("when\n2020-01-01\nNA\n", dates);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->column(0).type(), ColumnType::kDate);
  CsvOptions num;
  num.column_types["when"] = ColumnType::kNumeric;
  EXPECT_EQ(Read("when\n2020-01-01\n", num).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Forced numeric on an all-missing column.
  auto empty = Read("when\nNA\n", dates);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->column(0).type(), ColumnType::kDate);
}

TEST(CsvReaderTest, TypeChangeReReadsExactText) {
  std::string text = "v,w\n";
  for (int i = 0; i < 5000; ++i) {
    absl::StrAppend(&text, i % 2 == 0 ? "1.50" : "007", ",", i, "\n");
  }
  absl::StrAppend(&text, "abc,5000\n");
  for (size_t chunk : {size_t{1} << 20, size_t{100}}) {
    int passes = 0;
    auto t =
        csv_internal::ReadCsvStringInChunks(text, CsvOptions(), chunk, &passes);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(passes, 2);
    EXPECT_EQ(t->num_rows(), 5001);
    const Column& v = t->column(0);
    EXPECT_EQ(v.type(), ColumnType::kCategorical);
    EXPECT_THAT(v.levels(), ElementsAre("1.50", "007", "abc"));
    EXPECT_EQ(v.codes()[4999], 1);
    EXPECT_EQ(v.codes()[5000], 2);
    EXPECT_EQ(t->column(1).type(), ColumnType::kNumeric);
    EXPECT_EQ(t->column(1).values()[5000], 5000);
  }
  // Common case: one pass.
  int passes = 0;
  ASSERT_TRUE(csv_internal::ReadCsvStringInChunks("a,b\n1,x\n", CsvOptions(),
                                                  1 << 20, &passes)
                  .ok());
  EXPECT_EQ(passes, 1);
}

TEST(CsvReaderTest, TypeChangeInFileSeeksBack) {
  const std::string path = TempPath("promote.csv");
  WriteFile(path, "n,k\n1.50,1\n2,2\nNA,3\nfoo,4\n");
  auto t = ReadCsvFile(path, CsvOptions());
  std::remove(path.c_str());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(Texts(t->column(0)), ElementsAre("1.50", "2", "<NA>", "foo"));
  EXPECT_THAT(t->column(1).values(), ElementsAre(1, 2, 3, 4));
}

// A pipe streams fine in one pass but cannot be rewound for a second one.
absl::StatusOr<Table> ReadThroughFifo(const std::string& text) {
  const std::string path = TempPath("fifo.csv");
  std::remove(path.c_str());
  EXPECT_EQ(mkfifo(path.c_str(), 0600), 0);
  std::thread writer([&] { WriteFile(path, text); });
  absl::StatusOr<Table> t = ReadCsvFile(path, CsvOptions());
  writer.join();
  std::remove(path.c_str());
  return t;
}

TEST(CsvReaderTest, PipeCannotBeReadTwice) {
  auto ok = ReadThroughFifo("a,b\n1,x\n2,y\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_THAT(ok->column(0).values(), ElementsAre(1, 2));
  auto t = ReadThroughFifo("a,b\n1,x\n2,y\nz,w\n");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(t.status()), HasSubstr("cannot re-read CSV file"));
  EXPECT_THAT(Message(t.status()), HasSubstr("column 'a'"));
  EXPECT_THAT(Message(t.status()), HasSubstr("line 4"));
}

TEST(CsvReaderTest, RaggedRows) {
  auto few = Read(
      "a,b,c,d,e\n1,2,3,4,5\n\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n"
      "1,2,3,4\n");
  EXPECT_EQ(few.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(few.status()), "line 7: expected 5 fields, found 4");
  auto many = Read("a,b\n1,2\n1,2,3\n");
  EXPECT_EQ(Message(many.status()), "line 3: expected 2 fields, found 3");
}

TEST(CsvReaderTest, UnterminatedQuote) {
  auto t = Read("id,name\n1,ok\n2,\"never\nclosed\n");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(t.status()),
            "line 3, column 'name': unterminated quoted field starting here");
  auto h = Read("id,\"name\n");
  EXPECT_EQ(Message(h.status()),
            "line 1, column 2: unterminated quoted field starting here");
  // Ends right after a doubled quote.
  auto d = Read("a\n\"x\"\"");
  EXPECT_THAT(Message(d.status()), HasSubstr("unterminated quoted field"));
}

TEST(CsvReaderTest, TextAfterClosingQuote) {
  auto t = Read("id,name\n1,\"ab\"c\n");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(t.status()),
              HasSubstr("line 2, column 'name': unexpected text after the "
                        "closing quote: 'c'"));
  auto s = Read("id,name\n1,\"ab\" \n");
  EXPECT_THAT(Message(s.status()), HasSubstr("after the closing quote: ' '"));
}

// A field longer than max_field_bytes with a NUL beyond the limit is too
// long whatever the chunk size (a whole read used to report the NUL, a
// chunked one the length); found by fuzz/csv_fuzzer.cc
// (fuzz/regressions/csv/nul_beyond_field_limit).
TEST(CsvReaderTest, FieldTooLongBeforeNulAcrossChunks) {
  CsvOptions options;
  options.max_field_bytes = 4;
  for (const std::string& text :
       {std::string("a,b\n123456\0x,1\n", 15),
        std::string("a,b\n\"123456\0x\",1\n", 17)}) {
    const absl::Status want = ReadCsvString(text, options).status();
    EXPECT_EQ(want.code(), absl::StatusCode::kResourceExhausted) << want;
    for (size_t chunk : {1, 2, 3, 5, 8}) {
      EXPECT_EQ(
          csv_internal::ReadCsvStringInChunks(text, options, chunk).status(),
          want)
          << "chunk " << chunk;
    }
  }
  // Within the limit the NUL is the error.
  EXPECT_THAT(Message(Read(std::string("a,b\n12\0,1\n", 10), options).status()),
              HasSubstr("NUL byte in a field"));
}

// A quoted field longer than max_field_bytes is RESOURCE_EXHAUSTED with the
// same message whatever the chunk size, closed or not, and also when text
// follows its closing quote (a whole read used to report that text, or the
// length without the hint that a chunked read gave); found by
// fuzz/csv_fuzzer.cc (fuzz/regressions/csv/long_quoted_field_then_text).
TEST(CsvReaderTest, LongQuotedFieldAcrossChunks) {
  CsvOptions options;
  options.max_field_bytes = 4;
  for (const char* text : {"a,b\n1,\"12\n3456\"x\n", "a,b\n1,\"123456\"\n",
                           "a,b\n1,\"123456"}) {
    SCOPED_TRACE(text);
    const absl::Status want = ReadCsvString(text, options).status();
    EXPECT_EQ(Message(want),
              "line 2, column 'b': field is longer than max_field_bytes=4 "
              "bytes (is a closing quote missing?)");
    for (size_t chunk : {1, 2, 3, 5, 8}) {
      EXPECT_EQ(
          csv_internal::ReadCsvStringInChunks(text, options, chunk).status(),
          want)
          << "chunk " << chunk;
    }
  }
}

// The quoted excerpt is the same whatever the chunk size: a 1-byte chunk
// used to end it at the chunk's end ('x' instead of 'x,2'); found by
// fuzz/csv_fuzzer.cc (fuzz/regressions/csv/excerpt_across_chunks).
TEST(CsvReaderTest, TextAfterClosingQuoteAcrossChunks) {
  for (const char* text : {"a,b\n\"1\"x,2\n", "a,b\n\"1\"x,2",
                           "a,b\n\"1\"0123456789abc,2\n"}) {
    SCOPED_TRACE(text);
    const std::string want = Message(ReadCsvString(text, CsvOptions()).status());
    EXPECT_THAT(want, HasSubstr("unexpected text after the closing quote"));
    for (size_t chunk : {1, 2, 3, 5, 8, 13}) {
      EXPECT_EQ(Message(csv_internal::ReadCsvStringInChunks(text, CsvOptions(),
                                                            chunk)
                            .status()),
                want)
          << "chunk " << chunk;
    }
  }
  EXPECT_EQ(Message(ReadCsvString("a,b\n\"1\"x,2\n", CsvOptions()).status()),
            "line 2, column 'a': unexpected text after the closing quote: "
            "'x,2' (a quote inside a quoted field must be doubled)");
}

TEST(CsvReaderTest, NonFiniteNumbers) {
  for (const char* v : {"inf", "-Infinity", "nan", "1e400", "-1e999"}) {
    auto t = Read(absl::StrCat("id,x\n1,2.5\n2,", v, "\n"));
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << v;
    EXPECT_EQ(Message(t.status()), absl::StrCat("line 3, column 'x': '", v,
                                                "' is not a finite number"));
  }
  // As the first value (inferred), and in a forced numeric column.
  EXPECT_EQ(Message(Read("x\ninf\n1\n").status()),
            "line 2, column 'x': 'inf' is not a finite number");
  CsvOptions options;
  options.column_types["x"] = ColumnType::kNumeric;
  EXPECT_EQ(Message(Read("x\n1\n +inf\n", options).status()),
            "line 3, column 'x': '+inf' is not a finite number");
  // "inf" in a column that turns out categorical is just text.
  auto c = Read("x\ninf\nabc\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->column(0).levels(), ElementsAre("inf", "abc"));
  // Subnormal and huge-but-finite values are fine.
  auto f = Read("x\n1e-320\n1.7976931348623157e308\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->column(0).values()[1], 1.7976931348623157e308);
  EXPECT_GT(f->column(0).values()[0], 0.0);
}

TEST(CsvReaderTest, Utf8) {
  auto ok = Read("caf\xC3\xA9,x\n\xE2\x82\xAC,1\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->column(0).name(), "caf\xC3\xA9");
  EXPECT_THAT(ok->column(0).levels(), ElementsAre("\xE2\x82\xAC"));

  auto header = Read("a,b\xFF\n1,2\n");
  EXPECT_EQ(header.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(header.status()),
              HasSubstr("line 1: the name of column 2"));
  EXPECT_THAT(Message(header.status()), HasSubstr("not valid UTF-8"));

  for (const char* bad :
       {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "ab\xE2\x82", "\x80"}) {
    auto v = Read(absl::StrCat("id,name\n1,x\n2,", bad, "\n"));
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(v.status()),
                HasSubstr("line 3, column 'name': value '"));
    EXPECT_THAT(Message(v.status()), HasSubstr("is not valid UTF-8"));
  }
  // Invalid UTF-8 in a number column that turns categorical later: found in
  // the second pass, still with its line.
  auto late = Read("n\n1\n\xFF\n");
  EXPECT_THAT(Message(late.status()), HasSubstr("line 3, column 'n'"));
}

TEST(CsvReaderTest, NulBytesAndBinaryGarbage) {
  auto t = Read(std::string("a,b\n1,x\0y\n", 10));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(t.status()),
              HasSubstr("line 2, column 'b': NUL byte in a field"));
  auto q = Read(std::string("a,b\n1,\"x\0y\"\n", 12));
  EXPECT_THAT(Message(q.status()),
              HasSubstr("line 2, column 'b': NUL byte in a quoted field"));
  auto bin = Read(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  EXPECT_EQ(bin.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CsvReaderTest, NoHeader) {
  for (const char* text : {"", "\n\n", "\xEF\xBB\xBF", "\r\n"}) {
    auto t = Read(text);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(t.status()), HasSubstr("no header row"));
  }
}

TEST(CsvReaderTest, HeaderOnly) {
  CsvOptions options;
  options.column_types["c"] = ColumnType::kCategorical;
  options.column_types["d"] = ColumnType::kDate;
  auto t = Read("a, b ,c,d", options);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 0);
  EXPECT_THAT(t->column_names(), ElementsAre("a", "b", "c", "d"));
  EXPECT_EQ(t->column(0).type(), ColumnType::kNumeric);
  EXPECT_EQ(t->column(1).type(), ColumnType::kNumeric);
  EXPECT_EQ(t->column(2).type(), ColumnType::kCategorical);
  EXPECT_EQ(t->column(3).type(), ColumnType::kDate);
}

TEST(CsvReaderTest, BadHeaderNames) {
  auto dup = Read("a,b,\"a\"\n1,2,3\n");
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(dup.status()),
            "line 1: duplicate column name 'a' (columns 1 and 3)");
  auto trimmed_dup = Read("a, a\n1,2\n");
  EXPECT_THAT(Message(trimmed_dup.status()), HasSubstr("duplicate"));
  auto empty = Read("a,,c\n1,2,3\n");
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(empty.status()),
            "line 1: column 2 of the header has an empty name");
  EXPECT_THAT(Message(Read("a,\"  \"\n").status()),
              HasSubstr("column 2 of the header has an empty name"));
}

TEST(CsvReaderTest, OtherDelimiters) {
  CsvOptions semi;
  semi.delimiter = ';';
  auto t = Read("a;b\n1,5;\"x;y\"\n", semi);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->column(0).levels(), ElementsAre("1,5"));
  EXPECT_THAT(t->column(1).levels(), ElementsAre("x;y"));
  CsvOptions tab;
  tab.delimiter = '\t';
  auto u = Read("a\tb\n1\t2\n", tab);
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_THAT(u->column(1).values(), ElementsAre(2));
  for (char bad : {'"', '\n', '\r', '\0'}) {
    CsvOptions o;
    o.delimiter = bad;
    EXPECT_EQ(ReadCsvString("a\n", o).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(CsvReaderTest, Limits) {
  CsvOptions rows;
  rows.max_rows = 2;
  ASSERT_TRUE(Read("a\n1\n2\n", rows).ok());
  auto r = Read("a\n1\n2\n3\n", rows);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Message(r.status()), "line 4: more than max_rows=2 data rows");

  CsvOptions cols;
  cols.max_columns = 3;
  ASSERT_TRUE(Read("a,b,c\n1,2,3\n", cols).ok());
  auto c = Read("a,b,c,d\n1,2,3,4\n", cols);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Message(c.status()), HasSubstr("max_columns=3"));

  CsvOptions bytes;
  bytes.max_field_bytes = 5;
  // Bytes as written: ab""c is 5.
  ASSERT_TRUE(Read("a,b\n12345,\"ab\"\"c\"\n", bytes).ok());
  auto f = Read("a,b\n1,123456\n", bytes);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Message(f.status()),
            "line 2, column 'b': field is longer than max_field_bytes=5 bytes");
  // A stray quote swallowing the rest of the input hits the limit early.
  std::string stray = "a,b\n1,\"oops\n";
  for (int i = 0; i < 100; ++i) absl::StrAppend(&stray, i, ",x\n");
  auto s = csv_internal::ReadCsvStringInChunks(stray, bytes, 8);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(Message(s.status()), HasSubstr("line 2, column 'b'"));
  EXPECT_THAT(Message(s.status()), HasSubstr("closing quote missing"));

  CsvOptions unlimited;
  unlimited.max_columns = 0;
  unlimited.max_field_bytes = 0;
  ASSERT_TRUE(Read("a,b\n1,123456\n", unlimited).ok());

  CsvOptions negative;
  negative.max_rows = -1;
  EXPECT_EQ(ReadCsvString("a\n", negative).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CsvReaderTest, FileErrors) {
  const std::string missing = TempPath("does_not_exist.csv");
  auto t = ReadCsvFile(missing, CsvOptions());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(t.status()), HasSubstr(missing));
  auto dir = ReadCsvFile(::testing::TempDir(), CsvOptions());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(dir.status()), HasSubstr("is a directory"));
  // Content errors from a file name the file.
  const std::string path = TempPath("ragged.csv");
  WriteFile(path, "a,b\n1\n");
  auto r = ReadCsvFile(path, CsvOptions());
  std::remove(path.c_str());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(r.status()), absl::StrCat("CSV file '", path,
                                              "': line 2: expected 2 fields, "
                                              "found 1"));
}

// Records with quoted multi-line fields, doubled quotes and CRLF endings, so
// that every kind of token crosses chunk boundaries somewhere.
std::string ChunkTestCsv(int rows) {
  std::string text = "\xEF\xBB\xBFid,note,x,tag\r\n";
  for (int i = 0; i < rows; ++i) {
    absl::StrAppend(&text, i, ",\"line one ", i, "\r\nsaid \"\"", i % 7,
                    "\"\"\nend\",", i * 0.25, ",", (i % 3 == 0 ? "" : "t"),
                    i % 5, i % 11 == 0 ? "\n" : "\r\n");
  }
  return text;
}

void CheckChunkTestTable(const Table& t, int rows) {
  ASSERT_EQ(t.num_rows(), rows);
  EXPECT_THAT(t.column_names(), ElementsAre("id", "note", "x", "tag"));
  for (int i : {0, 1, rows / 2, rows - 1}) {
    EXPECT_EQ(t.column(0).values()[i], i);
    const Column& note = t.column(1);
    EXPECT_EQ(note.levels()[note.codes()[i]],
              absl::StrCat("line one ", i, "\r\nsaid \"", i % 7, "\"\nend"));
    EXPECT_EQ(t.column(2).values()[i], i * 0.25);
    const Column& tag = t.column(3);
    EXPECT_EQ(tag.levels()[tag.codes()[i]],
              absl::StrCat(i % 3 == 0 ? "" : "t", i % 5));
  }
}

TEST(CsvReaderTest, RecordsSpanningChunks) {
  constexpr int kRows = 300;
  const std::string text = ChunkTestCsv(kRows);
  for (size_t chunk : {1, 2, 3, 5, 7, 13, 64, 1000}) {
    SCOPED_TRACE(chunk);
    auto t = csv_internal::ReadCsvStringInChunks(text, CsvOptions(), chunk);
    ASSERT_TRUE(t.ok()) << t.status();
    CheckChunkTestTable(*t, kRows);
  }
  // An error after all of that still names the right physical line: each
  // record takes 3 lines, the header 1.
  const std::string bad = absl::StrCat(text, "1,2,3\n");
  for (size_t chunk : {1, 7, 4096}) {
    auto t = csv_internal::ReadCsvStringInChunks(bad, CsvOptions(), chunk);
    EXPECT_EQ(
        Message(t.status()),
        absl::StrCat("line ", 2 + 3 * kRows, ": expected 4 fields, found 3"));
  }
}

TEST(CsvReaderTest, FileLargerThanOneChunk) {
  constexpr int kRows = 25000;  // ~1.4 MB: more than one 1 MiB read
  const std::string text = ChunkTestCsv(kRows);
  ASSERT_GT(text.size(), size_t{1} << 20);
  const std::string path = TempPath("big.csv");
  WriteFile(path, text);
  auto t = ReadCsvFile(path, CsvOptions());
  ASSERT_TRUE(t.ok()) << t.status();
  CheckChunkTestTable(*t, kRows);
  // Force the second pass over the file, too.
  WriteFile(path, absl::StrCat(text, "x,y,z,w\n"));
  auto u = ReadCsvFile(path, CsvOptions());
  std::remove(path.c_str());
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->num_rows(), kRows + 1);
  EXPECT_EQ(u->column(0).type(), ColumnType::kCategorical);
  EXPECT_EQ(Texts(u->column(0))[kRows - 1], absl::StrCat(kRows - 1));
  EXPECT_EQ(Texts(u->column(2))[kRows - 1], absl::StrCat((kRows - 1) * 0.25));
  EXPECT_EQ(Texts(u->column(2))[kRows], "z");
}

// --- Real datasets.

std::string DataPath(absl::string_view name) {
  return absl::StrCat(MODELSERVER_TEST_DATA_DIR, "/", name);
}

TEST(CsvReaderDatasetTest, Iris) {
  auto t = ReadCsvFile(DataPath("iris.csv"), CsvOptions());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 150);
  ASSERT_EQ(t->num_columns(), 5);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(t->column(i).type(), ColumnType::kNumeric);
    EXPECT_EQ(t->column(i).CountMissing(), 0);
  }
  const Column* species = t->Find("species");
  ASSERT_NE(species, nullptr);
  EXPECT_EQ(species->type(), ColumnType::kCategorical);
  EXPECT_THAT(species->levels(),
              ElementsAre("setosa", "versicolor", "virginica"));
  EXPECT_EQ(species->codes()[0], 0);
  EXPECT_EQ(species->codes()[149], 2);
  EXPECT_EQ(t->Find("sepal_length_cm")->values()[0], 5.1);
  EXPECT_EQ(t->Find("petal_width_cm")->values()[149], 1.8);
}

TEST(CsvReaderDatasetTest, BreastCancer) {
  auto t = ReadCsvFile(DataPath("breast_cancer.csv"), CsvOptions());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 569);
  ASSERT_EQ(t->num_columns(), 31);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(t->column(i).type(), ColumnType::kNumeric) << i;
  }
  EXPECT_EQ(t->column(0).values()[0], 17.99);
  EXPECT_EQ(t->Find("worst_fractal_dimension")->values()[568], 0.07039);
  const Column* d = t->Find("diagnosis");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type(), ColumnType::kCategorical);
  EXPECT_THAT(d->levels(), ElementsAre("malignant", "benign"));
  EXPECT_EQ(d->codes()[568], 1);
}

TEST(CsvReaderDatasetTest, Diabetes) {
  auto t = ReadCsvFile(DataPath("diabetes.csv"), CsvOptions());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 442);
  ASSERT_EQ(t->num_columns(), 11);
  for (const Column& c : t->columns()) {
    EXPECT_EQ(c.type(), ColumnType::kNumeric) << c.name();
    EXPECT_EQ(c.CountMissing(), 0) << c.name();
  }
  EXPECT_EQ(t->Find("progression")->values()[0], 151.0);
  EXPECT_EQ(t->Find("s5")->values()[0], 4.8598);
  EXPECT_EQ(t->Find("progression")->values()[441], 57.0);
}

TEST(CsvReaderDatasetTest, Mpg) {
  auto t = ReadCsvFile(DataPath("mpg.csv"), CsvOptions());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 234);
  ASSERT_EQ(t->num_columns(), 11);
  const std::vector<std::pair<std::string, size_t>> categorical = {
      {"manufacturer", 15}, {"model", 38}, {"trans", 10},
      {"drv", 3},           {"fl", 5},     {"class", 7}};
  for (const auto& [name, levels] : categorical) {
    const Column* c = t->Find(name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_EQ(c->type(), ColumnType::kCategorical) << name;
    EXPECT_EQ(c->levels().size(), levels) << name;
  }
  for (const char* name : {"displ", "year", "cyl", "cty", "hwy"}) {
    EXPECT_EQ(t->Find(name)->type(), ColumnType::kNumeric) << name;
  }
  // "4" (four-wheel drive) is kept as the text "4".
  EXPECT_THAT(t->Find("drv")->levels(), ElementsAre("f", "4", "r"));
  EXPECT_EQ(t->Find("manufacturer")->levels()[0], "audi");
  EXPECT_EQ(Texts(*t->Find("model"))[233], "passat");
  EXPECT_EQ(t->Find("displ")->values()[0], 1.8);
  EXPECT_EQ(t->Find("hwy")->values()[233], 26);
}

TEST(CsvReaderDatasetTest, AirqualityMissingValues) {
  auto t = ReadCsvFile(DataPath("airquality.csv"), CsvOptions());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_rows(), 153);
  ASSERT_EQ(t->num_columns(), 6);
  EXPECT_THAT(t->column_names(),
              ElementsAre("Ozone", "Solar.R", "Wind", "Temp", "Month", "Day"));
  // Counted in the file: 37 NA in Ozone, 7 in Solar.R, none elsewhere.
  const std::vector<int64_t> expected_missing = {37, 7, 0, 0, 0, 0};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(t->column(i).type(), ColumnType::kNumeric);
    EXPECT_EQ(t->column(i).CountMissing(), expected_missing[i])
        << t->column(i).name();
  }
  EXPECT_EQ(t->column(0).values()[0], 41);
  EXPECT_EQ(t->column(2).values()[0], 7.4);
  EXPECT_EQ(t->column(1).values()[152], 223);
}

}  // namespace
}  // namespace modelserver
