#include "core/model/mlp.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/rng.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

// In place: z <- act(z).
void Activate(Activation activation, Eigen::MatrixXd* z) {
  switch (activation) {
    case Activation::kRelu:
      z->array() = z->array().max(0.0);
      return;
    case Activation::kTanh:
      z->array() = z->array().tanh();
      return;
    case Activation::kSigmoid:
      model_internal::ApplyHead(model_internal::OutputHead::kSigmoid, z);
      return;
  }
}

// In place: d <- d .* act'(z), written in terms of a = act(z).
void MultiplyByDerivative(Activation activation, const Eigen::MatrixXd& a,
                          Eigen::MatrixXd* d) {
  switch (activation) {
    case Activation::kRelu:
      d->array() = (a.array() > 0.0).select(d->array(), 0.0);
      return;
    case Activation::kTanh:
      d->array() *= 1.0 - a.array().square();
      return;
    case Activation::kSigmoid:
      d->array() *= a.array() * (1.0 - a.array());
      return;
  }
}

bool IsKnownActivation(Activation a) {
  return a == Activation::kRelu || a == Activation::kTanh ||
         a == Activation::kSigmoid;
}

}  // namespace

absl::StatusOr<int64_t> Mlp::ParameterCount(
    ModelKind kind, int num_inputs, const std::vector<int>& hidden_layers,
    int num_classes) {
  if (kind != ModelKind::kMlpRegressor && kind != ModelKind::kMlpClassifier) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Mlp supports mlp_regressor and mlp_classifier, not model kind ",
        static_cast<int>(kind), " (", ModelKindName(kind), ")"));
  }
  RETURN_IF_ERROR(model_internal::ValidateOutput(kind, num_classes));
  if (num_inputs < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_inputs must be at least 1, got ", num_inputs));
  }
  if (hidden_layers.size() > static_cast<size_t>(kMaxHiddenLayers)) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxHiddenLayers,
                                                   " hidden layers, got ",
                                                   hidden_layers.size()));
  }
  int64_t count = 0;
  int64_t fan_in = num_inputs;
  for (size_t l = 0; l <= hidden_layers.size(); ++l) {
    int64_t fan_out;
    if (l < hidden_layers.size()) {
      fan_out = hidden_layers[l];
      if (fan_out < 1 || fan_out > kMaxLayerSize) {
        return absl::InvalidArgumentError(
            absl::StrCat("hidden layer ", l, " size must be in [1, ",
                         kMaxLayerSize, "], got ", fan_out));
      }
    } else {
      fan_out = model_internal::NumOutputs(kind, num_classes);
    }
    // fan_in, fan_out < 2^31 and count <= 2^28 here: no overflow.
    count += (fan_in + 1) * fan_out;
    if (count > kMaxParameters) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the network would have more than ", kMaxParameters, " parameters (",
          num_inputs, " inputs); use smaller hidden layers"));
    }
    fan_in = fan_out;
  }
  return count;
}

Mlp::Mlp(ModelKind kind, int num_inputs, std::vector<int> hidden_layers,
         Activation activation, int num_classes)
    : Model(num_inputs, model_internal::NumOutputs(kind, num_classes)),
      kind_(kind),
      hidden_layers_(std::move(hidden_layers)),
      activation_(activation),
      num_classes_(num_classes),
      head_(model_internal::HeadFor(kind, num_classes)) {
  Eigen::Index offset = 0;
  int fan_in = num_inputs;
  for (size_t l = 0; l <= hidden_layers_.size(); ++l) {
    const int fan_out =
        l < hidden_layers_.size() ? hidden_layers_[l] : num_outputs_;
    Layer layer;
    layer.fan_in = fan_in;
    layer.fan_out = fan_out;
    layer.weight_offset = offset;
    offset += Eigen::Index{fan_in} * fan_out;
    layer.bias_offset = offset;
    offset += fan_out;
    layers_.push_back(layer);
    fan_in = fan_out;
  }
}

