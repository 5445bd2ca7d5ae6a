#include "core/train/importance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/util/rng.h"

namespace modelserver {
namespace {

// Rows predicted at once while a column is shuffled: a fixed number (not a
// function of the thread count), so results do not depend on the pool.
constexpr int64_t kBlockRows = 1024;

// Outputs of `model` on `x` with the columns in `group` taken from the rows
// `perm` (row i of those columns from row perm[i]), block by block.
Eigen::MatrixXd PredictShuffled(const Model& model, const Eigen::MatrixXd& x,
                                const std::vector<int>& group,
                                const std::vector<int64_t>& perm) {
  const int64_t n = x.rows();
  Eigen::MatrixXd out(n, model.num_outputs());
  Eigen::MatrixXd block;
  for (int64_t begin = 0; begin < n; begin += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, n - begin);
    block = x.middleRows(begin, rows);
    for (int j : group) {
      for (int64_t i = 0; i < rows; ++i) block(i, j) = x(perm[begin + i], j);
    }
    out.middleRows(begin, rows) = model.Predict(block);
  }
  return out;
}

}  // namespace

absl::Status ValidateImportanceOptions(const FeatureImportanceOptions& o) {
  if (o.repeats < 1 || o.repeats > kMaxImportanceRepeats) {
    return absl::InvalidArgumentError(
        absl::StrCat("importance repeats: must be in [1, ",
                     kMaxImportanceRepeats, "], got ", o.repeats));
  }
  if (o.max_rows < 1 || o.max_rows > kMaxImportanceRows) {
    return absl::InvalidArgumentError(
        absl::StrCat("importance max_rows: must be in [1, ", kMaxImportanceRows,
                     "], got ", o.max_rows));
  }
  return absl::OkStatus();
}

const char* MainMetricName(ModelKind kind) {
  return IsClassifier(kind) ? "accuracy" : "r2";
}

double MainMetric(ModelKind kind, const Eigen::MatrixXd& outputs,
                  const Eigen::MatrixXd& y,
                  const std::vector<int32_t>& classes) {
  const Eigen::Index n = outputs.rows();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  if (!IsClassifier(kind)) {
    const Eigen::VectorXd truth = y.col(0);
    const double ss_res = (truth - outputs.col(0)).squaredNorm();
    const double ss_tot = (truth.array() - truth.mean()).matrix().squaredNorm();
    if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
    return 1.0 - ss_res / ss_tot;
  }
  int64_t correct = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    int32_t predicted;
    if (outputs.cols() == 1) {
      predicted = outputs(i, 0) > 0.5 ? 1 : 0;
    } else {
      Eigen::Index arg;
      outputs.row(i).maxCoeff(&arg);
      predicted = static_cast<int32_t>(arg);
    }
    correct += predicted == classes[i];
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

std::vector<int64_t> ImportancePermutation(int64_t n, uint64_t seed, int repeat,
                                           int column) {
  // Distinct streams per (repeat, column): odd multipliers of the 64-bit
  // golden ratio and of a second odd constant; Rng mixes the result with
  // SplitMix64.
  Rng rng(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(repeat + 1)) ^
          (0xC2B2AE3D27D4EB4FULL * static_cast<uint64_t>(column + 1)));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  rng.Shuffle(&perm);
  return perm;
}

std::vector<int64_t> ImportanceSample(int64_t n, int64_t max_rows,
                                      uint64_t seed) {
  std::vector<int64_t> rows;
  if (n <= max_rows) {
    rows.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[i] = i;
    return rows;
  }
  // Floyd's algorithm: max_rows distinct indices with O(max_rows) memory.
  Rng rng(seed ^ 0x5851F42D4C957F2DULL);
  absl::flat_hash_set<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(max_rows));
  for (int64_t j = n - max_rows; j < n; ++j) {
    const int64_t t =
        static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(j + 1)));
    chosen.insert(chosen.contains(t) ? j : t);
  }
  rows.assign(chosen.begin(), chosen.end());
  std::sort(rows.begin(), rows.end());
  return rows;
}

