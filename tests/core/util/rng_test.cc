#include "core/util/rng.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"

namespace modelserver {
namespace {

TEST(RngTest, SameSeedSameSequence) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differs |= (x != c.Next());
  }
  EXPECT_TRUE(differs);
}

TEST(RngTest, UniformMomentsAndRange) {
  Rng r(1);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double u = r.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);
  EXPECT_NEAR(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
}

TEST(RngTest, NormalMoments) {
  Rng r(2);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double z = r.Normal();
    sum += z;
    sum2 += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.01);
}

TEST(RngTest, UniformIntCoversRangeEvenly) {
  Rng r(3);
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) counts[r.UniformInt(6)]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

TEST(RngTest, ShuffleIsAPermutation) {
  Rng r(4);
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  r.Shuffle(&v);
  EXPECT_FALSE(std::is_sorted(v.begin(), v.end()));
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(v[i], i);
}

}  // namespace
}  // namespace modelserver
