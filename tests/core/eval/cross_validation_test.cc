#include "core/eval/cross_validation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Checks that a split's lists are ascending, disjoint and cover [0, n).
void ExpectPartition(const Split& s, int64_t n) {
  EXPECT_TRUE(std::is_sorted(s.train.begin(), s.train.end()));
  EXPECT_TRUE(std::is_sorted(s.validation.begin(), s.validation.end()));
  std::vector<int64_t> all = s.train;
  all.insert(all.end(), s.validation.begin(), s.validation.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(static_cast<int64_t>(all.size()), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(all[i], i);
}

// Number of rows of each class in `rows`.
std::map<int32_t, int> CountClasses(const std::vector<int64_t>& rows,
                                    const std::vector<int32_t>& strata) {
  std::map<int32_t, int> counts;
  for (int64_t r : rows) counts[strata[r]]++;
  return counts;
}

// ------------------------------------------------------- train/validation

TEST(TrainValidationSplitTest, SizesFollowTheFraction) {
  struct Case {
    int64_t n;
    double fraction;
    size_t validation;
  };
  const Case cases[] = {
      {100, 0.2, 20},  // 100 * 0.2 = 20
      {10, 0.25, 3},   // round(2.5) = 3, half away from zero
      {10, 0.24, 2},   // round(2.4) = 2
      {3, 0.01, 1},    // round(0.03) = 0, raised to 1
      {2, 0.9, 1},     // round(1.8) = 2, capped so training keeps a row
      {1, 0.5, 0},     // a single row always goes to training
      {50, 0.0, 0},    // no validation asked
  };
  for (const Case& c : cases) {
    auto s = TrainValidationSplit(c.n, c.fraction, 7);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->validation.size(), c.validation)
        << "n=" << c.n << " fraction=" << c.fraction;
    EXPECT_EQ(s->train.size(), c.n - c.validation);
    ExpectPartition(*s, c.n);
  }
}

TEST(TrainValidationSplitTest, PartitionsForManySizes) {
  for (int64_t n = 1; n <= 40; ++n) {
    for (double fraction : {0.1, 0.3, 0.5, 0.75}) {
      auto s = TrainValidationSplit(n, fraction, static_cast<uint64_t>(n));
      ASSERT_TRUE(s.ok()) << s.status();
      ExpectPartition(*s, n);
      EXPECT_GE(s->train.size(), 1u);
      if (n >= 2) {
        EXPECT_GE(s->validation.size(), 1u);
      }
    }
  }
}

TEST(TrainValidationSplitTest, DeterministicPerSeedAndSeedsDiffer) {
  auto a = TrainValidationSplit(200, 0.3, 42);
  auto b = TrainValidationSplit(200, 0.3, 42);
  auto c = TrainValidationSplit(200, 0.3, 43);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->validation, b->validation);
  EXPECT_EQ(a->train, b->train);
  EXPECT_EQ(c->validation.size(), 60u);
  EXPECT_NE(a->validation, c->validation);
  // Not simply the last (or first) rows.
  std::vector<int64_t> tail(60);
  for (int i = 0; i < 60; ++i) tail[i] = 140 + i;
  EXPECT_NE(a->validation, tail);
}

TEST(TrainValidationSplitTest, StratifiedKeepsClassProportions) {
  // Classes 0, 1, 2 with 60, 30, 10 rows, interleaved.
  std::vector<int32_t> strata;
  for (int i = 0; i < 10; ++i) {
    for (int j = 0; j < 6; ++j) strata.push_back(0);
    for (int j = 0; j < 3; ++j) strata.push_back(1);
    strata.push_back(2);
  }
  for (uint64_t seed : {1u, 2u, 3u}) {
    // 20 validation rows shared 60:30:10 -> 12, 6, 2 exactly.
    auto s = TrainValidationSplit(100, 0.2, seed, &strata);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectPartition(*s, 100);
    auto counts = CountClasses(s->validation, strata);
    EXPECT_EQ(counts[0], 12);
    EXPECT_EQ(counts[1], 6);
    EXPECT_EQ(counts[2], 2);
  }
  auto a = TrainValidationSplit(100, 0.2, 5, &strata);
  auto b = TrainValidationSplit(100, 0.2, 5, &strata);
  auto c = TrainValidationSplit(100, 0.2, 6, &strata);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->validation, b->validation);
  EXPECT_NE(a->validation, c->validation);
}

