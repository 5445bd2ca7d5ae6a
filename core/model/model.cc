#include "core/model/model.h"

#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace modelserver {

absl::string_view ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinearRegression:
      return "linear_regression";
    case ModelKind::kLogisticRegression:
      return "logistic_regression";
    case ModelKind::kMlpRegressor:
      return "mlp_regressor";
    case ModelKind::kMlpClassifier:
      return "mlp_classifier";
  }
  return "unknown";
}

absl::StatusOr<ModelKind> ParseModelKind(absl::string_view name) {
  for (ModelKind kind :
       {ModelKind::kLinearRegression, ModelKind::kLogisticRegression,
        ModelKind::kMlpRegressor, ModelKind::kMlpClassifier}) {
    if (name == ModelKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model kind '", name,
                   "': expected one of linear_regression, logistic_regression, "
                   "mlp_regressor, mlp_classifier"));
}

bool IsClassifier(ModelKind kind) {
  return kind == ModelKind::kLogisticRegression ||
         kind == ModelKind::kMlpClassifier;
}

Eigen::MatrixXd ClassProbabilities(const Eigen::MatrixXd& outputs) {
  if (outputs.cols() != 1) return outputs;
  Eigen::MatrixXd p(outputs.rows(), 2);
  p.col(0) = 1.0 - outputs.col(0).array();
  p.col(1) = outputs.col(0);
  return p;
}

absl::string_view ActivationName(Activation a) {
  switch (a) {
    case Activation::kRelu:
      return "relu";
    case Activation::kTanh:
      return "tanh";
    case Activation::kSigmoid:
      return "sigmoid";
  }
  return "unknown";
}

absl::StatusOr<Activation> ParseActivation(absl::string_view name) {
  for (Activation a :
       {Activation::kRelu, Activation::kTanh, Activation::kSigmoid}) {
    if (name == ActivationName(a)) return a;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown activation '", name, "': expected one of relu, tanh, sigmoid"));
}

namespace model_internal {
namespace {

bool IsKnownKind(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinearRegression:
    case ModelKind::kLogisticRegression:
    case ModelKind::kMlpRegressor:
    case ModelKind::kMlpClassifier:
      return true;
  }
  return false;
}

}  // namespace

absl::Status ValidateOutput(ModelKind kind, int num_classes) {
  if (!IsKnownKind(kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown model kind ", static_cast<int>(kind)));
  }
  if (IsClassifier(kind)) {
    if (num_classes < 2 || num_classes > kMaxClasses) {
      return absl::InvalidArgumentError(
          absl::StrCat("num_classes must be in [2, ", kMaxClasses, "] for ",
                       ModelKindName(kind), ", got ", num_classes));
    }
  } else if (num_classes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_classes must be 0 for ", ModelKindName(kind),
                     " (a regressor), got ", num_classes));
  }
  return absl::OkStatus();
}

OutputHead HeadFor(ModelKind kind, int num_classes) {
  if (!IsClassifier(kind)) return OutputHead::kIdentity;
  return num_classes == 2 ? OutputHead::kSigmoid : OutputHead::kSoftmax;
}

int NumOutputs(ModelKind kind, int num_classes) {
  return HeadFor(kind, num_classes) == OutputHead::kSoftmax ? num_classes : 1;
}

namespace {

// Stable logistic function, elementwise: never evaluates exp of a positive
// number.
Eigen::ArrayXXd Sigmoid(const Eigen::ArrayXXd& z) {
  const Eigen::ArrayXXd e = (-z.abs()).exp();
  return (z >= 0.0).select(1.0 / (1.0 + e), e / (1.0 + e));
}

}  // namespace

void ApplyHead(OutputHead head, Eigen::MatrixXd* z) {
  switch (head) {
    case OutputHead::kIdentity:
      return;
    case OutputHead::kSigmoid:
      z->array() = Sigmoid(z->array());
      return;
    case OutputHead::kSoftmax: {
      const Eigen::VectorXd m = z->rowwise().maxCoeff();
      z->colwise() -= m;
      z->array() = z->array().exp();
      const Eigen::ArrayXd s = z->rowwise().sum().array();
      z->array().colwise() /= s;
      return;
    }
  }
}

