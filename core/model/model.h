// File: core/model/model.h
// Model: a function from a row of numeric features (the Pipeline's output) to
// a prediction, with all of its parameters in one flat vector so that every
// optimizer can train every model.
//
// Outputs (num_outputs() columns per row):
//   regression                    1 column: the predicted value (identity)
//   binary classification         1 column: P(class 1) (sigmoid)
//   k >= 3 classes                k columns: class probabilities (softmax)
// Losses (mean over rows):
//   regression: mean squared error   (y - yhat)^2
//   classification: cross-entropy    -sum_c y_c log p_c, computed from logits
// Weighted losses (WeightedLoss, for class weights) multiply row i's loss by
// s_i and still divide by the row count: (1/n) sum_i s_i loss_i.
// Targets `y` have num_outputs() columns: the value; 0/1 for binary; one-hot
// for k >= 3 classes.
//
// Thread-safety: const methods are safe to call concurrently; a trained model
// is never modified in place.
#ifndef MODELSERVER_CORE_MODEL_MODEL_H_
#define MODELSERVER_CORE_MODEL_MODEL_H_

#include <cstdint>
#include <memory>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/util/bytes.h"

namespace modelserver {

// Part of the artifact format: never renumber.
enum class ModelKind : uint8_t {
  kLinearRegression = 1,    // LinearModel, identity output, MSE
  kLogisticRegression = 2,  // LinearModel, sigmoid (2 classes) or softmax
  kMlpRegressor = 3,        // Mlp, identity output, MSE
  kMlpClassifier = 4,       // Mlp, sigmoid (2 classes) or softmax
};

// "linear_regression", "logistic_regression", "mlp_regressor",
// "mlp_classifier".
absl::string_view ModelKindName(ModelKind kind);
absl::StatusOr<ModelKind> ParseModelKind(absl::string_view name);
bool IsClassifier(ModelKind kind);

// Class probabilities (n x classes) from a classifier's Predict outputs: a
// binary model's single column p becomes the two columns (1 - p, p); k >= 3
// columns are returned as they are.
Eigen::MatrixXd ClassProbabilities(const Eigen::MatrixXd& outputs);

// Hidden-layer activations. Part of the artifact format: never renumber.
enum class Activation : uint8_t { kRelu = 0, kTanh = 1, kSigmoid = 2 };
absl::string_view ActivationName(Activation a);  // "relu", "tanh", "sigmoid"
absl::StatusOr<Activation> ParseActivation(absl::string_view name);

class Model {
 public:
  virtual ~Model() = default;

  virtual ModelKind kind() const = 0;
  int num_inputs() const { return num_inputs_; }
  int num_outputs() const { return num_outputs_; }

  // All trainable parameters, in the layout documented by the subclass.
  const Eigen::VectorXd& parameters() const { return parameters_; }
  Eigen::VectorXd& mutable_parameters() { return parameters_; }
  // 1.0 for parameters subject to L1/L2 penalties (weights), 0.0 for those
  // that are not (biases). Same size as parameters().
  virtual Eigen::VectorXd PenaltyMask() const = 0;

  // Outputs (see the top of this file) for each row of `x` with the current
  // parameters. REQUIRES: x.cols() == num_inputs().
  Eigen::MatrixXd Predict(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    return Forward(parameters_, x);
  }
  // Same with parameters `w` (same layout as parameters()).
  virtual Eigen::MatrixXd Forward(
      const Eigen::VectorXd& w,
      const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;

  // Mean loss over the rows of `x` against `y` with parameters `w`, and, when
  // `gradient` is not null, its gradient with respect to `w` (resized).
  // REQUIRES: x.rows() == y.rows() > 0, y.cols() == num_outputs().
  double Loss(const Eigen::VectorXd& w,
              const Eigen::Ref<const Eigen::MatrixXd>& x,
              const Eigen::Ref<const Eigen::MatrixXd>& y,
              Eigen::VectorXd* gradient) const {
    return WeightedLoss(w, x, y, {}, gradient);
  }
  // Same with row i's loss multiplied by row_weights[i]: (1/n) sum_i
  // row_weights[i] loss_i (not divided by the sum of the weights), and its
  // gradient. Empty `row_weights` = every weight 1 (= Loss, bit for bit).
  // REQUIRES: as Loss, and row_weights empty or of x.rows() entries.
  virtual double WeightedLoss(const Eigen::VectorXd& w,
                              const Eigen::Ref<const Eigen::MatrixXd>& x,
                              const Eigen::Ref<const Eigen::MatrixXd>& y,
                              absl::Span<const double> row_weights,
                              Eigen::VectorXd* gradient) const = 0;

  // Appends kind-specific structure and the parameters. Decoded by
  // DecodeModel (core/model/model_codec.h).
  virtual void Encode(ByteWriter* out) const = 0;

 protected:
  Model(int num_inputs, int num_outputs)
      : num_inputs_(num_inputs), num_outputs_(num_outputs) {}

  int num_inputs_;
  int num_outputs_;
  Eigen::VectorXd parameters_;
};

// Helpers shared by the Model implementations (LinearModel, Mlp): the output
// layer ("head") that maps logits to outputs and the loss computed from
// logits. Not meant for callers outside core/model and core/train.
namespace model_internal {

enum class OutputHead : uint8_t {
  kIdentity,  // regression: outputs = logits, MSE
  kSigmoid,   // 2 classes: P(class 1), binary cross-entropy
  kSoftmax,   // k >= 3 classes: probabilities, categorical cross-entropy
};

// Checks the (kind, num_classes) pair: regression kinds need num_classes == 0,
// classifier kinds 2 <= num_classes <= kMaxClasses. INVALID_ARGUMENT naming
// the field otherwise (also for a kind that is not a ModelKind value).
inline constexpr int kMaxClasses = 1 << 16;
absl::Status ValidateOutput(ModelKind kind, int num_classes);
// REQUIRES: ValidateOutput(kind, num_classes).ok().
OutputHead HeadFor(ModelKind kind, int num_classes);
int NumOutputs(ModelKind kind, int num_classes);

// Replaces logits by outputs, row by row, in place (stable for any finite
// logit: no overflow for |z| = 1000).
void ApplyHead(OutputHead head, Eigen::MatrixXd* z);

// Mean loss over the rows of the logits `z` against `y` (same shape), and,
// when `dz` is not null, d(loss)/d(z) (resized). Computed from logits:
// binary cross-entropy as max(z,0) - z*y + log1p(exp(-|z|)), softmax
// cross-entropy with log-sum-exp. With `row_weights` (non-empty, z.rows()
// entries) row i's loss and its row of dz are multiplied by row_weights[i]
// (the sum is still divided by the row count). REQUIRES: z.rows() ==
// y.rows() > 0.
double HeadLoss(OutputHead head, const Eigen::MatrixXd& z,
                const Eigen::Ref<const Eigen::MatrixXd>& y,
                Eigen::MatrixXd* dz, absl::Span<const double> row_weights = {});

// Reads a parameter vector (u64 count, f64 values) for a model named
// `model_name` that must hold `expected` parameters. DATA_LOSS when the bytes
// are short (checked before allocating), the count differs from `expected`
// or a value is not finite.
absl::StatusOr<Eigen::VectorXd> ReadParameters(ByteReader* in, int64_t expected,
                                               absl::string_view model_name);

// Converts a validation error met while decoding into DATA_LOSS, keeping the
// message; OK stays OK.
absl::Status AsDataLoss(const absl::Status& status);

}  // namespace model_internal

}  // namespace modelserver

#endif  // MODELSERVER_CORE_MODEL_MODEL_H_