TEST(TrainValidationSplitTest, StratifiedLargestRemainder) {
  // 7 rows of class 0 and 3 of class 3 (classes need not be contiguous),
  // fraction 0.5: 5 validation rows; quotas 5 * 7/10 = 3.5 and
  // 5 * 3/10 = 1.5; floors 3 + 1 = 4 and the equal remainders go to one
  // class picked by the seed: (4, 1) or (3, 2), each in [floor, floor + 1].
  const std::vector<int32_t> strata = {0, 0, 0, 0, 0, 0, 0, 3, 3, 3};
  bool saw[2] = {false, false};
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto s = TrainValidationSplit(10, 0.5, seed, &strata);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectPartition(*s, 10);
    ASSERT_EQ(s->validation.size(), 5u);
    auto counts = CountClasses(s->validation, strata);
    ASSERT_TRUE((counts[0] == 4 && counts[3] == 1) ||
                (counts[0] == 3 && counts[3] == 2));
    saw[counts[0] - 3] = true;
  }
  EXPECT_TRUE(saw[0] && saw[1]);  // the tie-break depends on the seed
}

TEST(TrainValidationSplitTest, StratifiedSingletonClassesGoToTraining) {
  // Class 1 has a single row (row 4): it stays in training; the 2 validation
  // rows (round(5 * 0.4)) come from class 0.
  const std::vector<int32_t> strata = {0, 0, 0, 0, 1};
  auto s = TrainValidationSplit(5, 0.4, 9, &strata);
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectPartition(*s, 5);
  EXPECT_EQ(s->validation.size(), 2u);
  EXPECT_THAT(s->train, ::testing::Contains(4));
}

TEST(TrainValidationSplitTest, StratifiedEveryClassKeepsATrainingRow) {
  // round(4 * 0.9) = 4 -> capped at n - 1 = 3 -> capped at the 2 rows that
  // leave each class one training row: one validation row per class.
  const std::vector<int32_t> strata = {0, 1, 0, 1};
  auto s = TrainValidationSplit(4, 0.9, 3, &strata);
  ASSERT_TRUE(s.ok()) << s.status();
  ExpectPartition(*s, 4);
  auto counts = CountClasses(s->validation, strata);
  EXPECT_EQ(counts[0], 1);
  EXPECT_EQ(counts[1], 1);
}

TEST(TrainValidationSplitTest, Errors) {
  auto zero = TrainValidationSplit(0, 0.2, 1);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(zero.status().message()), HasSubstr("got 0"));
  for (double bad :
       {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    auto s = TrainValidationSplit(10, bad, 1);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.status().message()),
                HasSubstr("expected a value in [0, 1)"));
  }
  const std::vector<int32_t> short_strata = {0, 1, 0};
  auto mismatch = TrainValidationSplit(4, 0.5, 1, &short_strata);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.status().message()),
              HasSubstr("strata has 3 entries but there are 4 rows"));
  const std::vector<int32_t> negative = {0, 1, -2, 0};
  auto neg = TrainValidationSplit(4, 0.5, 1, &negative);
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(neg.status().message()),
              HasSubstr("strata row 2 has class index -2"));
  const std::vector<int32_t> singletons = {0, 1, 2};
  auto single = TrainValidationSplit(3, 0.5, 1, &singletons);
  EXPECT_EQ(single.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(single.status().message()), HasSubstr("single row"));
  // ...but no validation asked is fine.
  EXPECT_TRUE(TrainValidationSplit(3, 0.0, 1, &singletons).ok());
}

