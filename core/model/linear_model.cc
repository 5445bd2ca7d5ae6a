#include "core/model/linear_model.h"

#include <cstdint>
#include <limits>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

// Validates the sizes and returns the parameter count.
absl::StatusOr<int64_t> ParameterCount(ModelKind kind, int num_inputs,
                                       int num_classes) {
  if (kind != ModelKind::kLinearRegression &&
      kind != ModelKind::kLogisticRegression) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LinearModel supports linear_regression and logistic_regression, "
        "not model kind ",
        static_cast<int>(kind), " (", ModelKindName(kind), ")"));
  }
  RETURN_IF_ERROR(model_internal::ValidateOutput(kind, num_classes));
  if (num_inputs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_inputs must be at least 1, got ", num_inputs));
  }
  const int64_t outputs = model_internal::NumOutputs(kind, num_classes);
  const int64_t count = (int64_t{num_inputs} + 1) * outputs;
  if (count > LinearModel::kMaxParameters) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a linear model with ", num_inputs, " inputs and ", outputs,
        " outputs would have ", count, " parameters; the limit is ",
        LinearModel::kMaxParameters));
  }
  return count;
}

}  // namespace

LinearModel::LinearModel(ModelKind kind, int num_inputs, int num_classes)
    : Model(num_inputs, model_internal::NumOutputs(kind, num_classes)),
      kind_(kind),
      num_classes_(num_classes),
      head_(model_internal::HeadFor(kind, num_classes)) {}

absl::StatusOr<std::unique_ptr<LinearModel>> LinearModel::Create(
    ModelKind kind, int num_inputs, int num_classes) {
  ASSIGN_OR_RETURN(const int64_t count,
                   ParameterCount(kind, num_inputs, num_classes));
  std::unique_ptr<LinearModel> model(
      new LinearModel(kind, num_inputs, num_classes));
  model->parameters_ = Eigen::VectorXd::Zero(count);
  return model;
}

absl::StatusOr<std::unique_ptr<LinearModel>> LinearModel::Decode(
    ModelKind kind, ByteReader* in) {
  ASSIGN_OR_RETURN(const uint32_t num_inputs,
                   in->ReadU32("linear model num_inputs"));
  ASSIGN_OR_RETURN(const uint32_t num_classes,
                   in->ReadU32("linear model num_classes"));
  constexpr uint32_t kIntMax = std::numeric_limits<int>::max();
  if (num_inputs > kIntMax || num_classes > kIntMax) {
    return absl::DataLossError(absl::StrCat(
        "corrupted model: implausible linear model sizes num_inputs=",
        num_inputs, " num_classes=", num_classes));
  }
  absl::StatusOr<int64_t> count = ParameterCount(
      kind, static_cast<int>(num_inputs), static_cast<int>(num_classes));
  RETURN_IF_ERROR(model_internal::AsDataLoss(count.status()));
  ASSIGN_OR_RETURN(Eigen::VectorXd w, model_internal::ReadParameters(
                                          in, *count, ModelKindName(kind)));
  std::unique_ptr<LinearModel> model(new LinearModel(
      kind, static_cast<int>(num_inputs), static_cast<int>(num_classes)));
  model->parameters_ = std::move(w);
  return model;
}

namespace {

// Up to this many outputs (classes), products with x run one output column
// at a time (see Logits).
constexpr int kColumnwiseOutputs = 8;

}  // namespace

Eigen::VectorXd LinearModel::PenaltyMask() const {
  Eigen::VectorXd mask = Eigen::VectorXd::Ones(parameters_.size());
  mask.tail(num_outputs_).setZero();
  return mask;
}

Eigen::MatrixXd LinearModel::Logits(
    const Eigen::VectorXd& w,
    const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  const Eigen::Map<const Eigen::MatrixXd> weights(w.data(), num_inputs_,
                                                  num_outputs_);
  const Eigen::Map<const Eigen::RowVectorXd> bias(
      w.data() + Eigen::Index{num_inputs_} * num_outputs_, num_outputs_);
  Eigen::MatrixXd z(x.rows(), num_outputs_);
  if (num_outputs_ <= kColumnwiseOutputs) {
    // One matrix-vector product per output: no packed copy of x (which a
    // matrix-matrix product makes, costing as much as reading x).
    for (int j = 0; j < num_outputs_; ++j) {
      z.col(j).noalias() = x * weights.col(j);
    }
  } else {
    z.noalias() = x * weights;
  }
  z.rowwise() += bias;
  return z;
}

Eigen::MatrixXd LinearModel::Forward(
    const Eigen::VectorXd& w,
    const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  Eigen::MatrixXd z = Logits(w, x);
  model_internal::ApplyHead(head_, &z);
  return z;
}

double LinearModel::WeightedLoss(const Eigen::VectorXd& w,
                                 const Eigen::Ref<const Eigen::MatrixXd>& x,
                                 const Eigen::Ref<const Eigen::MatrixXd>& y,
                                 absl::Span<const double> row_weights,
                                 Eigen::VectorXd* gradient) const {
  const Eigen::MatrixXd z = Logits(w, x);
  if (gradient == nullptr) {
    return model_internal::HeadLoss(head_, z, y, nullptr, row_weights);
  }
  Eigen::MatrixXd dz;
  const double loss = model_internal::HeadLoss(head_, z, y, &dz, row_weights);
  gradient->resize(w.size());
  Eigen::Map<Eigen::MatrixXd> dw(gradient->data(), num_inputs_, num_outputs_);
  if (num_outputs_ <= kColumnwiseOutputs) {
    for (int j = 0; j < num_outputs_; ++j) {
      dw.col(j).noalias() = x.transpose() * dz.col(j);
    }
  } else {
    dw.noalias() = x.transpose() * dz;
  }
  gradient->tail(num_outputs_) = dz.colwise().sum().transpose();
  return loss;
}

void LinearModel::Encode(ByteWriter* out) const {
  out->WriteU32(static_cast<uint32_t>(num_inputs_));
  out->WriteU32(static_cast<uint32_t>(num_classes_));
  out->WriteVector(parameters_);
}

}  // namespace modelserver
