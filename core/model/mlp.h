// File: core/model/mlp.h
// Mlp: a fully connected feed-forward network (multi-layer perceptron) for
// regression (kMlpRegressor) or classification (kMlpClassifier).
//
//   A_0 = X;  A_l = act(A_{l-1} * W_l + b_l)  for each hidden layer l;
//   logits = A_L * W_out + b_out, then the output head of core/model/model.h
//   (identity + MSE; sigmoid + binary cross-entropy for 2 classes; softmax +
//   cross-entropy for k >= 3 classes).
// With no hidden layer the network is a linear model (with random start).
//
// Parameter layout: for each layer in order (hidden layers, then the output
// layer), W_l (fan_in x fan_out, column-major) then b_l (fan_out values).
// PenaltyMask is 1 on every W_l and 0 on every b_l.
//
// Initialisation (deterministic: core/util/rng.h seeded with `seed`, layers
// drawn in order, each W_l in column-major order, then b_l): every weight
// and bias U(-a, a) with a = sqrt(f / (fan_in + fan_out)), f = 2 for the
// sigmoid and 6 otherwise; scikit-learn's MLP initialisation.
//
// Serialised form (Encode, after the kind byte written by EncodeModel):
//   u32 num_inputs, u32 num_classes, u8 activation, u32 hidden layer count,
//   u32 per hidden layer size, then the parameters as a vector (u64 count,
//   f64 values). The seed is not stored. See docs/models.md.
//
// Thread-safety: const methods are safe to call concurrently.
#ifndef MODELSERVER_CORE_MODEL_MLP_H_
#define MODELSERVER_CORE_MODEL_MLP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "core/model/model.h"
#include "core/util/bytes.h"

namespace modelserver {

class Mlp : public Model {
 public:
  // Limits checked by Create (INVALID_ARGUMENT beyond them).
  static constexpr int kMaxLayerSize = 1 << 16;  // per hidden layer
  static constexpr int kMaxHiddenLayers = 64;
  static constexpr int64_t kMaxParameters = int64_t{1} << 28;

  // Creates an initialised network. `kind` is kMlpRegressor (num_classes
  // must be 0) or kMlpClassifier (num_classes >= 2); `hidden_layers` holds
  // the width of each hidden layer (may be empty), each in
  // [1, kMaxLayerSize]. INVALID_ARGUMENT naming the field for a bad kind,
  // num_inputs < 1, a bad layer size or class count, more than
  // kMaxHiddenLayers layers, or more than kMaxParameters parameters.
  static absl::StatusOr<std::unique_ptr<Mlp>> Create(
      ModelKind kind, int num_inputs, std::vector<int> hidden_layers,
      Activation activation, int num_classes, uint64_t seed);

  // Validates like Create and returns the parameter count, allocating
  // nothing.
  static absl::StatusOr<int64_t> ParameterCount(
      ModelKind kind, int num_inputs, const std::vector<int>& hidden_layers,
      int num_classes);

  // Reads what Encode wrote (the kind byte already consumed by
  // DecodeModel). DATA_LOSS on truncated or inconsistent bytes; checks
  // sizes against in->remaining() before allocating.
  static absl::StatusOr<std::unique_ptr<Mlp>> Decode(ModelKind kind,
                                                     ByteReader* in);

  ModelKind kind() const override { return kind_; }
  const std::vector<int>& hidden_layers() const { return hidden_layers_; }
  Activation activation() const { return activation_; }
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
  struct Layer {
    int fan_in;
    int fan_out;
    Eigen::Index weight_offset;  // W_l starts here in the parameters
    Eigen::Index bias_offset;    // b_l starts here
  };

  Mlp(ModelKind kind, int num_inputs, std::vector<int> hidden_layers,
      Activation activation, int num_classes);

  // Runs the network; fills `hidden` with each hidden layer's activations
  // (when not null) and returns the logits.
  Eigen::MatrixXd Logits(const Eigen::VectorXd& w,
                         const Eigen::Ref<const Eigen::MatrixXd>& x,
                         std::vector<Eigen::MatrixXd>* hidden) const;

  ModelKind kind_;
  std::vector<int> hidden_layers_;
  Activation activation_;
  int num_classes_;
  model_internal::OutputHead head_;
  std::vector<Layer> layers_;  // hidden layers, then the output layer
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_MODEL_MLP_H_
