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

}  // namespace modelserver

#endif  // MODELSERVER_CORE_UTIL_PARALLEL_H_
