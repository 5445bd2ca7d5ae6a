#include "core/train/rebalance.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/util/rng.h"

namespace modelserver {
namespace {

// Distinct streams for the two kinds of draws, so that turning one on does
// not change the other's draws.
constexpr uint64_t kOversampleStream = 0x6f76657273616d70ULL;  // "oversamp"
constexpr uint64_t kNoiseStream = 0x6e6f697365617567ULL;       // "noiseaug"

}  // namespace

absl::string_view ClassWeightModeName(ClassWeightMode mode) {
  switch (mode) {
    case ClassWeightMode::kNone:
      return "none";
    case ClassWeightMode::kBalanced:
      return "balanced";
    case ClassWeightMode::kExplicit:
      return "explicit";
  }
  return "unknown";
}

absl::string_view RebalanceModeName(RebalanceMode mode) {
  switch (mode) {
    case RebalanceMode::kNone:
      return "none";
    case RebalanceMode::kOversample:
      return "oversample";
  }
  return "unknown";
}

absl::StatusOr<ClassWeightMode> ParseClassWeightMode(absl::string_view text,
                                                     absl::string_view field) {
  if (text.empty() || text == "none") return ClassWeightMode::kNone;
  if (text == "balanced") return ClassWeightMode::kBalanced;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": unknown class weight '", text,
                   "': expected none or balanced (or per-label weights)"));
}

absl::StatusOr<RebalanceMode> ParseRebalanceMode(absl::string_view text,
                                                 absl::string_view field) {
  if (text.empty() || text == "none") return RebalanceMode::kNone;
  if (text == "oversample") return RebalanceMode::kOversample;
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": unknown rebalance '", text, "': expected none or oversample"));
}

std::vector<int64_t> OversampleRows(const std::vector<int32_t>& classes,
                                    int num_classes, uint64_t seed) {
  const int64_t n = static_cast<int64_t>(classes.size());
  std::vector<std::vector<int64_t>> by_class(num_classes);
  for (int64_t i = 0; i < n; ++i) by_class[classes[i]].push_back(i);
  size_t most = 0;
  for (const auto& rows : by_class) most = std::max(most, rows.size());
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) out[i] = i;
  Rng rng(seed ^ kOversampleStream);
  for (std::vector<int64_t>& rows : by_class) {
    const size_t count = rows.size();
    if (count == 0 || count == most) continue;
    const size_t missing = most - count;
    for (size_t full = 0; full < missing / count; ++full) {
      out.insert(out.end(), rows.begin(), rows.end());
    }
    // The remainder: a partial Fisher-Yates shuffle picks distinct rows.
    const size_t rest = missing % count;
    for (size_t i = 0; i < rest; ++i) {
      std::swap(rows[i], rows[i + rng.UniformInt(count - i)]);
      out.push_back(rows[i]);
    }
  }
  return out;
}

std::vector<double> ClassWeightsFor(
    const std::vector<int32_t>& classes, int num_classes, ClassWeightMode mode,
    const std::vector<double>& explicit_weights) {
  std::vector<int64_t> counts(num_classes, 0);
  for (int32_t c : classes) ++counts[c];
  const double n = static_cast<double>(classes.size());
  std::vector<double> w(num_classes, 0.0);
  if (mode == ClassWeightMode::kBalanced) {
    int present = 0;
    for (int64_t c : counts) present += c > 0;
    for (int c = 0; c < num_classes; ++c) {
      if (counts[c] > 0) {
        w[c] =
            n / (static_cast<double>(present) * static_cast<double>(counts[c]));
      }
    }
    return w;
  }
  if (mode == ClassWeightMode::kNone) {
    for (int c = 0; c < num_classes; ++c) w[c] = counts[c] > 0 ? 1.0 : 0.0;
    return w;
  }
  double total = 0.0;
  for (int c = 0; c < num_classes; ++c) {
    const double given = c < static_cast<int>(explicit_weights.size())
                             ? explicit_weights[c]
                             : 1.0;
    total += given * static_cast<double>(counts[c]);
  }
  for (int c = 0; c < num_classes; ++c) {
    if (counts[c] == 0) continue;
    const double given = c < static_cast<int>(explicit_weights.size())
                             ? explicit_weights[c]
                             : 1.0;
    w[c] = given * n / total;
  }
  return w;
}

