// File: server/log.h
// Structured logs: one JSON object per line on stderr,
//   {"time":"2026-11-29T09:40:00.123456Z","level":"info","msg":"...",<fields>}
// with the fields in the order given. Lines below the process-wide level
// (SetLogLevel; default info) are dropped before anything is formatted.
//
// Thread-safety: every function may be called concurrently; each line is
// written with one write(2), so lines from different threads never
// interleave.
#ifndef MODELSERVER_SERVER_LOG_H_
#define MODELSERVER_SERVER_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver::server {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning", "error".
absl::string_view LogLevelName(LogLevel level);
// The inverse of LogLevelName (also accepts "warn"); INVALID_ARGUMENT names
// the accepted values.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// One key/value of a log line. Strings are JSON-escaped; doubles that are
// not finite are written as strings ("nan", "inf").
struct LogField {
  LogField(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  LogField(absl::string_view k, const std::string& v)
      : key(k), value(absl::string_view(v)) {}
  LogField(absl::string_view k, const char* v)
      : key(k), value(absl::string_view(v)) {}
  LogField(absl::string_view k, int64_t v) : key(k), value(v) {}
  LogField(absl::string_view k, int v) : key(k), value(int64_t{v}) {}
  LogField(absl::string_view k, double v) : key(k), value(v) {}
  LogField(absl::string_view k, bool v) : key(k), value(v) {}

  absl::string_view key;
  std::variant<absl::string_view, int64_t, double, bool> value;
};

// The JSON line (with its trailing newline) that Log writes; `unix_micros`
// is the time field. Exposed for tests.
std::string FormatLogLine(LogLevel level, int64_t unix_micros,
                          absl::string_view msg,
                          std::initializer_list<LogField> fields);

// Writes one line to stderr if `level` is enabled.
void Log(LogLevel level, absl::string_view msg,
         std::initializer_list<LogField> fields = {});

}  // namespace modelserver::server

#endif  // MODELSERVER_SERVER_LOG_H_
