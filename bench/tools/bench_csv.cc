// bench_csv: reads one CSV file with core's reader (ReadCsvFile) and prints
// key=value lines: seconds, mb_per_s, rows, columns, numeric cells, the
// bytes the Table's values take (numeric/date: 8 per cell, categorical: 4 per
// cell plus the levels) and the process's peak RSS. Best time of --repeat runs
// (default 3). Used by bench/compare.py against pandas.read_csv.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/data/csv_reader.h"
#include "core/data/table.h"

int main(int argc, char** argv) {
  std::string path;
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::atoi(argv[++i]);
    } else {
      path = argv[i];
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: bench_csv [--repeat N] FILE.csv\n");
    return 2;
  }
  double best = 1e300;
  modelserver::Table table;
  for (int r = 0; r < std::max(1, repeat); ++r) {
    table = modelserver::Table();
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<modelserver::Table> t =
        modelserver::ReadCsvFile(path, modelserver::CsvOptions());
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (!t.ok()) {
      std::fprintf(stderr, "bench_csv: %s\n", t.status().ToString().c_str());
      return 1;
    }
    best = std::min(best, s);
    table = *std::move(t);
  }
  int64_t numeric_cells = 0, value_bytes = 0;
  for (const modelserver::Column& c : table.columns()) {
    if (c.type() == modelserver::ColumnType::kCategorical) {
      value_bytes += static_cast<int64_t>(c.codes().capacity() * 4);
      for (const std::string& l : c.levels()) value_bytes += l.capacity();
    } else {
      numeric_cells += c.size();
      value_bytes += static_cast<int64_t>(c.values().capacity() * 8);
    }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double mb = std::filesystem::file_size(path) / 1e6;
  std::printf("seconds=%.6f\nmb_per_s=%.1f\nrows=%lld\ncolumns=%d\n", best,
              mb / best, static_cast<long long>(table.num_rows()),
              table.num_columns());
  std::printf("numeric_cells=%lld\nvalue_bytes=%lld\npeak_rss_bytes=%lld\n",
              static_cast<long long>(numeric_cells),
              static_cast<long long>(value_bytes),
              static_cast<long long>(ru.ru_maxrss) * 1024);
  return 0;
}
