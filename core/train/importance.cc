#include "core/train/importance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/util/rng.h"

namespace modelserver {
namespace {

// Rows predicted at once (MLPs): a fixed number (not a function of the
// thread count), so results do not depend on the pool, and the hidden
// activations of a block stay small.
constexpr int64_t kBlockRows = 1024;
// MLPs: never fewer rows than this for the work budget.
constexpr int64_t kMinMlpRows = 200;
// Per-thread working copies of the rows (MLPs) are used only while they
// take at most this many bytes each; beyond, one thread does the work.
constexpr int64_t kMaxCopyBytes = int64_t{256} << 20;

bool IsLinear(ModelKind kind) {
  return kind == ModelKind::kLinearRegression ||
         kind == ModelKind::kLogisticRegression;
}

// Outputs of `model` on `x` (block by block).
Eigen::MatrixXd PredictBlocks(const Model& model, const Eigen::MatrixXd& x) {
  const int64_t n = x.rows();
  Eigen::MatrixXd out(n, model.num_outputs());
  for (int64_t begin = 0; begin < n; begin += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, n - begin);
    out.middleRows(begin, rows) = model.Predict(x.middleRows(begin, rows));
  }
  return out;
}

// Linear and logistic models, exactly: only the shuffled columns change the
// logits, Z' = Z + sum over j in the group of (x'_j - x_j) W(j, .), so a
// shuffle costs rows x |group| x outputs instead of a full prediction.
class LinearShuffler {
 public:
  LinearShuffler(const Model& model, const Eigen::MatrixXd& x)
      : model_(model),
        x_(x),
        weights_(model.parameters().data(), model.num_inputs(),
                 model.num_outputs()),
        head_(model_internal::HeadFor(
            model.kind(),
            model.kind() == ModelKind::kLinearRegression
                ? 0
                : (model.num_outputs() == 1 ? 2 : model.num_outputs()))) {
    const int k = model.num_outputs();
    logits_.resize(x.rows(), k);
    for (int s = 0; s < k; ++s) {
      logits_.col(s).noalias() = x * weights_.col(s);
      logits_.col(s).array() +=
          model.parameters()[weights_.size() + static_cast<Eigen::Index>(s)];
    }
  }
  // The outputs on the unshuffled rows.
  Eigen::MatrixXd Baseline() const {
    Eigen::MatrixXd out = logits_;
    model_internal::ApplyHead(head_, &out);
    return out;
  }
  Eigen::MatrixXd Shuffled(const std::vector<int>& group,
                           const std::vector<int64_t>& perm) const {
    Eigen::MatrixXd z = logits_;
    const int64_t n = x_.rows();
    Eigen::VectorXd delta(n);
    for (int j : group) {
      for (int64_t i = 0; i < n; ++i) delta[i] = x_(perm[i], j) - x_(i, j);
      for (int s = 0; s < model_.num_outputs(); ++s) {
        const double w = weights_(j, s);
        if (w != 0) z.col(s) += w * delta;
      }
    }
    model_internal::ApplyHead(head_, &z);
    return z;
  }

 private:
  const Model& model_;
  const Eigen::MatrixXd& x_;
  const Eigen::Map<const Eigen::MatrixXd> weights_;
  const model_internal::OutputHead head_;
  Eigen::MatrixXd logits_;
};

// Any model: the shuffled columns written into a working copy of the rows,
// a full prediction, the columns restored.
Eigen::MatrixXd PredictShuffled(const Model& model, const Eigen::MatrixXd& x,
                                const std::vector<int>& group,
                                const std::vector<int64_t>& perm,
                                Eigen::MatrixXd* work) {
  const int64_t n = x.rows();
  for (int j : group) {
    for (int64_t i = 0; i < n; ++i) (*work)(i, j) = x(perm[i], j);
  }
  Eigen::MatrixXd out = PredictBlocks(model, *work);
  for (int j : group) work->col(j) = x.col(j);
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
  if (!(o.mlp_work_budget > 0) || !std::isfinite(o.mlp_work_budget)) {
    return absl::InvalidArgumentError(
        absl::StrCat("importance mlp_work_budget: must be finite and > 0, got ",
                     o.mlp_work_budget));
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

  // The sampled rows (MLPs: also within the work budget).
  int64_t max_rows = options.max_rows;
  const bool linear = IsLinear(model.kind());
  if (!linear) {
    const double per_row = static_cast<double>(num_columns) * options.repeats *
                           static_cast<double>(model.parameters().size());
    const double rows = std::max<double>(
        kMinMlpRows,
        std::floor(options.mlp_work_budget / std::max(1.0, per_row)));
    if (rows < static_cast<double>(max_rows)) {
      max_rows = static_cast<int64_t>(rows);
    }
  }
  const std::vector<int64_t> sample =
      ImportanceSample(x.rows(), max_rows, options.seed);
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
  std::optional<LinearShuffler> shuffler;
  if (linear) {
    shuffler.emplace(model, xs);
    report.baseline = MainMetric(model.kind(), shuffler->Baseline(), ys, cs);
  } else {
    report.baseline =
        MainMetric(model.kind(), PredictBlocks(model, xs), ys, cs);
  }

  const int repeats = options.repeats;
  const int64_t tasks = static_cast<int64_t>(num_columns) * repeats;
  std::vector<double> drops(static_cast<size_t>(tasks), 0.0);
  const int64_t copy_bytes =
      n * xs.cols() * static_cast<int64_t>(sizeof(double));
  const int parts =
      !linear && copy_bytes > kMaxCopyBytes
          ? 1
          : PartCount(pool, tasks,
                      n * std::max<int64_t>(1, linear ? 1 : xs.cols()),
                      1 << 16);
  RunParts(
      parts > 1 ? pool : nullptr,
      [&](int part) {
        Eigen::MatrixXd work;
        if (!linear) work = xs;
        const int64_t end = PartBegin(tasks, parts, part + 1);
        for (int64_t t = PartBegin(tasks, parts, part); t < end; ++t) {
          const int c = static_cast<int>(t / repeats);
          const int r = static_cast<int>(t % repeats);
          // A column without outputs (impossible for a fitted pipeline) or
          // a single row cannot change a prediction: drop 0.
          if (groups[c].empty() || n < 2) continue;
          const std::vector<int64_t> perm =
              ImportancePermutation(n, options.seed, r, c);
          const Eigen::MatrixXd out =
              linear ? shuffler->Shuffled(groups[c], perm)
                     : PredictShuffled(model, xs, groups[c], perm, &work);
          drops[t] = report.baseline - MainMetric(model.kind(), out, ys, cs);
        }
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