absl::StatusOr<std::unique_ptr<Mlp>> Mlp::Create(ModelKind kind, int num_inputs,
                                                 std::vector<int> hidden_layers,
                                                 Activation activation,
                                                 int num_classes,
                                                 uint64_t seed) {
  if (!IsKnownActivation(activation)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown activation ", static_cast<int>(activation),
                     ": expected relu, tanh or sigmoid"));
  }
  ASSIGN_OR_RETURN(
      const int64_t count,
      ParameterCount(kind, num_inputs, hidden_layers, num_classes));
  std::unique_ptr<Mlp> model(new Mlp(kind, num_inputs, std::move(hidden_layers),
                                     activation, num_classes));
  Eigen::VectorXd& w = model->parameters_;
  w = Eigen::VectorXd::Zero(count);
  Rng rng(seed);
  for (size_t l = 0; l < model->layers_.size(); ++l) {
    const Layer& layer = model->layers_[l];
    // Glorot-uniform weights and biases, as scikit-learn initialises its
    // MLPs (factor 2 instead of 6 for the sigmoid).
    const double factor = activation == Activation::kSigmoid ? 2.0 : 6.0;
    const double limit = std::sqrt(factor / (layer.fan_in + layer.fan_out));
    const Eigen::Index n = Eigen::Index{layer.fan_in} * layer.fan_out;
    for (Eigen::Index i = 0; i < n; ++i) {
      w[layer.weight_offset + i] = limit * (2.0 * rng.Uniform() - 1.0);
    }
    for (Eigen::Index i = 0; i < layer.fan_out; ++i) {
      w[layer.bias_offset + i] = limit * (2.0 * rng.Uniform() - 1.0);
    }
  }
  return model;
}

absl::StatusOr<std::unique_ptr<Mlp>> Mlp::Decode(ModelKind kind,
                                                 ByteReader* in) {
  ASSIGN_OR_RETURN(const uint32_t num_inputs, in->ReadU32("mlp num_inputs"));
  ASSIGN_OR_RETURN(const uint32_t num_classes, in->ReadU32("mlp num_classes"));
  ASSIGN_OR_RETURN(const uint8_t activation, in->ReadU8("mlp activation"));
  ASSIGN_OR_RETURN(const uint32_t num_hidden,
                   in->ReadU32("mlp hidden layer count"));
  constexpr uint32_t kIntMax = std::numeric_limits<int>::max();
  if (num_inputs > kIntMax || num_classes > kIntMax) {
    return absl::DataLossError(absl::StrCat(
        "corrupted model: implausible mlp sizes num_inputs=", num_inputs,
        " num_classes=", num_classes));
  }
  if (!IsKnownActivation(static_cast<Activation>(activation))) {
    return absl::DataLossError(absl::StrCat(
        "corrupted model: unknown mlp activation ", int{activation}));
  }
  if (num_hidden > static_cast<uint32_t>(kMaxHiddenLayers)) {
    return absl::DataLossError(
        absl::StrCat("corrupted model: mlp hidden layer count ", num_hidden,
                     " exceeds the limit of ", kMaxHiddenLayers));
  }
  std::vector<int> hidden;
  hidden.reserve(num_hidden);
  for (uint32_t l = 0; l < num_hidden; ++l) {
    ASSIGN_OR_RETURN(const uint32_t size, in->ReadU32("mlp hidden layer size"));
    // Larger values fail the ParameterCount check below.
    hidden.push_back(static_cast<int>(std::min<uint32_t>(size, kIntMax)));
  }
  absl::StatusOr<int64_t> count =
      ParameterCount(kind, static_cast<int>(num_inputs), hidden,
                     static_cast<int>(num_classes));
  RETURN_IF_ERROR(model_internal::AsDataLoss(count.status()));
  ASSIGN_OR_RETURN(Eigen::VectorXd w, model_internal::ReadParameters(
                                          in, *count, ModelKindName(kind)));
  std::unique_ptr<Mlp> model(new Mlp(
      kind, static_cast<int>(num_inputs), std::move(hidden),
      static_cast<Activation>(activation), static_cast<int>(num_classes)));
  model->parameters_ = std::move(w);
  return model;
}

Eigen::VectorXd Mlp::PenaltyMask() const {
  Eigen::VectorXd mask = Eigen::VectorXd::Zero(parameters_.size());
  for (const Layer& layer : layers_) {
    mask.segment(layer.weight_offset,
                 Eigen::Index{layer.fan_in} * layer.fan_out)
        .setOnes();
  }
  return mask;
}

