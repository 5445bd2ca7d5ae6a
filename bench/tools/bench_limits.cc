// bench_limits: the machine's limits that training is compared against
// (bench/compare.py), measured in the same run:
//
//   gemm_gflops_1t / gemm_gflops   Eigen double GEMM (1024 x 1024 x 1024):
//                                  one thread, and --threads threads each
//                                  multiplying its own matrices (the way the
//                                  trainer splits work: core/util/parallel.h)
//   triad_gbps_1t / triad_gbps     STREAM triad a = b + s * c on 3 x 64 MiB
//                                  double arrays, 24 bytes counted per element
//
//   bench_limits [--threads N]     prints key=value lines; best of 5 runs
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "Eigen/Core"

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

// Runs `fn(thread_index)` on `threads` threads at once; returns the wall time.
template <typename Fn>
double RunParallel(int threads, Fn fn) {
  std::vector<std::thread> pool;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 1; t < threads; ++t) pool.emplace_back(fn, t);
  fn(0);
  for (std::thread& th : pool) th.join();
  return Seconds(t0);
}

double GemmGflops(int threads) {
  constexpr int n = 1024;
  std::vector<Eigen::MatrixXd> a(threads), b(threads), c(threads);
  for (int t = 0; t < threads; ++t) {
    a[t] = Eigen::MatrixXd::Random(n, n);
    b[t] = Eigen::MatrixXd::Random(n, n);
    c[t] = Eigen::MatrixXd::Zero(n, n);
  }
  double best = 1e300;
  for (int rep = 0; rep < 5; ++rep) {
    best = std::min(best, RunParallel(threads, [&](int t) {
                      c[t].noalias() = a[t] * b[t];
                    }));
  }
  return 2.0 * n * n * n * threads / best / 1e9;
}

double TriadGbps(int threads) {
  constexpr size_t n = size_t{64} << 20 >> 3;  // 64 MiB of doubles per array
  std::vector<double> a(n), b(n, 1.0), c(n, 2.0);
  const double s = 3.0;
  double best = 1e300;
  for (int rep = 0; rep < 5; ++rep) {
    best = std::min(best, RunParallel(threads, [&](int t) {
                      const size_t lo = n * t / threads;
                      const size_t hi = n * (t + 1) / threads;
                      for (size_t i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
                    }));
  }
  if (a[n / 2] != 7.0) std::abort();  // keeps the loop from being elided
  return 24.0 * n / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0)
      threads = std::atoi(argv[i + 1]);
  }
  if (threads < 1) threads = 1;
  std::printf("threads=%d\n", threads);
  std::printf("gemm_gflops_1t=%.2f\n", GemmGflops(1));
  std::printf("gemm_gflops=%.2f\n", GemmGflops(threads));
  std::printf("triad_gbps_1t=%.2f\n", TriadGbps(1));
  std::printf("triad_gbps=%.2f\n", TriadGbps(threads));
  return 0;
}
