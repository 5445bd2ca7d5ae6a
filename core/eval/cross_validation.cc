#include "core/eval/cross_validation.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/rng.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

// Rows of each class, ascending, in increasing class index.
using RowsByClass = std::map<int32_t, std::vector<int64_t>>;

// All rows as one class when `strata` is null.
absl::StatusOr<RowsByClass> GroupByClass(int64_t n,
                                         const std::vector<int32_t>* strata) {
  RowsByClass rows;
  if (strata == nullptr) {
    std::vector<int64_t>& all = rows[0];
    all.resize(n);
    std::iota(all.begin(), all.end(), int64_t{0});
    return rows;
  }
  if (static_cast<int64_t>(strata->size()) != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "strata has ", strata->size(), " entries but there are ", n, " rows"));
  }
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = (*strata)[i];
    if (c < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("strata row ", i, " has class index ", c,
                       "; class indices must be >= 0"));
    }
    rows[c].push_back(i);
  }
  return rows;
}

// Validation rows per class (same order as `sizes`) for a stratified split
// with `total` validation rows. REQUIRES: total <= sum of (size - 1) over
// classes of size >= 2. Classes of size 1 get none, the others share `total`
// in proportion to their sizes by largest remainder, each keeping at least
// one training row.
std::vector<int64_t> AllocateValidation(const std::vector<int64_t>& sizes,
                                        int64_t total, Rng* rng) {
  const size_t num_classes = sizes.size();
  std::vector<int64_t> quota(num_classes, 0);
  std::vector<int64_t> remainder(num_classes, 0);
  std::vector<size_t> eligible;
  int64_t eligible_rows = 0;
  for (size_t c = 0; c < num_classes; ++c) {
    if (sizes[c] >= 2) {
      eligible.push_back(c);
      eligible_rows += sizes[c];
    }
  }
  int64_t left = total;
  for (size_t c : eligible) {
    // The exact quota total * size / eligible_rows as floor and remainder;
    // the floor is below size because total < eligible_rows.
    quota[c] = std::min(total * sizes[c] / eligible_rows, sizes[c] - 1);
    remainder[c] = total * sizes[c] % eligible_rows;
    left -= quota[c];
  }
  // Largest remainder first, ties in a seeded order. Extra passes only
  // happen when classes are full (quota == size - 1).
  rng->Shuffle(&eligible);
  std::stable_sort(eligible.begin(), eligible.end(), [&](size_t a, size_t b) {
    return remainder[a] > remainder[b];
  });
  while (left > 0) {
    for (size_t c : eligible) {
      if (left == 0) break;
      if (quota[c] < sizes[c] - 1) {
        ++quota[c];
        --left;
      }
    }
  }
  return quota;
}

}  // namespace

absl::StatusOr<Split> TrainValidationSplit(int64_t n, double fraction,
                                           uint64_t seed,
                                           const std::vector<int32_t>* strata) {
  if (n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a train/validation split needs at least 1 row, got ", n));
  }
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "validation fraction is ", fraction, "; expected a value in [0, 1)"));
  }
  ASSIGN_OR_RETURN(RowsByClass classes, GroupByClass(n, strata));

  int64_t total = std::llround(static_cast<double>(n) * fraction);
  if (fraction > 0.0 && n >= 2) total = std::max<int64_t>(total, 1);
  total = std::min(total, n - 1);

  std::vector<int64_t> sizes;
  int64_t capacity = 0;  // rows that may go to validation
  for (const auto& [c, rows] : classes) {
    sizes.push_back(static_cast<int64_t>(rows.size()));
    if (rows.size() >= 2) capacity += static_cast<int64_t>(rows.size()) - 1;
  }
  if (total > capacity) {
    if (capacity == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot draw a stratified validation set: all ", classes.size(),
          " classes have a single row (each needs one for training); use a "
          "non-stratified split or more rows"));
    }
    total = capacity;
  }

  Rng rng(seed);
  const std::vector<int64_t> quota =
      strata == nullptr ? std::vector<int64_t>{total}
                        : AllocateValidation(sizes, total, &rng);
  Split split;
  size_t c = 0;
  for (auto& [label, rows] : classes) {
    rng.Shuffle(&rows);
    const auto cut = rows.begin() + quota[c++];
    split.validation.insert(split.validation.end(), rows.begin(), cut);
    split.train.insert(split.train.end(), cut, rows.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  return split;
}

absl::StatusOr<std::vector<Split>> KFoldSplits(
    int64_t n, int k, uint64_t seed, const std::vector<int32_t>* strata) {
  if (k < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-fold cross-validation needs k >= 2 folds, got ", k));
  }
  if (k > n) {
    return absl::InvalidArgumentError(absl::StrCat(
        k, " folds need at least ", k, " rows, got ", n, "; use fewer folds"));
  }
  ASSIGN_OR_RETURN(RowsByClass classes, GroupByClass(n, strata));

  Rng rng(seed);
  std::vector<int> fold_of(n);
  int64_t dealt = 0;
  for (auto& [label, rows] : classes) {
    rng.Shuffle(&rows);
    for (int64_t row : rows) fold_of[row] = static_cast<int>(dealt++ % k);
  }
  std::vector<Split> splits(k);
  for (Split& s : splits) {
    s.validation.reserve(n / k + 1);
    s.train.reserve(n - n / k);
  }
  for (int64_t row = 0; row < n; ++row) {
    for (int f = 0; f < k; ++f) {
      (f == fold_of[row] ? splits[f].validation : splits[f].train)
          .push_back(row);
    }
  }
  return splits;
}

absl::StatusOr<std::vector<MetricSummary>> SummarizeFolds(
    const std::vector<std::vector<std::pair<std::string, double>>>& folds) {
  if (folds.empty()) {
    return absl::InvalidArgumentError("no folds to summarize");
  }
  const auto& first = folds[0];
  for (size_t f = 0; f < folds.size(); ++f) {
    const auto& fold = folds[f];
    for (size_t m = 0; m < std::max(fold.size(), first.size()); ++m) {
      if (m >= fold.size() || m >= first.size() ||
          fold[m].first != first[m].first) {
        return absl::InvalidArgumentError(absl::StrCat(
            "fold ", f, " metric #", m, " is '",
            m < fold.size() ? fold[m].first : "(none)", "' but fold 0 has '",
            m < first.size() ? first[m].first : "(none)",
            "'; every fold must report the same metrics in the same order"));
      }
      if (!std::isfinite(fold[m].second)) {
        return absl::InvalidArgumentError(
            absl::StrCat("fold ", f, " metric '", fold[m].first, "' is ",
                         fold[m].second, "; expected a finite value"));
      }
    }
  }
  const double count = static_cast<double>(folds.size());
  std::vector<MetricSummary> summary(first.size());
  for (size_t m = 0; m < first.size(); ++m) {
    double sum = 0.0;
    for (const auto& fold : folds) sum += fold[m].second;
    const double mean = sum / count;
    double squares = 0.0;
    for (const auto& fold : folds) {
      const double d = fold[m].second - mean;
      squares += d * d;
    }
    summary[m].name = first[m].first;
    summary[m].mean = mean;
    summary[m].stddev =
        folds.size() > 1 ? std::sqrt(squares / (count - 1.0)) : 0.0;
  }
  return summary;
}

}  // namespace modelserver
