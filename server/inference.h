// File: server/inference.h
// The Open Inference Protocol (KServe V2) core, shared by the gRPC service
// (server/inference_service.h) and the REST endpoints (server/http_server.h):
// how a tabular model maps to tensors, tensor decoding and encoding, and
// inference on decoded tensors. No I/O.
//
// Tensors of a model (docs/api.md, "Open Inference Protocol"):
//   inputs, either form per request:
//     (a) one tensor per raw input column, named as the column, shape
//         [batch] or [batch, 1]: numeric columns take any numeric datatype
//         (BOOL, INT8..INT64, UINT8..UINT64, FP16, BF16, FP32, FP64; NaN =
//         missing) or BYTES holding number texts; categorical columns take
//         BYTES (or numbers, which become their shortest text); date columns
//         take BYTES holding ISO-8601 dates. "" / "NA" / ... are missing.
//         Every value goes through the model's fitted pipeline.
//     (b) models whose inputs are all numeric (and none is called
//         "features"): one numeric tensor "features" of shape [batch, n],
//         the n input columns in the model's input order, row-major; also
//         through the fitted pipeline (imputation, scaling).
//   outputs:
//     regressors:  "predictions"    FP64  [batch]
//     classifiers: "labels"         BYTES [batch]     the predicted class
//                  "label_indices"  INT64 [batch]     index into the classes
//                  "probabilities"  FP64  [batch, k]  classes in metadata order
//
// Thread-safety: pure functions, safe to call concurrently.
#ifndef MODELSERVER_SERVER_INFERENCE_H_
#define MODELSERVER_SERVER_INFERENCE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/artifact/artifact.h"
#include "inference/open_inference_grpc.pb.h"

namespace modelserver::server::oip {

inline constexpr absl::string_view kFeaturesTensor = "features";
inline constexpr absl::string_view kPredictionsTensor = "predictions";
inline constexpr absl::string_view kLabelsTensor = "labels";
inline constexpr absl::string_view kLabelIndicesTensor = "label_indices";
inline constexpr absl::string_view kProbabilitiesTensor = "probabilities";

using Shape = absl::InlinedVector<int64_t, 4>;

// A tensor with its values decoded: `numbers` for every numeric datatype
// (as double), `texts` for BYTES, `ints` for INT64 outputs. Small shapes
// and value lists are stored inline (a single-row request allocates less).
struct Tensor {
  std::string name;
  std::string datatype;
  Shape shape;
  absl::InlinedVector<double, 2> numbers;
  std::vector<std::string> texts;
  std::vector<int64_t> ints;
  // Outputs only: string parameters ("class_labels" of "probabilities": the
  // classes of its columns as a JSON array).
  std::vector<std::pair<std::string, std::string>> parameters;
};

// Name, datatype and shape (-1 = any) of a tensor a model takes or gives.
struct TensorSpec {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
};

// Bytes per element of a fixed-size datatype ("FP32" -> 4); 0 for BYTES;
// INVALID_ARGUMENT for an unknown datatype.
absl::StatusOr<int> ElementSize(absl::string_view datatype);

// The number of elements of `shape`; INVALID_ARGUMENT naming `tensor` for a
// negative dimension or more than 2^40 elements.
absl::StatusOr<int64_t> ElementCount(absl::string_view tensor,
                                     absl::Span<const int64_t> shape);

// "" -> 0 (latest); a decimal version >= 1 -> itself; anything else is
// INVALID_ARGUMENT naming `field`.
absl::StatusOr<int64_t> ParseVersion(absl::string_view field,
                                     absl::string_view version);

// Decodes input `index` of `request` from its contents or, when the request
// has raw_input_contents, from raw_input_contents(index). INVALID_ARGUMENT
// naming the tensor for an unknown datatype, values in the wrong contents
// field, a value count or byte length that does not match the shape, or
// a malformed BYTES encoding.
absl::StatusOr<Tensor> DecodeInput(const inference::ModelInferRequest& request,
                                   int index);
// Every input; also checks that raw_input_contents, when present, has one
// entry per input. (Repeated names are found by Infer.)
absl::StatusOr<std::vector<Tensor>> DecodeInputs(
    const inference::ModelInferRequest& request);

// What ModelMetadata lists. Inputs: the per-column form (a).
std::vector<TensorSpec> InputSpecs(const Artifact& artifact);
std::vector<TensorSpec> OutputSpecs(const Artifact& artifact);
// Whether the model takes form (b), and its shape [-1, n].
bool AcceptsFeaturesTensor(const Artifact& artifact);
// ModelMetadataResponse.properties: kind, target, version, class_labels
// (JSON array), input_columns (JSON array of the column names in order),
// and for form (b) features_tensor / features_shape.
std::vector<std::pair<std::string, std::string>> ModelProperties(
    const Artifact& artifact);

// Runs `artifact` on `inputs` (form (a) or (b), see above) and returns the
// outputs named in `requested` in that order (empty = every output).
// INVALID_ARGUMENT naming the tensor for an unknown, repeated or missing
// input, a shape or datatype the model cannot take, a value that does not
// convert, an unknown or repeated output, and for no rows.
absl::StatusOr<std::vector<Tensor>> Infer(
    const Artifact& artifact, const std::vector<Tensor>& inputs,
    const std::vector<std::string>& requested);

// Appends `outputs` to `response`: in `contents`, or with `raw` in
// raw_output_contents (one entry per output, the request's encoding).
void EncodeOutputs(const std::vector<Tensor>& outputs, bool raw,
                   inference::ModelInferResponse* response);

}  // namespace modelserver::server::oip

#endif  // MODELSERVER_SERVER_INFERENCE_H_
