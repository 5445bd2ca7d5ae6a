#include "core/data/datetime.h"

#include "gtest/gtest.h"

namespace modelserver {
namespace {

TEST(DateTimeTest, ParsesDates) {
  EXPECT_EQ(ParseIsoDateTime("1970-01-01"), 0.0);
  EXPECT_EQ(ParseIsoDateTime("1970-01-02"), 86400.0);
  // 2000-03-01 is day 11017 since the epoch (2000 is a leap year).
  EXPECT_EQ(ParseIsoDateTime("2000-03-01"), 11017 * 86400.0);
  EXPECT_EQ(ParseIsoDateTime("1969-12-31"), -86400.0);
  EXPECT_EQ(ParseIsoDateTime(" 2024-02-29 "), 19782 * 86400.0);
}

TEST(DateTimeTest, ParsesTimesAndOffsets) {
  EXPECT_EQ(ParseIsoDateTime("1970-01-01T01:02:03"), 3723.0);
  EXPECT_EQ(ParseIsoDateTime("1970-01-01 01:02"), 3720.0);
  EXPECT_EQ(ParseIsoDateTime("1970-01-01T00:00:00.25Z"), 0.25);
  EXPECT_EQ(ParseIsoDateTime("1970-01-01T02:00:00+02:00"), 0.0);
  EXPECT_EQ(ParseIsoDateTime("1970-01-01T00:00:00-0130"), 5400.0);
  EXPECT_EQ(ParseIsoDateTime("1970-01-01T00:00+01"), -3600.0);
}

TEST(DateTimeTest, RejectsNonDates) {
  for (const char* s :
       {"", "2020", "2020-1-01", "2020-13-01", "2021-02-29", "2020-04-31",
        "2020-01-01T24:00", "2020-01-01T10:60", "2020-01-01X10:00",
        "2020-01-01T10:00:00.", "12.5", "2020-01-01T10:00+25:00",
        "2020-01-01 trailing", "abcd-ef-gh"}) {
    EXPECT_FALSE(ParseIsoDateTime(s).has_value()) << s;
  }
}

TEST(DateTimeTest, CivilRoundTrip) {
  for (int64_t days :
       {-719468LL, -1LL, 0LL, 59LL, 11016LL, 11017LL, 19782LL, 2932896LL}) {
    CivilTime t = ToCivil(days * 86400.0 + 4500.5);
    EXPECT_EQ(DaysFromCivil(t.year, t.month, t.day), days);
    EXPECT_EQ(t.seconds_of_day, 4500.5);
  }
  CivilTime t = ToCivil(*ParseIsoDateTime("2024-02-29T13:30:00"));
  EXPECT_EQ(t.year, 2024);
  EXPECT_EQ(t.month, 2);
  EXPECT_EQ(t.day, 29);
  EXPECT_EQ(t.day_of_week, 3);  // a Thursday
  EXPECT_EQ(t.seconds_of_day, 13.5 * 3600);
  EXPECT_EQ(ToCivil(0).day_of_week, 3);          // 1970-01-01: Thursday
  EXPECT_EQ(ToCivil(-86400).day_of_week, 2);     // Wednesday
  EXPECT_EQ(ToCivil(4 * 86400).day_of_week, 0);  // 1970-01-05: Monday
}

TEST(DateTimeTest, Formats) {
  EXPECT_EQ(FormatIsoDateTime(0), "1970-01-01");
  EXPECT_EQ(FormatIsoDateTime(3723.5), "1970-01-01T01:02:03.500000Z");
  EXPECT_EQ(FormatIsoDateTime(-86400), "1969-12-31");
}

// Finite times beyond 10^15 days saturate instead of overflowing int64
// (undefined behaviour found by fuzz/artifact_fuzzer.cc:
// fuzz/regressions/artifact/date_beyond_int64_days).
TEST(DateTimeTest, ToCivilSaturatesFarFromTheEpoch) {
  for (double s : {1e300, 8.64e19 + 86400.0 * 5, 8.64e19}) {
    const CivilTime t = ToCivil(s);
    EXPECT_EQ(t.year, 2737907008958) << s;
    EXPECT_EQ(t.month, 7) << s;
    EXPECT_EQ(t.day, 5) << s;
    EXPECT_EQ(t.day_of_week, 2) << s;
    EXPECT_EQ(t.seconds_of_day, 0.0) << s;
  }
  const CivilTime t = ToCivil(-1e300);
  EXPECT_EQ(t.year, -2737907005019);
  EXPECT_EQ(t.month, 6);
  EXPECT_EQ(t.day, 29);
  EXPECT_EQ(t.day_of_week, 4);
  EXPECT_EQ(t.seconds_of_day, 0.0);
}

}  // namespace
}  // namespace modelserver
