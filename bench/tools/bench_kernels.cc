// bench_kernels: core's training kernels on in-memory data, to compare with
// the machine's limits (bench_limits) in bench/compare.py:
//
//   ols_gflops        SolveLinearLeastSquares on n x d (Gram matrix
//                     n d^2 flops, counted as 2 per multiply-add of its
//                     d(d+1)/2 entries)
//   lbfgs_pass_gbps   one full-batch loss+gradient pass (ModelObjective,
//                     3-class softmax): n d 8 bytes of x per pass
//   sgd_epoch_gbps    one SGD epoch (batch 32) of the same model: each row of
//                     x gathered once per epoch
//   adam_mlp_epoch_gflops  one Adam epoch (batch 200) of a 64-32 MLP: 6 flops
//                     per multiply-add weight per row (forward and backward)
//
//   bench_kernels [--rows N] [--cols D] [--threads T]   key=value lines,
//   best of 3 runs each; random normal data, seeded.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "core/model/linear_model.h"
#include "core/model/mlp.h"
#include "core/train/exact_solver.h"
#include "core/train/model_objective.h"
#include "core/train/optimizer.h"
#include "core/util/parallel.h"
#include "core/util/rng.h"

namespace modelserver {
namespace {

double BestSeconds(const std::function<void()>& fn) {
  double best = 1e300;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - t0)
                              .count());
  }
  return best;
}

int Run(int64_t n, int d, int threads) {
  Rng rng(1);
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = rng.Normal();
  Eigen::VectorXd y = x.col(0) * 2.0 - x.col(1);
  for (Eigen::Index i = 0; i < n; ++i) y[i] += rng.Normal();
  Eigen::MatrixXd onehot = Eigen::MatrixXd::Zero(n, 3);
  for (Eigen::Index i = 0; i < n; ++i) onehot(i, rng.UniformInt(3)) = 1.0;
  ThreadPool pool(threads);
  const double bytes = static_cast<double>(n) * d * 8;
  std::printf("rows=%lld\ncols=%d\nthreads=%d\n", static_cast<long long>(n), d,
              threads);

  const double ols = BestSeconds([&] {
    if (!SolveLinearLeastSquares(x, y, 0.0, &pool).ok()) std::abort();
  });
  std::printf("ols_seconds=%.4f\nols_gflops=%.2f\n", ols,
              static_cast<double>(n) * d * (d + 1) / ols / 1e9);

  auto softmax = *LinearModel::Create(ModelKind::kLogisticRegression, d, 3);
  ModelObjective objective(*softmax, x, onehot, 0.0, 1e-6, &pool);
  Eigen::VectorXd w =
      Eigen::VectorXd::Constant(softmax->parameters().size(), 0.01);
  Eigen::VectorXd g;
  const double pass = BestSeconds([&] { objective.Evaluate(w, &g); });
  std::printf("lbfgs_pass_seconds=%.4f\nlbfgs_pass_gbps=%.2f\n", pass,
              bytes / pass / 1e9);

  OptimizerOptions sgd;
  sgd.max_epochs = 1;
  sgd.batch_size = 32;
  const double epoch = BestSeconds([&] {
    Eigen::VectorXd w0 = softmax->parameters();
    if (!Minimize(OptimizerKind::kSgd, sgd, objective, &w0).ok()) std::abort();
  });
  std::printf("sgd_epoch_seconds=%.4f\nsgd_epoch_gbps=%.2f\n", epoch,
              bytes / epoch / 1e9);

  auto mlp = *Mlp::Create(ModelKind::kMlpRegressor, d, {64, 32},
                          Activation::kRelu, 0, 1);
  const Eigen::MatrixXd y_col = y;
  ModelObjective mlp_objective(*mlp, x, y_col, 0.0, 1e-4, &pool);
  OptimizerOptions adam;
  adam.max_epochs = 1;
  adam.batch_size = 200;
  adam.learning_rate = 0.001;
  const double adam_epoch = BestSeconds([&] {
    Eigen::VectorXd w0 = mlp->parameters();
    if (!Minimize(OptimizerKind::kAdam, adam, mlp_objective, &w0).ok()) {
      std::abort();
    }
  });
  const double macs = static_cast<double>(d) * 64 + 64 * 32 + 32;
  std::printf("adam_mlp_epoch_seconds=%.4f\nadam_mlp_epoch_gflops=%.2f\n",
              adam_epoch,
              6.0 * macs * static_cast<double>(n) / adam_epoch / 1e9);
  return 0;
}

}  // namespace
}  // namespace modelserver

int main(int argc, char** argv) {
  int64_t rows = 1000000;
  int cols = 100, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rows") == 0) rows = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--cols") == 0) cols = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--threads") == 0)
      threads = std::atoi(argv[i + 1]);
  }
  if (rows < 1000 || cols < 2 || threads < 1) {
    std::fprintf(stderr,
                 "usage: bench_kernels [--rows N>=1000] [--cols D>=2] "
                 "[--threads T>=1]\n");
    return 2;
  }
  return modelserver::Run(rows, cols, threads);
}
