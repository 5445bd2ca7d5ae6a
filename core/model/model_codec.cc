#include "core/model/model_codec.h"

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model/linear_model.h"
#include "core/model/mlp.h"
#include "core/util/status_macros.h"

namespace modelserver {

void EncodeModel(const Model& m, ByteWriter* out) {
  out->WriteU8(static_cast<uint8_t>(m.kind()));
  m.Encode(out);
}

absl::StatusOr<std::unique_ptr<Model>> DecodeModel(ByteReader* in) {
  ASSIGN_OR_RETURN(const uint8_t byte, in->ReadU8("model kind"));
  const ModelKind kind = static_cast<ModelKind>(byte);
  switch (kind) {
    case ModelKind::kLinearRegression:
    case ModelKind::kLogisticRegression: {
      ASSIGN_OR_RETURN(std::unique_ptr<LinearModel> model,
                       LinearModel::Decode(kind, in));
      return std::unique_ptr<Model>(std::move(model));
    }
    case ModelKind::kMlpRegressor:
    case ModelKind::kMlpClassifier: {
      ASSIGN_OR_RETURN(std::unique_ptr<Mlp> model, Mlp::Decode(kind, in));
      return std::unique_ptr<Model>(std::move(model));
    }
  }
  return absl::DataLossError(absl::StrCat(
      "corrupted model: unknown model kind byte ", int{byte},
      " (expected 1 linear_regression, 2 logistic_regression, "
      "3 mlp_regressor or 4 mlp_classifier; was the artifact written by a "
      "newer version?)"));
}

}  // namespace modelserver