namespace {

// The per-row losses of `head` (n x 1) and, when `dz` is not null,
// d(loss_i)/d(z) per row (unscaled: not divided by n).
Eigen::ArrayXd RowLosses(OutputHead head, const Eigen::MatrixXd& z,
                         const Eigen::Ref<const Eigen::MatrixXd>& y,
                         Eigen::ArrayXXd* dz) {
  switch (head) {
    case OutputHead::kIdentity: {
      const Eigen::ArrayXXd diff = z.array() - y.array();
      if (dz != nullptr) *dz = 2.0 * diff;
      return diff.square().rowwise().sum();
    }
    case OutputHead::kSigmoid: {
      const Eigen::ArrayXXd a = z.array();
      if (dz != nullptr) *dz = Sigmoid(a) - y.array();
      return (a.max(0.0) - a * y.array() + (-a.abs()).exp().log1p())
          .rowwise()
          .sum();
    }
    case OutputHead::kSoftmax: {
      const Eigen::ArrayXd m = z.rowwise().maxCoeff().array();
      const Eigen::ArrayXXd e = (z.array().colwise() - m).exp();
      const Eigen::ArrayXd s = e.rowwise().sum();
      const Eigen::ArrayXd lse = m + s.log();
      const Eigen::ArrayXd ysum = y.array().rowwise().sum();
      if (dz != nullptr) {
        Eigen::ArrayXXd p = e.colwise() / s;
        p.colwise() *= ysum;
        *dz = p - y.array();
      }
      return ysum * lse - (y.array() * z.array()).rowwise().sum();
    }
  }
  return Eigen::ArrayXd::Zero(z.rows());
}

}  // namespace

double HeadLoss(OutputHead head, const Eigen::MatrixXd& z,
                const Eigen::Ref<const Eigen::MatrixXd>& y,
                Eigen::MatrixXd* dz, absl::Span<const double> row_weights) {
  const double n = static_cast<double>(z.rows());
  if (!row_weights.empty()) {
    const Eigen::Map<const Eigen::ArrayXd> s(
        row_weights.data(), static_cast<Eigen::Index>(row_weights.size()));
    Eigen::ArrayXXd d;
    const Eigen::ArrayXd losses =
        RowLosses(head, z, y, dz != nullptr ? &d : nullptr);
    if (dz != nullptr) *dz = ((d.colwise() * s) / n).matrix();
    return (losses * s).sum() / n;
  }
  // Unweighted: the original expressions, so that results stay bit-identical.
  switch (head) {
    case OutputHead::kIdentity: {
      const Eigen::ArrayXXd diff = z.array() - y.array();
      if (dz != nullptr) *dz = ((2.0 / n) * diff).matrix();
      return diff.square().sum() / n;
    }
    case OutputHead::kSigmoid: {
      const Eigen::ArrayXXd a = z.array();
      const double loss =
          (a.max(0.0) - a * y.array() + (-a.abs()).exp().log1p()).sum() / n;
      if (dz != nullptr) *dz = ((Sigmoid(a) - y.array()) / n).matrix();
      return loss;
    }
    case OutputHead::kSoftmax: {
      // -sum_c y_c log p_c = sum_c y_c (lse - z_c), lse = log sum_c exp(z_c).
      const Eigen::ArrayXd m = z.rowwise().maxCoeff().array();
      const Eigen::ArrayXXd e = (z.array().colwise() - m).exp();
      const Eigen::ArrayXd s = e.rowwise().sum();
      const Eigen::ArrayXd lse = m + s.log();
      const Eigen::ArrayXd ysum = y.array().rowwise().sum();
      const double loss =
          ((ysum * lse).sum() - (y.array() * z.array()).sum()) / n;
      if (dz != nullptr) {
        Eigen::ArrayXXd p = e.colwise() / s;
        p.colwise() *= ysum;
        *dz = ((p - y.array()) / n).matrix();
      }
      return loss;
    }
  }
  return 0.0;
}

absl::StatusOr<Eigen::VectorXd> ReadParameters(ByteReader* in, int64_t expected,
                                               absl::string_view model_name) {
  const std::string what = absl::StrCat(model_name, " parameters");
  ASSIGN_OR_RETURN(Eigen::VectorXd w, in->ReadVector(what));
  if (w.size() != expected) {
    return absl::DataLossError(absl::StrCat(
        "corrupted model: ", model_name, " needs ", expected,
        " parameters for its sizes but ", w.size(), " are stored"));
  }
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    if (!std::isfinite(w[i])) {
      return absl::DataLossError(absl::StrCat("corrupted model: ", model_name,
                                              " parameter ", i,
                                              " is not finite (", w[i], ")"));
    }
  }
  return w;
}

absl::Status AsDataLoss(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::DataLossError(
      absl::StrCat("corrupted model: ", status.message()));
}

}  // namespace model_internal

}  // namespace modelserver
