// File: core/model/linear_model.h
// LinearModel: linear regression and logistic (binary or multinomial)
// regression. Logits are Z = X * W + b (b added to every row); the output
// head and the loss are those of core/model/model.h:
//   kLinearRegression    num_classes == 0: 1 output, identity, MSE
//   kLogisticRegression  num_classes == 2: 1 output, sigmoid, binary
//                        cross-entropy; num_classes = k >= 3: k outputs,
//                        softmax, categorical cross-entropy.
//
// Parameter layout (num_outputs = k): W (num_inputs x k, column-major, i.e.
// the weights of output 0 first), then the bias (k values). PenaltyMask is
// 1 on W and 0 on the bias. Parameters start at zero.
//
// Serialised form (Encode, after the kind byte written by EncodeModel):
//   u32 num_inputs, u32 num_classes, then the parameters as a vector
//   (u64 count, f64 values). See docs/models.md.
//
// Thread-safety: const methods are safe to call concurrently.
#ifndef MODELSERVER_CORE_MODEL_LINEAR_MODEL_H_
#define MODELSERVER_CORE_MODEL_LINEAR_MODEL_H_

#include <cstdint>
#include <memory>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "core/model/model.h"
#include "core/util/bytes.h"

namespace modelserver {

class LinearModel : public Model {
 public:
  // Largest accepted parameter count (2^28 doubles = 2 GiB).
  static constexpr int64_t kMaxParameters = int64_t{1} << 28;

  // Creates a model with all parameters zero. INVALID_ARGUMENT when `kind`
  // is not kLinearRegression or kLogisticRegression, num_inputs < 1,
  // num_classes does not suit the kind (0 for regression, >= 2 for
  // classification) or the parameter count exceeds kMaxParameters.
  static absl::StatusOr<std::unique_ptr<LinearModel>> Create(ModelKind kind,
                                                             int num_inputs,
                                                             int num_classes);

  // Reads what Encode wrote (the kind byte already consumed by
  // DecodeModel). DATA_LOSS on truncated or inconsistent bytes; checks
  // sizes against in->remaining() before allocating.
  static absl::StatusOr<std::unique_ptr<LinearModel>> Decode(ModelKind kind,
                                                             ByteReader* in);

  ModelKind kind() const override { return kind_; }
  // 0 for regression.
  int num_classes() const { return num_classes_; }

  Eigen::VectorXd PenaltyMask() const override;
  Eigen::MatrixXd Forward(
      const Eigen::VectorXd& w,
      const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  double WeightedLoss(const Eigen::VectorXd& w,
                      const Eigen::Ref<const Eigen::MatrixXd>& x,
                      const Eigen::Ref<const Eigen::MatrixXd>& y,
                      absl::Span<const double> row_weights,
                      Eigen::VectorXd* gradient) const override;
  void Encode(ByteWriter* out) const override;

 private:
  LinearModel(ModelKind kind, int num_inputs, int num_classes);

  // Z = X * W + b for parameters `w`.
  Eigen::MatrixXd Logits(const Eigen::VectorXd& w,
                         const Eigen::Ref<const Eigen::MatrixXd>& x) const;

  ModelKind kind_;
  int num_classes_;
  model_internal::OutputHead head_;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_MODEL_LINEAR_MODEL_H_
