#include "server/log.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver::server {
namespace {

// 2026-11-29T09:40:00.123456Z
constexpr int64_t kMicros = 1795945200123456;

TEST(LogTest, FormatsOneJsonObjectPerLineWithFieldsInOrder) {
  EXPECT_EQ(FormatLogLine(LogLevel::kInfo, kMicros, "listening",
                          {{"address", "127.0.0.1:1"},
                           {"models", 3},
                           {"ratio", 0.25},
                           {"ok", true}}),
            "{\"time\":\"2026-11-29T09:40:00.123456Z\",\"level\":\"info\","
            "\"msg\":\"listening\",\"address\":\"127.0.0.1:1\",\"models\":3,"
            "\"ratio\":0.25,\"ok\":true}\n");
}

TEST(LogTest, EscapesStringsAndWritesNonFiniteNumbersAsStrings) {
  EXPECT_EQ(FormatLogLine(LogLevel::kError, kMicros, "a \"quoted\"\nline\\\x01",
                          {{"nan", std::nan("")},
                           {"inf", std::numeric_limits<double>::infinity()},
                           {"big", int64_t{-9007199254740993}}}),
            "{\"time\":\"2026-11-29T09:40:00.123456Z\",\"level\":\"error\","
            "\"msg\":\"a \\\"quoted\\\"\\nline\\\\\\u0001\",\"nan\":\"nan\","
            "\"inf\":\"inf\",\"big\":-9007199254740993}\n");
}

TEST(LogTest, ParsesLevelsAndNamesTheAcceptedOnes) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("INFO"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  absl::StatusOr<LogLevel> bad = ParseLogLevel("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(),
              ::testing::HasSubstr("debug, info, warning or error"));
}

TEST(LogTest, LevelFiltersLessSevereLines) {
  SetLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kWarning));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  SetLogLevel(LogLevel::kInfo);
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
}

}  // namespace
}  // namespace modelserver::server