// ------------------------------------------------------------------ k-fold

TEST(KFoldSplitsTest, FoldsPartitionTheRows) {
  auto folds = KFoldSplits(10, 3, 11);
  ASSERT_TRUE(folds.ok()) << folds.status();
  ASSERT_EQ(folds->size(), 3u);
  // 10 = 4 + 3 + 3: the first 10 % 3 folds get the extra row.
  EXPECT_EQ((*folds)[0].validation.size(), 4u);
  EXPECT_EQ((*folds)[1].validation.size(), 3u);
  EXPECT_EQ((*folds)[2].validation.size(), 3u);
  std::vector<int> times_validated(10, 0);
  for (const Split& s : *folds) {
    ExpectPartition(s, 10);
    for (int64_t r : s.validation) times_validated[r]++;
  }
  for (int t : times_validated) EXPECT_EQ(t, 1);
}

TEST(KFoldSplitsTest, DeterministicPerSeedAndShuffled) {
  auto a = KFoldSplits(30, 5, 1);
  auto b = KFoldSplits(30, 5, 1);
  auto c = KFoldSplits(30, 5, 2);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  bool differs = false;
  for (int f = 0; f < 5; ++f) {
    EXPECT_EQ((*a)[f].validation, (*b)[f].validation);
    EXPECT_EQ((*a)[f].train, (*b)[f].train);
    differs |= (*a)[f].validation != (*c)[f].validation;
  }
  EXPECT_TRUE(differs);
  // Fold 0 is not the first 6 rows in order.
  EXPECT_NE((*a)[0].validation, std::vector<int64_t>({0, 1, 2, 3, 4, 5}));
}

TEST(KFoldSplitsTest, LeaveOneOut) {
  auto folds = KFoldSplits(4, 4, 3);
  ASSERT_TRUE(folds.ok()) << folds.status();
  std::vector<int64_t> held_out;
  for (const Split& s : *folds) {
    ASSERT_EQ(s.validation.size(), 1u);
    EXPECT_EQ(s.train.size(), 3u);
    held_out.push_back(s.validation[0]);
  }
  std::sort(held_out.begin(), held_out.end());
  EXPECT_THAT(held_out, ElementsAre(0, 1, 2, 3));
}

TEST(KFoldSplitsTest, StratifiedBalancesEachClass) {
  // 7 rows of class 0, 5 of class 2 (no class 1), k = 3: class 0 is dealt
  // 3, 2, 2 and class 2 continues from fold 1: 2, 2, 1 (fold order
  // 1, 2, 0, 1, 2) -> fold sizes 4, 4, 4.
  const std::vector<int32_t> strata = {0, 2, 0, 0, 2, 0, 2, 0, 0, 2, 0, 2};
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    auto folds = KFoldSplits(12, 3, seed, &strata);
    ASSERT_TRUE(folds.ok()) << folds.status();
    std::vector<int> class0, class2;
    for (const Split& s : *folds) {
      ExpectPartition(s, 12);
      EXPECT_EQ(s.validation.size(), 4u);
      auto counts = CountClasses(s.validation, strata);
      class0.push_back(counts[0]);
      class2.push_back(counts[2]);
    }
    EXPECT_THAT(class0, ElementsAre(3, 2, 2));
    EXPECT_THAT(class2, ElementsAre(1, 2, 2));
  }
}

TEST(KFoldSplitsTest, StratifiedFoldsPartitionTheRows) {
  std::vector<int32_t> strata;
  for (int i = 0; i < 101; ++i) strata.push_back(i % 7 == 0 ? 1 : 0);
  auto folds = KFoldSplits(101, 10, 8, &strata);
  ASSERT_TRUE(folds.ok()) << folds.status();
  std::vector<int> times_validated(101, 0);
  for (const Split& s : *folds) {
    ExpectPartition(s, 101);
    EXPECT_GE(s.validation.size(), 10u);
    EXPECT_LE(s.validation.size(), 11u);
    // 15 rows of class 1 over 10 folds: 1 or 2 per fold.
    const int ones = CountClasses(s.validation, strata)[1];
    EXPECT_GE(ones, 1);
    EXPECT_LE(ones, 2);
    for (int64_t r : s.validation) times_validated[r]++;
  }
  for (int t : times_validated) EXPECT_EQ(t, 1);
}

