// File: core/train/model_objective.h
// ModelObjective: the Objective (core/train/objective.h) of training a Model
// on a design matrix `x` (one row per example, num_inputs() columns) and
// targets `y` (num_outputs() columns, encoded as in core/model/model.h):
//
//   smooth(w) = model.Loss(w, rows of x, rows of y)
//               + l2 * sum_j mask_j w_j^2          (mask = PenaltyMask())
//   gradient  = d model.Loss / dw + 2 * l2 * mask .* w
//   l1()      = l1, applied by the optimizer to the same mask.
//
// With row weights s (class weights: one per row of x), model.Loss is
// replaced by model.WeightedLoss: the mean over the chosen rows of
// s_i * loss_i (divided by the row count, not by the sum of the s_i; the
// trainer scales the weights to average 1 over the training rows, so that
// this is the weighted mean over all rows and a mini-batch's value is an
// unbiased estimate of it).
//
// Ownership: the objective keeps references to `model`, `x` and `y`; all
// three must outlive it and must not change while it is used. The model's
// own parameters are never read or written: the optimizer passes `w`.
// Evaluate works on `x` and `y` in place (no copy), in cache-sized blocks of
// rows so that x is read from memory once per evaluation, not once per
// matrix product. EvaluateBatch gathers the chosen rows into member buffers
// that are reused, so that it allocates only when the batch size changes;
// it gathers from a row-major copy of x made on its first call (one more
// x-sized buffer for the objective's lifetime), because gathering a row of
// column-major x touches one cache line per column: that made the gather
// 40% of SGD/Adam training time (bench/tools/bench_kernels.cc).
//
// Parallelism: with a pool, the rows (of x, or of the batch) are split into
// contiguous parts, one per thread, when there is enough work (rows times
// parameters of at least kMinWorkPerPart per part); each part's loss and
// gradient are computed on its own thread and combined, weighted by rows, in
// part order. The result is deterministic for a given pool size; it differs
// from the single-threaded one only by rounding.
//
// Thread-safety: none (the buffers are written); one optimizer at a time.
#ifndef MODELSERVER_CORE_TRAIN_MODEL_OBJECTIVE_H_
#define MODELSERVER_CORE_TRAIN_MODEL_OBJECTIVE_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/model/model.h"
#include "core/train/objective.h"
#include "core/util/parallel.h"

namespace modelserver {

class ModelObjective : public Objective {
 public:
  // REQUIRES: x.rows() == y.rows() > 0, x.cols() == model.num_inputs(),
  // y.cols() == model.num_outputs(), l1 >= 0, l2 >= 0, row_weights null or
  // of x.rows() finite entries >= 0 (Create checks these).
  // `pool` may be null (single-threaded); it is not owned and must outlive
  // the objective. `row_weights` (null = unweighted) is not owned either,
  // must outlive the objective and must not change.
  ModelObjective(const Model& model, const Eigen::MatrixXd& x,
                 const Eigen::MatrixXd& y, double l1, double l2,
                 ThreadPool* pool = nullptr,
                 const Eigen::VectorXd* row_weights = nullptr);

  // Same after checking the REQUIRES clause: INVALID_ARGUMENT naming the
  // mismatched size, the bad penalty or the bad weight otherwise.
  static absl::StatusOr<std::unique_ptr<ModelObjective>> Create(
      const Model& model, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y,
      double l1, double l2, ThreadPool* pool = nullptr,
      const Eigen::VectorXd* row_weights = nullptr);

  // Multiply-adds (rows x parameters) below which a part is not worth a
  // thread.
  static constexpr int64_t kMinWorkPerPart = int64_t{1} << 17;

  int64_t num_examples() const override { return x_.rows(); }
  int64_t num_parameters() const override { return mask_.size(); }

  // REQUIRES: w.size() == num_parameters(); every row index in
  // [0, num_examples()), `rows` non-empty (duplicates allowed).
  double EvaluateBatch(const Eigen::VectorXd& w, absl::Span<const int64_t> rows,
                       Eigen::VectorXd* gradient) override;
  double Evaluate(const Eigen::VectorXd& w, Eigen::VectorXd* gradient) override;

  double l1() const override { return l1_; }
  double l2() const { return l2_; }
  const Eigen::VectorXd& penalty_mask() const override { return mask_; }

 private:
  // Adds the L2 term to `value` and (when not null) `gradient`.
  double AddL2(const Eigen::VectorXd& w, double value,
               Eigen::VectorXd* gradient) const;
  // How many parts `rows` rows are split into (PartCount with this
  // objective's work per row).
  int PartsFor(int64_t rows) const;
  // The parts' losses (and gradients) combined, weighted by their rows.
  double Combine(int parts, int64_t n, Eigen::VectorXd* gradient) const;
  // Mean loss of the rows [begin, end) of `x`/`y` (and its gradient into
  // `gradient` when not null), in blocks of block_rows_.
  double BlockedLoss(const Eigen::VectorXd& w, const Eigen::MatrixXd& x,
                     const Eigen::MatrixXd& y, Eigen::Index begin,
                     Eigen::Index end, Eigen::VectorXd* gradient,
                     Eigen::VectorXd* scratch) const;
  // The weights of rows [begin, begin + len) of x_ (empty when unweighted).
  absl::Span<const double> WeightsOf(Eigen::Index begin,
                                     Eigen::Index len) const;

  const Model& model_;
  const Eigen::MatrixXd& x_;
  const Eigen::MatrixXd& y_;
  const double l1_;
  const double l2_;
  const Eigen::VectorXd mask_;
  ThreadPool* const pool_;
  const Eigen::VectorXd* const row_weights_;  // null = unweighted
  // Row-major copy of x_ for EvaluateBatch; empty until its first call.
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
      x_by_rows_;
  const Eigen::Index block_rows_;
  // Per part: gathered rows for EvaluateBatch, gradients, scratch; reused.
  std::vector<Eigen::MatrixXd> batch_x_;
  std::vector<Eigen::MatrixXd> batch_y_;
  std::vector<std::vector<double>> batch_w_;  // with row weights only
  std::vector<Eigen::VectorXd> part_gradient_;
  std::vector<Eigen::VectorXd> part_scratch_;
  std::vector<double> part_loss_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_MODEL_OBJECTIVE_H_