absl::StatusOr<ExpandedRows> ExpandTrainingRows(
    const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
    const std::vector<int32_t>& classes, int num_classes,
    const std::vector<bool>& noisy_columns, const ExpansionOptions& options) {
  ExpandedRows out;
  const int64_t n = x.rows();
  const bool oversample =
      options.rebalance == RebalanceMode::kOversample && !classes.empty();
  const bool augment = options.noise > 0 && options.copies > 0;
  std::vector<int64_t> rows;
  if (oversample) {
    rows = OversampleRows(classes, num_classes, options.seed);
    out.rows_oversampled = static_cast<int64_t>(rows.size()) - n;
  }
  const int64_t base = oversample ? static_cast<int64_t>(rows.size()) : n;
  const int64_t copies = augment ? options.copies : 0;
  const int64_t total = base * (1 + copies);
  if (total > kMaxExpandedCells / std::max<int64_t>(1, x.cols())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "augment_copies: ", n, " training rows",
        oversample ? absl::StrCat(" (", base, " after oversampling)") : "",
        " with ", copies, " noisy copies make ", total, " rows of ", x.cols(),
        " features, more than the ", kMaxExpandedCells,
        " cells training may hold; use fewer copies"));
  }
  out.expanded = oversample || augment;
  if (out.expanded) {
    out.rows_augmented = base * copies;
    out.x.resize(total, x.cols());
    out.y.resize(total, y.cols());
    if (!classes.empty()) out.classes.resize(total);
    // Row-major copy order does not matter for the values; columns first
    // keeps the reads of column-major x sequential.
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      for (int64_t k = 0; k < total; ++k) {
        const int64_t r = k % base;
        out.x(k, j) = x(oversample ? rows[r] : r, j);
      }
    }
    for (Eigen::Index j = 0; j < y.cols(); ++j) {
      for (int64_t k = 0; k < total; ++k) {
        const int64_t r = k % base;
        out.y(k, j) = y(oversample ? rows[r] : r, j);
      }
    }
    for (size_t k = 0; k < out.classes.size(); ++k) {
      const int64_t r = static_cast<int64_t>(k) % base;
      out.classes[k] = classes[oversample ? rows[r] : r];
    }
    if (augment) {
      // Standard deviations over the original training rows.
      std::vector<double> sd(x.cols(), 0.0);
      for (Eigen::Index j = 0; j < x.cols(); ++j) {
        if (!noisy_columns[j]) continue;
        const double mean = x.col(j).mean();
        sd[j] = std::sqrt((x.col(j).array() - mean).square().mean());
      }
      Rng rng(options.seed ^ kNoiseStream);
      // Drawn row by row (copy 1's rows, then copy 2's, ...), columns in
      // order within a row: the documented order of the draws.
      for (int64_t k = base; k < total; ++k) {
        for (Eigen::Index j = 0; j < x.cols(); ++j) {
          if (sd[j] > 0) out.x(k, j) += options.noise * sd[j] * rng.Normal();
        }
      }
    }
  }
  if (options.class_weight != ClassWeightMode::kNone && !classes.empty()) {
    const std::vector<int32_t>& final_classes =
        out.expanded ? out.classes : classes;
    out.class_weights =
        ClassWeightsFor(final_classes, num_classes, options.class_weight,
                        options.explicit_weights);
    out.row_weights.resize(static_cast<Eigen::Index>(final_classes.size()));
    for (size_t i = 0; i < final_classes.size(); ++i) {
      out.row_weights[static_cast<Eigen::Index>(i)] =
          out.class_weights[final_classes[i]];
    }
  }
  return out;
}

}  // namespace modelserver