Eigen::MatrixXd Mlp::Logits(const Eigen::VectorXd& w,
                            const Eigen::Ref<const Eigen::MatrixXd>& x,
                            std::vector<Eigen::MatrixXd>* hidden) const {
  Eigen::MatrixXd previous;  // last hidden activations when hidden == null
  if (hidden != nullptr) {
    hidden->clear();
    hidden->reserve(hidden_layers_.size());
  }
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    const Eigen::Map<const Eigen::MatrixXd> weights(
        w.data() + layer.weight_offset, layer.fan_in, layer.fan_out);
    const Eigen::Map<const Eigen::RowVectorXd> bias(
        w.data() + layer.bias_offset, layer.fan_out);
    // z = bias + input * W: starting from the bias spares GEMM's zero fill
    // and a second pass to add it.
    Eigen::MatrixXd z = bias.replicate(x.rows(), 1);
    if (l == 0) {
      z.noalias() += x * weights;
    } else if (hidden != nullptr) {
      z.noalias() += hidden->back() * weights;
    } else {
      z.noalias() += previous * weights;
    }
    if (l + 1 == layers_.size()) return z;
    Activate(activation_, &z);
    if (hidden != nullptr) {
      hidden->push_back(std::move(z));
    } else {
      previous = std::move(z);
    }
  }
  return Eigen::MatrixXd();  // unreachable: layers_ is never empty
}

Eigen::MatrixXd Mlp::Forward(const Eigen::VectorXd& w,
                             const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  // Large batches go through in blocks of rows: each block's activations
  // (kBlock x widest layer) stay in cache and come from malloc's free lists,
  // where whole-batch ones would be fresh mmap'ed (zeroed, faulted-in) pages
  // on every call. Rows are independent, so the result is the same.
  constexpr Eigen::Index kBlock = 128;
  if (x.rows() <= kBlock) {
    Eigen::MatrixXd z = Logits(w, x, nullptr);
    model_internal::ApplyHead(head_, &z);
    return z;
  }
  Eigen::MatrixXd out(x.rows(), layers_.back().fan_out);
  for (Eigen::Index r = 0; r < x.rows(); r += kBlock) {
    const Eigen::Index n = std::min(kBlock, x.rows() - r);
    Eigen::MatrixXd z = Logits(w, x.middleRows(r, n), nullptr);
    model_internal::ApplyHead(head_, &z);
    out.middleRows(r, n) = z;
  }
  return out;
}

double Mlp::WeightedLoss(const Eigen::VectorXd& w,
                         const Eigen::Ref<const Eigen::MatrixXd>& x,
                         const Eigen::Ref<const Eigen::MatrixXd>& y,
                         absl::Span<const double> row_weights,
                         Eigen::VectorXd* gradient) const {
  if (gradient == nullptr) {
    return model_internal::HeadLoss(head_, Logits(w, x, nullptr), y, nullptr,
                                    row_weights);
  }
  std::vector<Eigen::MatrixXd> hidden;
  const Eigen::MatrixXd z = Logits(w, x, &hidden);
  Eigen::MatrixXd dz;  // d loss / d (pre-activation of the current layer)
  const double loss =
      model_internal::HeadLoss(head_, z, y, &dz, row_weights);
  gradient->resize(w.size());
  for (size_t l = layers_.size(); l-- > 0;) {
    const Layer& layer = layers_[l];
    Eigen::Map<Eigen::MatrixXd> dweights(gradient->data() + layer.weight_offset,
                                         layer.fan_in, layer.fan_out);
    if (l == 0) {
      dweights.noalias() = x.transpose() * dz;
    } else {
      dweights.noalias() = hidden[l - 1].transpose() * dz;
    }
    gradient->segment(layer.bias_offset, layer.fan_out) =
        dz.colwise().sum().transpose();
    if (l == 0) break;
    const Eigen::Map<const Eigen::MatrixXd> weights(
        w.data() + layer.weight_offset, layer.fan_in, layer.fan_out);
    Eigen::MatrixXd da(dz.rows(), layer.fan_in);
    da.noalias() = dz * weights.transpose();
    MultiplyByDerivative(activation_, hidden[l - 1], &da);
    dz = std::move(da);
  }
  return loss;
}

void Mlp::Encode(ByteWriter* out) const {
  out->WriteU32(static_cast<uint32_t>(num_inputs_));
  out->WriteU32(static_cast<uint32_t>(num_classes_));
  out->WriteU8(static_cast<uint8_t>(activation_));
  out->WriteU32(static_cast<uint32_t>(hidden_layers_.size()));
  for (int size : hidden_layers_) out->WriteU32(static_cast<uint32_t>(size));
  out->WriteVector(parameters_);
}

}  // namespace modelserver
