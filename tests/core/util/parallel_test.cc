#include "core/util/parallel.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace modelserver {
namespace {

TEST(ThreadPoolTest, EveryPartRunsExactlyOnceOnItsOwnThread) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.num_threads(), 3);
  for (int parts = 1; parts <= 3; ++parts) {
    std::vector<std::atomic<int>> calls(parts);
    std::vector<std::thread::id> ids(parts);
    pool.Run(
        [&](int p) {
          calls[p].fetch_add(1);
          ids[p] = std::this_thread::get_id();
        },
        parts);
    std::set<std::thread::id> distinct(ids.begin(), ids.end());
    EXPECT_EQ(static_cast<int>(distinct.size()), parts);
    EXPECT_EQ(ids[0], std::this_thread::get_id());  // part 0: the caller
    for (int p = 0; p < parts; ++p) EXPECT_EQ(calls[p].load(), 1) << p;
  }
}

TEST(ThreadPoolTest, ManyBackToBackLoopsSeeAllTheirWork) {
  // One loop per "mini-batch": every Run must see the previous one finished.
  ThreadPool pool(2);
  std::vector<int64_t> sums(2, 0);
  int64_t expected = 0;
  for (int i = 0; i < 20000; ++i) {
    pool.Run([&](int p) { sums[p] += i * (p + 1); }, 2);
    expected += i;
  }
  EXPECT_EQ(sums[0], expected);
  EXPECT_EQ(sums[1], 2 * expected);
}

TEST(ThreadPoolTest, WorkersSleepingAfterAPauseStillWake) {
  ThreadPool pool(2);
  std::atomic<int> n{0};
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past spin
    pool.Run([&](int) { n.fetch_add(1); }, 2);
  }
  EXPECT_EQ(n.load(), 6);
}

TEST(ThreadPoolTest, OneThreadRunsEverythingOnTheCaller) {
  ThreadPool pool(0);  // < 1 means 1
  EXPECT_EQ(pool.num_threads(), 1);
  std::thread::id id;
  pool.Run([&](int) { id = std::this_thread::get_id(); }, 1);
  EXPECT_EQ(id, std::this_thread::get_id());
}

TEST(ThreadPoolTest, DefaultThreadCountIsPositive) {
  EXPECT_GE(DefaultThreadCount(), 1);
}

TEST(PartsTest, PartCountFollowsThreadsWorkAndItems) {
  ThreadPool pool(3);
  EXPECT_EQ(PartCount(nullptr, 1000000, 10, 1), 1);  // no pool
  EXPECT_EQ(PartCount(&pool, 1000000, 10, 1), 3);    // one per thread
  EXPECT_EQ(PartCount(&pool, 100, 1000, 50000), 2);  // 100000 work / 50000
  EXPECT_EQ(PartCount(&pool, 100, 10, 50000), 1);    // too little work
  EXPECT_EQ(PartCount(&pool, 2, 1000000, 1), 2);     // no more than items
}

TEST(PartsTest, PartsCoverTheItemsInOrderWithoutGaps) {
  for (int parts = 1; parts <= 4; ++parts) {
    EXPECT_EQ(PartBegin(10, parts, 0), 0);
    EXPECT_EQ(PartBegin(10, parts, parts), 10);
    for (int p = 0; p < parts; ++p) {
      EXPECT_LE(PartBegin(10, parts, p), PartBegin(10, parts, p + 1));
    }
  }
  EXPECT_EQ(PartBegin(10, 3, 1), 3);
  EXPECT_EQ(PartBegin(10, 3, 2), 6);
}

TEST(PartsTest, RunPartsWithAndWithoutAPool) {
  std::vector<int> seen;
  RunParts(
      nullptr, [&](int p) { seen.push_back(p); }, 3);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));  // in order, on the caller
  ThreadPool pool(2);
  std::vector<std::atomic<int>> calls(2);
  RunParts(
      &pool, [&](int p) { calls[p].fetch_add(1); }, 2);
  EXPECT_EQ(calls[0].load(), 1);
  EXPECT_EQ(calls[1].load(), 1);
}

TEST(PartsTest, CacheBlockRowsKeepsAboutHalfAMebibyte) {
  EXPECT_EQ(CacheBlockRows(100), 655);   // 65536 / 100 doubles: 512 KiB
  EXPECT_EQ(CacheBlockRows(2000), 256);  // at least 256 rows
  EXPECT_EQ(CacheBlockRows(0), 65536);   // no columns: treated as one
}

}  // namespace
}  // namespace modelserver
