#include "core/util/parallel.h"

#include <algorithm>
#include <chrono>

namespace modelserver {
namespace {

constexpr auto kSpin = std::chrono::microseconds(50);

}  // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Run(const std::function<void(int)>& fn, int parts) {
  if (parts <= 1 || workers_.empty()) {
    for (int p = 0; p < parts; ++p) fn(p);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = &fn;
    parts_ = parts;
    pending_.store(parts - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(0);
  // Wait for the workers' parts: spin first, then sleep.
  const auto spin_until = std::chrono::steady_clock::now() + kSpin;
  while (pending_.load(std::memory_order_acquire) != 0) {
    if (std::chrono::steady_clock::now() > spin_until) {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock,
                 [&] { return pending_.load(std::memory_order_acquire) == 0; });
      break;
    }
  }
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    while (generation_.load(std::memory_order_acquire) == seen &&
           std::chrono::steady_clock::now() < spin_until) {
    }
    const std::function<void(int)>* fn;
    int parts;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] {
        return generation_.load(std::memory_order_acquire) != seen;
      });
      seen = generation_.load(std::memory_order_acquire);
      if (stop_) return;
      fn = fn_;
      parts = parts_;
    }
    if (index < parts) {
      (*fn)(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);
        done_.notify_one();
      }
    }
  }
}

int PartCount(const ThreadPool* pool, int64_t items, int64_t work_per_item,
              int64_t min_work_per_part) {
  if (pool == nullptr) return 1;
  const int64_t by_work = items * work_per_item / min_work_per_part;
  return static_cast<int>(
      std::clamp<int64_t>(std::min(items, by_work), 1, pool->num_threads()));
}

void RunParts(ThreadPool* pool, const std::function<void(int)>& fn, int parts) {
  if (pool != nullptr) {
    pool->Run(fn, parts);
    return;
  }
  for (int p = 0; p < parts; ++p) fn(p);
}

int64_t CacheBlockRows(int64_t cols) {
  return std::max<int64_t>(256,
                           (int64_t{1} << 16) / std::max<int64_t>(1, cols));
}

int DefaultThreadCount() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace modelserver
