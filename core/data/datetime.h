// File: core/data/datetime.h
// ISO-8601 dates and date-times <-> seconds since 1970-01-01T00:00:00Z, and
// the calendar parts that date columns expand to. Proleptic Gregorian
// calendar, UTC, no time-zone database: an explicit offset (`Z`, `+02:00`,
// `-0530`) is applied, a time without one is taken as UTC.
// Thread-safe: pure functions.
#ifndef MODELSERVER_CORE_DATA_DATETIME_H_
#define MODELSERVER_CORE_DATA_DATETIME_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace modelserver {

// Parses `YYYY-MM-DD`, optionally followed by `T` or one space and
// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fraction`, optionally followed by `Z` or an
// offset `+HH:MM`, `+HHMM`, `+HH` (or `-`). Surrounding ASCII spaces are
// allowed. Fields are range-checked (month 1-12, day within its month,
// leap years, hour 0-23, minute 0-59, second 0-60).
// Returns seconds since the epoch (UTC), or nullopt if `text` is not such a
// date-time.
std::optional<double> ParseIsoDateTime(absl::string_view text);

// Days since 1970-01-01 of a civil date (valid for any int32 year).
int64_t DaysFromCivil(int64_t year, int month, int day);

struct CivilTime {
  int64_t year;
  int month;              // 1-12
  int day;                // 1-31
  int day_of_week;        // 0 = Monday ... 6 = Sunday (as pandas)
  double seconds_of_day;  // [0, 86400]
};
// REQUIRES: `seconds` is finite. Times more than 10^15 days (8.64e19 s)
// from the epoch saturate to midnight of day +-10^15.
CivilTime ToCivil(double seconds);

// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, or `YYYY-MM-DD` when the time is midnight.
std::string FormatIsoDateTime(double seconds);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_DATA_DATETIME_H_