absl::StatusOr<FeatureImportanceReport> PermutationImportance(
    const Model& model, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
    const std::vector<int32_t>& classes, const std::vector<int>& sources,
    const std::vector<std::string>& columns,
    const FeatureImportanceOptions& options, const std::string& data,
    ThreadPool* pool) {
  if (absl::Status s = ValidateImportanceOptions(options); !s.ok()) return s;
  const bool classifier = IsClassifier(model.kind());
  if (x.rows() == 0) {
    return absl::InvalidArgumentError("importance: no rows to permute");
  }
  if (x.cols() != model.num_inputs() ||
      static_cast<size_t>(x.cols()) != sources.size() || y.rows() != x.rows() ||
      (classifier && classes.size() != static_cast<size_t>(x.rows()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("importance: sizes disagree (", x.rows(), " x ", x.cols(),
                     " features, ", sources.size(), " sources, ", y.rows(),
                     " targets, model inputs ", model.num_inputs(), ")"));
  }
  const int num_columns = static_cast<int>(columns.size());
  std::vector<std::vector<int>> groups(columns.size());
  for (size_t j = 0; j < sources.size(); ++j) {
    if (sources[j] < 0 || sources[j] >= num_columns) {
      return absl::InvalidArgumentError(
          absl::StrCat("importance: feature ", j, " comes from column ",
                       sources[j], " of ", num_columns));
    }
    groups[sources[j]].push_back(static_cast<int>(j));
  }

  // The sampled rows.
  const std::vector<int64_t> sample =
      ImportanceSample(x.rows(), options.max_rows, options.seed);
  const int64_t n = static_cast<int64_t>(sample.size());
  Eigen::MatrixXd xs, ys;
  std::vector<int32_t> cs;
  if (n == x.rows()) {
    xs = x;
    ys = y;
    cs = classes;
  } else {
    xs.resize(n, x.cols());
    ys.resize(n, y.cols());
    for (int64_t i = 0; i < n; ++i) {
      xs.row(i) = x.row(sample[i]);
      ys.row(i) = y.row(sample[i]);
      if (classifier) cs.push_back(classes[sample[i]]);
    }
  }

  FeatureImportanceReport report;
  report.metric = MainMetricName(model.kind());
  report.data = data;
  report.rows = n;
  report.repeats = options.repeats;
  report.seed = options.seed;
  report.baseline = MainMetric(model.kind(), model.Predict(xs), ys, cs);

  const int repeats = options.repeats;
  const int64_t tasks = static_cast<int64_t>(num_columns) * repeats;
  std::vector<double> drops(static_cast<size_t>(tasks), 0.0);
  auto run = [&](int64_t task) {
    const int c = static_cast<int>(task / repeats);
    const int r = static_cast<int>(task % repeats);
    // A column without outputs (impossible for a fitted pipeline) or a
    // single row cannot change a prediction: drop 0 without predicting.
    if (groups[c].empty() || n < 2) return;
    const std::vector<int64_t> perm =
        ImportancePermutation(n, options.seed, r, c);
    const Eigen::MatrixXd out = PredictShuffled(model, xs, groups[c], perm);
    drops[task] = report.baseline - MainMetric(model.kind(), out, ys, cs);
  };
  const int parts =
      PartCount(pool, tasks, n * std::max<int64_t>(1, xs.cols()), 1 << 16);
  RunParts(
      pool,
      [&](int part) {
        const int64_t end = PartBegin(tasks, parts, part + 1);
        for (int64_t t = PartBegin(tasks, parts, part); t < end; ++t) run(t);
      },
      parts);

  report.columns.resize(columns.size());
  for (int c = 0; c < num_columns; ++c) {
    ColumnImportance& ci = report.columns[c];
    ci.column = columns[c];
    ci.drops.assign(drops.begin() + static_cast<int64_t>(c) * repeats,
                    drops.begin() + static_cast<int64_t>(c + 1) * repeats);
    double sum = 0;
    for (double d : ci.drops) sum += d;
    ci.mean = sum / repeats;
    double ss = 0;
    for (double d : ci.drops) ss += (d - ci.mean) * (d - ci.mean);
    ci.std = std::sqrt(ss / repeats);
  }
  return report;
}

}  // namespace modelserver
