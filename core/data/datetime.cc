#include "core/data/datetime.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace modelserver {
namespace {

// Reads exactly `n` digits at s[*pos]; advances on success.
bool ReadDigits(absl::string_view s, size_t* pos, int n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

}  // namespace

// Howard Hinnant's days_from_civil.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::optional<double> ParseIsoDateTime(absl::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && text[b] == ' ') ++b;
  while (e > b && text[e - 1] == ' ') --e;
  absl::string_view s = text.substr(b, e - b);
  size_t pos = 0;
  int year, month, day;
  if (!ReadDigits(s, &pos, 4, &year) || pos >= s.size() || s[pos++] != '-' ||
      !ReadDigits(s, &pos, 2, &month) || pos >= s.size() || s[pos++] != '-' ||
      !ReadDigits(s, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  double seconds =
      static_cast<double>(DaysFromCivil(year, month, day)) * 86400.0;
  if (pos == s.size()) return seconds;
  if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int hour, minute, second = 0;
  if (!ReadDigits(s, &pos, 2, &hour) || pos >= s.size() || s[pos++] != ':' ||
      !ReadDigits(s, &pos, 2, &minute)) {
    return std::nullopt;
  }
  double fraction = 0.0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!ReadDigits(s, &pos, 2, &second)) return std::nullopt;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      double scale = 0.1;
      size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        fraction += (s[pos] - '0') * scale;
        scale *= 0.1;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
  int offset_minutes = 0;
  if (pos < s.size()) {
    const char sign = s[pos];
    if (sign == 'Z' || sign == 'z') {
      ++pos;
    } else if (sign == '+' || sign == '-') {
      ++pos;
      int oh, om = 0;
      if (!ReadDigits(s, &pos, 2, &oh)) return std::nullopt;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!ReadDigits(s, &pos, 2, &om)) return std::nullopt;
      } else if (pos < s.size()) {
        if (!ReadDigits(s, &pos, 2, &om)) return std::nullopt;
      }
      if (oh > 23 || om > 59) return std::nullopt;
      offset_minutes = (sign == '+' ? 1 : -1) * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size()) return std::nullopt;
  seconds +=
      hour * 3600.0 + minute * 60.0 + second + fraction - offset_minutes * 60.0;
  return seconds;
}

CivilTime ToCivil(double seconds) {
  // Beyond 10^15 days (2.7e12 years) the day arithmetic below would
  // overflow int64 (undefined behaviour; found by fuzz/artifact_fuzzer.cc):
  // such times saturate to midnight of that day.
  constexpr double kMaxDays = 1e15;
  double days_f = std::floor(seconds / 86400.0);
  if (days_f > kMaxDays || days_f < -kMaxDays) {
    days_f = days_f > 0 ? kMaxDays : -kMaxDays;
    seconds = days_f * 86400.0;
  }
  const int64_t z0 = static_cast<int64_t>(days_f);
  CivilTime t;
  t.seconds_of_day = seconds - days_f * 86400.0;
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  t.day_of_week = static_cast<int>(((z0 % 7) + 7 + 3) % 7);
  // Howard Hinnant's civil_from_days.
  const int64_t z = z0 + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  t.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2);
  return t;
}

std::string FormatIsoDateTime(double seconds) {
  const CivilTime t = ToCivil(seconds);
  if (t.seconds_of_day == 0.0) {
    return absl::StrFormat("%04d-%02d-%02d", t.year, t.month, t.day);
  }
  const int64_t whole = static_cast<int64_t>(t.seconds_of_day);
  const double frac = t.seconds_of_day - static_cast<double>(whole);
  std::string out =
      absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day,
                      whole / 3600, (whole / 60) % 60, whole % 60);
  if (frac > 0) {
    absl::StrAppendFormat(&out, ".%06d",
                          static_cast<int>(std::lround(frac * 1e6)) % 1000000);
  }
  return out + "Z";
}

}  // namespace modelserver