TEST(KFoldSplitsTest, Errors) {
  auto one = KFoldSplits(10, 1, 0);
  EXPECT_EQ(one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(one.status().message()), HasSubstr("k >= 2"));
  auto too_many = KFoldSplits(4, 5, 0);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_many.status().message()),
              HasSubstr("5 folds need at least 5 rows, got 4"));
  EXPECT_EQ(KFoldSplits(0, 2, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<int32_t> short_strata = {0, 1};
  auto mismatch = KFoldSplits(4, 2, 0, &short_strata);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.status().message()),
              HasSubstr("strata has 2 entries but there are 4 rows"));
  const std::vector<int32_t> negative = {0, 1, 0, -1};
  auto neg = KFoldSplits(4, 2, 0, &negative);
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(neg.status().message()), HasSubstr("strata row 3"));
}

// -------------------------------------------------------------- summaries

TEST(SummarizeFoldsTest, MeanAndSampleStddev) {
  // accuracy 0.5, 0.7: mean 0.6, stddev sqrt((0.01 + 0.01) / 1) = 0.1414...
  // log_loss 1, 3 (+ a third fold 2 below).
  auto two = SummarizeFolds({{{"accuracy", 0.5}, {"log_loss", 1.0}},
                             {{"accuracy", 0.7}, {"log_loss", 3.0}}});
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].name, "accuracy");
  EXPECT_NEAR((*two)[0].mean, 0.6, 1e-12);
  EXPECT_NEAR((*two)[0].stddev, 0.1414213562373095, 1e-12);
  EXPECT_EQ((*two)[1].name, "log_loss");
  EXPECT_NEAR((*two)[1].mean, 2.0, 1e-12);
  EXPECT_NEAR((*two)[1].stddev, std::sqrt(2.0), 1e-12);

  // 1, 2, 3: mean 2, sample variance (1 + 0 + 1) / 2 = 1.
  auto three = SummarizeFolds({{{"mse", 1.0}}, {{"mse", 2.0}}, {{"mse", 3.0}}});
  ASSERT_TRUE(three.ok());
  EXPECT_NEAR((*three)[0].mean, 2.0, 1e-12);
  EXPECT_NEAR((*three)[0].stddev, 1.0, 1e-12);

  auto single = SummarizeFolds({{{"r2", 0.8}}});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ((*single)[0].mean, 0.8);
  EXPECT_EQ((*single)[0].stddev, 0.0);
}

TEST(SummarizeFoldsTest, Errors) {
  auto none = SummarizeFolds({});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);

  auto missing = SummarizeFolds(
      {{{"accuracy", 0.9}, {"roc_auc", 0.8}}, {{"accuracy", 0.8}}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("fold 1 metric #1 is '(none)' but fold 0 has "
                        "'roc_auc'"));

  auto extra = SummarizeFolds(
      {{{"accuracy", 0.9}}, {{"accuracy", 0.8}, {"roc_auc", 0.8}}});
  EXPECT_EQ(extra.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(extra.status().message()),
              HasSubstr("fold 1 metric #1 is 'roc_auc'"));

  auto order = SummarizeFolds(
      {{{"mse", 1.0}, {"mae", 1.0}}, {{"mae", 1.0}, {"mse", 1.0}}});
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(order.status().message()),
              HasSubstr("fold 1 metric #0 is 'mae' but fold 0 has 'mse'"));

  auto nan = SummarizeFolds(
      {{{"mse", 1.0}}, {{"mse", std::numeric_limits<double>::infinity()}}});
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nan.status().message()),
              HasSubstr("fold 1 metric 'mse' is inf"));
}

}  // namespace
}  // namespace modelserver
