// File: core/util/parallel.h
// ThreadPool: a fixed set of worker threads for data-parallel loops inside
// one training job (gradient passes, the Gram matrix of the exact solver).
//
//   ThreadPool pool(2);                       // the caller + 1 worker
//   pool.Run([&](int part) { ... }, 2);       // part = 0 .. 1, concurrently
//
// Run(fn, parts) calls fn(0) .. fn(parts - 1), each exactly once, part 0 on
// the calling thread and the others on workers, and returns when all have
// returned. With parts <= num_threads() every part runs on its own thread.
// The split of work into parts is the caller's: a fixed split (a function of
// the sizes and the thread count only) and a fixed order of combining the
// parts' results keep results bit-identical from run to run.
//
// Latency: workers spin briefly (about 50 us) before sleeping, so that loops
// called back to back (one per mini-batch) do not pay a wake-up each time.
// Workers run at the scheduling priority of the thread that created the pool.
//
// Thread-safety: Run must not be called concurrently on one pool, nor from
// inside fn. The destructor joins the workers.
#ifndef MODELSERVER_CORE_UTIL_PARALLEL_H_
#define MODELSERVER_CORE_UTIL_PARALLEL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace modelserver {

class ThreadPool {
 public:
  // `threads` >= 1 counts the calling thread: threads - 1 workers start.
  // Values < 1 mean 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  // REQUIRES: 1 <= parts <= num_threads().
  void Run(const std::function<void(int part)>& fn, int parts);

 private:
  void WorkerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Bumped by Run for each new loop; workers compare against the last seen.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int)>* fn_ = nullptr;
  int parts_ = 0;
  bool stop_ = false;
};

// The number of threads a "0 = all" setting means: the hardware threads
// (std::thread::hardware_concurrency), at least 1.
int DefaultThreadCount();

// Splitting work into contiguous parts (one per thread at most).
//
// How many parts `items` items should be split into: one per thread of
// `pool`, but none with less than `min_work_per_part` work (items times
// `work_per_item`), and no more parts than items; at least 1, and 1 without
// a pool (null).
int PartCount(const ThreadPool* pool, int64_t items, int64_t work_per_item,
              int64_t min_work_per_part);
// First item of part p of n items split into `parts`; part p ends where part
// p + 1 begins, and PartBegin(n, parts, parts) == n.
inline int64_t PartBegin(int64_t n, int parts, int p) { return n * p / parts; }
// fn(0) .. fn(parts - 1): on the pool's threads, or on the caller in order
// when `pool` is null. REQUIRES: with a pool, parts <= pool->num_threads().
void RunParts(ThreadPool* pool, const std::function<void(int part)>& fn,
              int parts);

// Rows per block of a column-major double matrix with `cols` columns such
// that a block (about 512 KiB, at least 256 rows) stays in cache while it is
// used twice (a forward and a backward product, a centring and a rank
// update).
int64_t CacheBlockRows(int64_t cols);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_UTIL_PARALLEL_H_
