#include "server/inference.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/model/model.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "server/proto_convert.h"

namespace modelserver::server::oip {
namespace {

static_assert(std::endian::native == std::endian::little,
              "raw tensor contents are little-endian; this decoder copies "
              "them as they are");

using InputTensor = inference::ModelInferRequest::InferInputTensor;

absl::Status TensorError(absl::string_view tensor, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("input '", tensor, "': ", what));
}

std::string ShapeText(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

double HalfToDouble(uint16_t h) {
  const double sign = (h & 0x8000) != 0 ? -1.0 : 1.0;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) {
    return mantissa == 0 ? sign * std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::quiet_NaN();
  }
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

double Bf16ToDouble(uint16_t b) {
  return static_cast<double>(std::bit_cast<float>(uint32_t{b} << 16));
}

// The datatypes, parsed once per tensor.
enum class DataType {
  kBool, kInt8, kInt16, kInt32, kInt64, kUint8, kUint16, kUint32, kUint64,
  kFp16, kBf16, kFp32, kFp64, kBytes
};

struct DataTypeInfo {
  absl::string_view name;
  DataType type;
  int size;              // bytes per element; 0 for BYTES
  const char* contents;  // the InferTensorContents field; null: raw only
};

// Most used first.
constexpr DataTypeInfo kDataTypes[] = {
    {"FP64", DataType::kFp64, 8, "fp64_contents"},
    {"FP32", DataType::kFp32, 4, "fp32_contents"},
    {"INT64", DataType::kInt64, 8, "int64_contents"},
    {"INT32", DataType::kInt32, 4, "int_contents"},
    {"BYTES", DataType::kBytes, 0, "bytes_contents"},
    {"BOOL", DataType::kBool, 1, "bool_contents"},
    {"INT8", DataType::kInt8, 1, "int_contents"},
    {"INT16", DataType::kInt16, 2, "int_contents"},
    {"UINT8", DataType::kUint8, 1, "uint_contents"},
    {"UINT16", DataType::kUint16, 2, "uint_contents"},
    {"UINT32", DataType::kUint32, 4, "uint_contents"},
    {"UINT64", DataType::kUint64, 8, "uint64_contents"},
    {"FP16", DataType::kFp16, 2, nullptr},
    {"BF16", DataType::kBf16, 2, nullptr}};

const DataTypeInfo* FindDataType(absl::string_view name) {
  for (const DataTypeInfo& info : kDataTypes) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

// Converts little-endian elements of T to doubles (a plain copy for FP64).
template <typename T>
void AppendRaw(absl::string_view bytes, absl::InlinedVector<double, 2>* out) {
  const size_t n = bytes.size() / sizeof(T);
  out->resize(n);
  double* dst = out->data();
  if constexpr (std::is_same_v<T, double>) {
    std::memcpy(dst, bytes.data(), n * sizeof(double));
  } else {
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
      dst[i] = static_cast<double>(v);
    }
  }
}

absl::Status DecodeRaw(const DataTypeInfo& type, absl::string_view bytes,
                       int64_t count, Tensor* t) {
  if (type.type == DataType::kBytes) {
    // Each element takes at least its 4-byte length: never reserve more
    // than the bytes can hold, whatever the shape claims.
    t->texts.reserve(static_cast<size_t>(
        std::min<int64_t>(count, static_cast<int64_t>(bytes.size() / 4))));
    size_t pos = 0;
    while (pos < bytes.size()) {
      if (bytes.size() - pos < 4) {
        return TensorError(t->name, absl::StrCat(
            "raw BYTES contents end inside the 4-byte length of element ",
            t->texts.size()));
      }
      uint32_t length;
      std::memcpy(&length, bytes.data() + pos, 4);
      pos += 4;
      if (bytes.size() - pos < length) {
        return TensorError(t->name, absl::StrCat(
            "raw BYTES element ", t->texts.size(), " has length ", length,
            " but only ", bytes.size() - pos, " bytes remain"));
      }
      if (static_cast<int64_t>(t->texts.size()) == count) {
        return TensorError(t->name, absl::StrCat(
            "raw BYTES contents hold more than the ", count,
            " elements of shape ", ShapeText(t->shape)));
      }
      t->texts.emplace_back(bytes.substr(pos, length));
      pos += length;
    }
    if (static_cast<int64_t>(t->texts.size()) != count) {
      return TensorError(t->name, absl::StrCat(
          "raw BYTES contents hold ", t->texts.size(), " elements; shape ",
          ShapeText(t->shape), " needs ", count));
    }
    return absl::OkStatus();
  }
  const int size = type.size;
  if (static_cast<int64_t>(bytes.size()) != count * size) {
    return TensorError(t->name, absl::StrCat(
        "raw contents have ", bytes.size(), " bytes; shape ",
        ShapeText(t->shape), " of ", type.name, " needs ", count * size));
  }
  switch (type.type) {
    case DataType::kBool:
      t->numbers.reserve(static_cast<size_t>(count));
      for (char c : bytes) t->numbers.push_back(c != 0 ? 1.0 : 0.0);
      break;
    case DataType::kInt8: AppendRaw<int8_t>(bytes, &t->numbers); break;
    case DataType::kInt16: AppendRaw<int16_t>(bytes, &t->numbers); break;
    case DataType::kInt32: AppendRaw<int32_t>(bytes, &t->numbers); break;
    case DataType::kInt64: AppendRaw<int64_t>(bytes, &t->numbers); break;
    case DataType::kUint8: AppendRaw<uint8_t>(bytes, &t->numbers); break;
    case DataType::kUint16: AppendRaw<uint16_t>(bytes, &t->numbers); break;
    case DataType::kUint32: AppendRaw<uint32_t>(bytes, &t->numbers); break;
    case DataType::kUint64: AppendRaw<uint64_t>(bytes, &t->numbers); break;
    case DataType::kFp32: AppendRaw<float>(bytes, &t->numbers); break;
    case DataType::kFp64: AppendRaw<double>(bytes, &t->numbers); break;
    case DataType::kFp16:
    case DataType::kBf16: {
      const bool half = type.type == DataType::kFp16;
      t->numbers.reserve(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        uint16_t v;
        std::memcpy(&v, bytes.data() + 2 * i, 2);
        t->numbers.push_back(half ? HalfToDouble(v) : Bf16ToDouble(v));
      }
      break;
    }
    case DataType::kBytes:
      break;  // handled above
  }
  return absl::OkStatus();
}

// The fields of an InferTensorContents: name and number of values.
struct ContentsField {
  const char* name;
  int size;
};

std::array<ContentsField, 8> FieldSizes(
    const inference::InferTensorContents& c) {
  return {{{"bool_contents", c.bool_contents_size()},
          {"int_contents", c.int_contents_size()},
          {"int64_contents", c.int64_contents_size()},
          {"uint_contents", c.uint_contents_size()},
          {"uint64_contents", c.uint64_contents_size()},
          {"fp32_contents", c.fp32_contents_size()},
          {"fp64_contents", c.fp64_contents_size()},
          {"bytes_contents", c.bytes_contents_size()}}};
}

absl::Status DecodeContents(const InputTensor& in, const DataTypeInfo& type,
                            int64_t count, Tensor* t) {
  if (type.contents == nullptr) {
    return TensorError(in.name(), absl::StrCat(
        "datatype ", type.name,
        " has no contents field; send it in raw_input_contents"));
  }
  const inference::InferTensorContents& c = in.contents();
  bool any = false;
  for (const ContentsField& f : FieldSizes(c)) {
    if (f.size == 0) continue;
    any = true;
    if (std::strcmp(f.name, type.contents) != 0) {
      return TensorError(in.name(), absl::StrCat(
          "datatype ", type.name, " takes its values in contents.",
          type.contents, ", got ", f.size, " in contents.", f.name));
    }
    if (f.size != count) {
      return TensorError(in.name(), absl::StrCat(
          "contents.", type.contents, " holds ", f.size, " values; shape ",
          ShapeText(t->shape), " needs ", count));
    }
  }
  if (count > 0 && !any) {
    return TensorError(in.name(), absl::StrCat(
        "no values: contents.", type.contents, " is empty and the request "
        "has no raw_input_contents; shape ", ShapeText(t->shape), " needs ",
        count));
  }
  auto take = [&](const auto& values) {
    t->numbers.assign(values.begin(), values.end());
  };
  switch (type.type) {
    case DataType::kBytes:
      t->texts.assign(c.bytes_contents().begin(), c.bytes_contents().end());
      break;
    case DataType::kBool: take(c.bool_contents()); break;
    case DataType::kInt64: take(c.int64_contents()); break;
    case DataType::kUint64: take(c.uint64_contents()); break;
    case DataType::kFp32: take(c.fp32_contents()); break;
    case DataType::kFp64: take(c.fp64_contents()); break;
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32: take(c.uint_contents()); break;
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32: take(c.int_contents()); break;
    case DataType::kFp16:
    case DataType::kBf16: break;  // no contents field (refused above)
  }
  return absl::OkStatus();
}

std::string JsonArray(const std::vector<std::string>& values) {
  return nlohmann::json(values).dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool HasColumnNamed(const Artifact& artifact, absl::string_view name) {
  return artifact.input_types().contains(name);
}

std::string DatatypeOf(ColumnType type) {
  return type == ColumnType::kNumeric ? "FP64" : "BYTES";
}

std::string InputsText(const Artifact& artifact) {
  std::vector<std::string> parts;
  for (const InputColumn& input : artifact.input_schema()) {
    parts.push_back(absl::StrCat(input.name, " (", DatatypeOf(input.type),
                                 ")"));
  }
  std::string text = absl::StrJoin(parts, ", ");
  if (AcceptsFeaturesTensor(artifact)) {
    absl::StrAppend(&text, "; or one tensor '", kFeaturesTensor, "' [batch, ",
                    artifact.input_schema().size(), "]");
  }
  return text;
}

// Applies input i's fitted transform to `value`; infinities are refused.
absl::Status CheckFinite(const Tensor& t, size_t element, double value) {
  if (!std::isinf(value)) return absl::OkStatus();
  return TensorError(t.name, absl::StrCat("element ", element,
                                          " is infinite; use NaN for missing"));
}

// Form (b), or form (a) with numeric tensors only on an all-numeric model:
// features straight from the values. `column_of[i]` is the tensor of input
// i; `stride`/`offset` locate element (r, i) at r * stride + offset[i].
absl::StatusOr<Eigen::MatrixXd> NumericFeatures(
    const Artifact& artifact, const std::vector<const Tensor*>& column_of,
    int64_t rows, int64_t stride, const std::vector<int64_t>& offset) {
  const Pipeline& pipeline = artifact.pipeline();
  const size_t n = artifact.input_schema().size();
  Eigen::MatrixXd x(rows, static_cast<Eigen::Index>(n));
  for (size_t i = 0; i < n; ++i) {
    const NumericTransform& transform =
        pipeline.numeric_transforms(static_cast<int>(i))[0];
    const Tensor& t = *column_of[i];
    for (int64_t r = 0; r < rows; ++r) {
      const size_t element = static_cast<size_t>(r * stride + offset[i]);
      const double v = t.numbers[element];
      RETURN_IF_ERROR(CheckFinite(t, element, v));
      x(r, static_cast<Eigen::Index>(i)) = transform.Apply(v);
    }
  }
  return x;
}

absl::StatusOr<Predictions> RunFeaturesForm(const Artifact& artifact,
                                            const Tensor& t) {
  const size_t n = artifact.input_schema().size();
  if (!artifact.numeric_inputs_only()) {
    std::vector<std::string> other;
    for (const InputColumn& input : artifact.input_schema()) {
      if (input.type != ColumnType::kNumeric) other.push_back(input.name);
    }
    return TensorError(t.name, absl::StrCat(
        "this model has non-numeric inputs (", absl::StrJoin(other, ", "),
        "); send one tensor per column instead"));
  }
  if (!t.texts.empty() || t.datatype == "BYTES") {
    return TensorError(t.name, "datatype BYTES; expected a numeric datatype "
                               "(FP32, FP64, INT32, ...)");
  }
  if (t.shape.size() != 2 || t.shape[1] != static_cast<int64_t>(n)) {
    return TensorError(t.name, absl::StrCat(
        "shape ", ShapeText(t.shape), "; expected [batch, ", n, "]"));
  }
  if (t.shape[0] == 0) return TensorError(t.name, "no rows (batch 0)");
  std::vector<const Tensor*> column_of(n, &t);
  std::vector<int64_t> offset(n);
  for (size_t i = 0; i < n; ++i) offset[i] = static_cast<int64_t>(i);
  ASSIGN_OR_RETURN(Eigen::MatrixXd x,
                   NumericFeatures(artifact, column_of, t.shape[0],
                                   static_cast<int64_t>(n), offset));
  return artifact.PredictFeatures(x);
}

absl::StatusOr<Predictions> RunColumnsForm(const Artifact& artifact,
                                           const std::vector<Tensor>& inputs) {
  const std::vector<InputColumn>& schema = artifact.input_schema();
  // The tensor of each input column. Clients mostly send the columns in
  // the model's order: tensor k is tried against column k first, then
  // the columns are searched (through a map for wide models).
  std::vector<const Tensor*> column_of(schema.size(), nullptr);
  absl::flat_hash_map<absl::string_view, size_t> position;
  auto index_of = [&](size_t k, const std::string& name) -> int64_t {
    if (k < schema.size() && schema[k].name == name) return k;
    if (schema.size() < 32) {
      for (size_t i = 0; i < schema.size(); ++i) {
        if (schema[i].name == name) return i;
      }
      return -1;
    }
    if (position.empty()) {
      for (size_t i = 0; i < schema.size(); ++i) position[schema[i].name] = i;
    }
    auto it = position.find(name);
    return it == position.end() ? -1 : static_cast<int64_t>(it->second);
  };
  int64_t rows = -1;
  const Tensor* first = nullptr;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& t = inputs[k];
    const int64_t i = index_of(k, t.name);
    if (i < 0) {
      return TensorError(t.name, absl::StrCat(
          "not an input of this model; it takes: ", InputsText(artifact)));
    }
    if (column_of[i] != nullptr) return TensorError(t.name, "given twice");
    column_of[i] = &t;
    const bool column_shape =
        t.shape.size() == 1 || (t.shape.size() == 2 && t.shape[1] == 1);
    if (!column_shape) {
      return TensorError(t.name, absl::StrCat(
          "shape ", ShapeText(t.shape), "; expected [batch] or [batch, 1]"));
    }
    if (rows < 0) {
      rows = t.shape[0];
      first = &t;
    } else if (t.shape[0] != rows) {
      return TensorError(t.name, absl::StrCat(
          "batch ", t.shape[0], " differs from input '", first->name,
          "' (batch ", rows, ")"));
    }
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < schema.size(); ++i) {
    if (column_of[i] == nullptr) missing.push_back(schema[i].name);
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "missing input tensor", missing.size() > 1 ? "s " : " ",
        absl::StrJoin(missing, ", "), "; this model takes: ",
        InputsText(artifact)));
  }
  if (rows == 0) {
    return TensorError(first->name, "no rows (batch 0)");
  }
  bool all_numbers = artifact.numeric_inputs_only();
  for (const Tensor& t : inputs) all_numbers = all_numbers && t.texts.empty() &&
                                               t.datatype != "BYTES";
  if (all_numbers) {
    ASSIGN_OR_RETURN(Eigen::MatrixXd x,
                     NumericFeatures(artifact, column_of, rows, 1,
                                     std::vector<int64_t>(schema.size(), 0)));
    return artifact.PredictFeatures(x);
  }
  // Anything with text goes through the same conversion as Predict's
  // `columns` input: one ColumnarRows column per input tensor.
  v1::ColumnarRows columns;
  for (size_t i = 0; i < schema.size(); ++i) {
    const InputColumn& input = schema[i];
    const Tensor& t = *column_of[i];
    v1::ColumnarRows::Column* c = columns.add_columns();
    c->set_name(t.name);
    if (t.datatype == "BYTES") {
      c->mutable_texts()->Add(t.texts.begin(), t.texts.end());
    } else {
      if (input.type == ColumnType::kDate) {
        return TensorError(t.name, absl::StrCat(
            "datatype ", t.datatype,
            " for a date column; send BYTES holding ISO-8601 dates"));
      }
      for (size_t e = 0; e < t.numbers.size(); ++e) {
        RETURN_IF_ERROR(CheckFinite(t, e, t.numbers[e]));
      }
      c->mutable_numbers()->Add(t.numbers.begin(), t.numbers.end());
    }
  }
  ASSIGN_OR_RETURN(Table table,
                   TableFromColumns(columns, artifact.input_types()));
  return artifact.Predict(table);
}

Tensor MakeOutput(absl::string_view name, absl::string_view datatype,
                  Shape shape) {
  Tensor t;
  t.name = std::string(name);
  t.datatype = std::string(datatype);
  t.shape = std::move(shape);
  return t;
}

}  // namespace

absl::StatusOr<int> ElementSize(absl::string_view datatype) {
  const DataTypeInfo* info = FindDataType(datatype);
  if (info == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown datatype '", datatype,
        "'; expected BOOL, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, "
        "UINT64, FP16, BF16, FP32, FP64 or BYTES"));
  }
  return info->size;
}

absl::StatusOr<int64_t> ElementCount(absl::string_view tensor,
                                     absl::Span<const int64_t> shape) {
  constexpr int64_t kMax = int64_t{1} << 40;
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      return TensorError(tensor, absl::StrCat("shape ", ShapeText(shape),
                                              " has a negative dimension"));
    }
    if (d != 0 && count > kMax / d) {
      return TensorError(tensor, absl::StrCat("shape ", ShapeText(shape),
                                              " has too many elements"));
    }
    count *= d;
  }
  return count;
}

absl::StatusOr<int64_t> ParseVersion(absl::string_view field,
                                     absl::string_view version) {
  if (version.empty()) return 0;
  int64_t v = 0;
  if (!absl::SimpleAtoi(version, &v) || v < 1 ||
      version.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": '", version,
        "' is not a version; expected a number >= 1, a label (starting "
        "with a letter), or empty for the latest"));
  }
  return v;
}

// DecodeInput into `out` (decoding in place saves moving the tensor).
absl::Status DecodeInputInto(const inference::ModelInferRequest& request,
                             int index, Tensor* out) {
  const InputTensor& in = request.inputs(index);
  Tensor& t = *out;
  t.name = in.name();
  t.datatype = in.datatype();
  t.shape.assign(in.shape().begin(), in.shape().end());
  if (t.name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("inputs[", index, "]: the tensor has no name"));
  }
  const DataTypeInfo* type = FindDataType(t.datatype);
  if (type == nullptr) {
    return TensorError(t.name, ElementSize(t.datatype).status().message());
  }
  if (t.shape.empty()) {
    return TensorError(t.name, "no shape; expected [batch] or [batch, n]");
  }
  ASSIGN_OR_RETURN(const int64_t count, ElementCount(t.name, t.shape));
  if (request.raw_input_contents_size() > 0) {
    const inference::InferTensorContents& c = in.contents();
    for (const ContentsField& f : FieldSizes(c)) {
      if (f.size > 0) {
        return TensorError(t.name, absl::StrCat(
            "values in contents.", f.name,
            " while the request carries raw_input_contents; use one or the "
            "other for every input"));
      }
    }
    RETURN_IF_ERROR(
        DecodeRaw(*type, request.raw_input_contents(index), count, &t));
  } else {
    RETURN_IF_ERROR(DecodeContents(in, *type, count, &t));
  }
  return absl::OkStatus();
}

absl::StatusOr<Tensor> DecodeInput(const inference::ModelInferRequest& request,
                                   int index) {
  Tensor t;
  RETURN_IF_ERROR(DecodeInputInto(request, index, &t));
  return t;
}

absl::StatusOr<std::vector<Tensor>> DecodeInputs(
    const inference::ModelInferRequest& request) {
  if (request.inputs_size() == 0) {
    return absl::InvalidArgumentError("inputs: the request has no tensors");
  }
  if (request.raw_input_contents_size() > 0 &&
      request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raw_input_contents has ", request.raw_input_contents_size(),
        " entries for ", request.inputs_size(),
        " inputs; send one per input, in the order of inputs"));
  }
  std::vector<Tensor> tensors;
  tensors.reserve(static_cast<size_t>(request.inputs_size()));
  for (int i = 0; i < request.inputs_size(); ++i) {
    RETURN_IF_ERROR(DecodeInputInto(request, i, &tensors.emplace_back()));
  }
  return tensors;
}

std::vector<TensorSpec> InputSpecs(const Artifact& artifact) {
  std::vector<TensorSpec> specs;
  for (const InputColumn& input : artifact.input_schema()) {
    specs.push_back({input.name, DatatypeOf(input.type), {-1}});
  }
  return specs;
}

std::vector<TensorSpec> OutputSpecs(const Artifact& artifact) {
  const ModelMetadata& m = artifact.metadata();
  if (!IsClassifier(m.kind)) {
    return {{std::string(kPredictionsTensor), "FP64", {-1}}};
  }
  return {{std::string(kLabelsTensor), "BYTES", {-1}},
          {std::string(kLabelIndicesTensor), "INT64", {-1}},
          {std::string(kProbabilitiesTensor),
           "FP64",
           {-1, static_cast<int64_t>(m.class_labels.size())}}};
}

bool AcceptsFeaturesTensor(const Artifact& artifact) {
  return artifact.numeric_inputs_only() &&
         !HasColumnNamed(artifact, kFeaturesTensor);
}

std::vector<std::pair<std::string, std::string>> ModelProperties(
    const Artifact& artifact) {
  const ModelMetadata& m = artifact.metadata();
  std::vector<std::string> columns;
  for (const InputColumn& input : artifact.input_schema()) {
    columns.push_back(input.name);
  }
  std::vector<std::pair<std::string, std::string>> p = {
      {"kind", std::string(ModelKindName(m.kind))},
      {"target", m.target},
      {"version", absl::StrCat(m.version)},
      {"input_columns", JsonArray(columns)}};
  if (IsClassifier(m.kind)) p.emplace_back("class_labels", JsonArray(m.class_labels));
  if (AcceptsFeaturesTensor(artifact)) {
    p.emplace_back("features_tensor", std::string(kFeaturesTensor));
    p.emplace_back("features_shape",
                   absl::StrCat("[-1, ", columns.size(), "]"));
  }
  return p;
}

absl::StatusOr<std::vector<Tensor>> Infer(
    const Artifact& artifact, const std::vector<Tensor>& inputs,
    const std::vector<std::string>& requested) {
  // The model's outputs, in their default order.
  static constexpr absl::string_view kRegressor[] = {kPredictionsTensor};
  static constexpr absl::string_view kClassifier[] = {
      kLabelsTensor, kLabelIndicesTensor, kProbabilitiesTensor};
  const absl::Span<const absl::string_view> all =
      IsClassifier(artifact.metadata().kind)
          ? absl::Span<const absl::string_view>(kClassifier)
          : absl::Span<const absl::string_view>(kRegressor);
  absl::InlinedVector<absl::string_view, 4> names(requested.begin(),
                                                   requested.end());
  if (names.empty()) names.assign(all.begin(), all.end());
  for (size_t i = 0; i < names.size(); ++i) {
    if (std::find(all.begin(), all.end(), names[i]) == all.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output '", names[i], "': this model has no such output; it gives: ",
          absl::StrJoin(all, ", ")));
    }
    if (std::find(names.begin(), names.begin() + i, names[i]) !=
        names.begin() + i) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", names[i], "': requested twice"));
    }
  }
  if (inputs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inputs: the request has no tensors; this model takes: ",
        InputsText(artifact)));
  }
  const bool features_form = inputs.size() == 1 &&
                             inputs[0].name == kFeaturesTensor &&
                             !HasColumnNamed(artifact, kFeaturesTensor);
  ASSIGN_OR_RETURN(Predictions p, features_form
                                      ? RunFeaturesForm(artifact, inputs[0])
                                      : RunColumnsForm(artifact, inputs));

  const ModelMetadata& m = artifact.metadata();
  std::vector<Tensor> outputs;
  for (absl::string_view name : names) {
    if (name == kPredictionsTensor) {
      const int64_t n = p.values.size();
      Tensor t = MakeOutput(name, "FP64", {n});
      t.numbers.assign(p.values.data(), p.values.data() + n);
      outputs.push_back(std::move(t));
    } else if (name == kLabelsTensor) {
      Tensor t = MakeOutput(name, "BYTES",
                            {static_cast<int64_t>(p.classes.size())});
      t.texts.reserve(p.classes.size());
      for (int32_t c : p.classes) t.texts.push_back(m.class_labels[c]);
      outputs.push_back(std::move(t));
    } else if (name == kLabelIndicesTensor) {
      Tensor t = MakeOutput(name, "INT64",
                            {static_cast<int64_t>(p.classes.size())});
      t.ints.assign(p.classes.begin(), p.classes.end());
      outputs.push_back(std::move(t));
    } else {  // probabilities, row-major
      const int64_t rows = p.probabilities.rows();
      const int64_t k = p.probabilities.cols();
      Tensor t = MakeOutput(name, "FP64", {rows, k});
      // The class of each column, so that a client needs no other call.
      t.parameters.emplace_back("class_labels", JsonArray(m.class_labels));
      t.numbers.resize(static_cast<size_t>(rows * k));
      Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic,
                               Eigen::RowMajor>>(t.numbers.data(), rows, k) =
          p.probabilities;
      outputs.push_back(std::move(t));
    }
  }
  return outputs;
}

void EncodeOutputs(const std::vector<Tensor>& outputs, bool raw,
                   inference::ModelInferResponse* response) {
  for (const Tensor& t : outputs) {
    inference::ModelInferResponse::InferOutputTensor* out =
        response->add_outputs();
    out->set_name(t.name);
    out->set_datatype(t.datatype);
    out->mutable_shape()->Add(t.shape.begin(), t.shape.end());
    for (const auto& [key, value] : t.parameters) {
      (*out->mutable_parameters())[key].set_string_param(value);
    }
    if (raw) {
      std::string* bytes = response->add_raw_output_contents();
      if (t.datatype == "BYTES") {
        for (const std::string& s : t.texts) {
          const uint32_t length = static_cast<uint32_t>(s.size());
          bytes->append(reinterpret_cast<const char*>(&length), 4);
          bytes->append(s);
        }
      } else if (t.datatype == "INT64") {
        bytes->assign(reinterpret_cast<const char*>(t.ints.data()),
                      t.ints.size() * sizeof(int64_t));
      } else {
        bytes->assign(reinterpret_cast<const char*>(t.numbers.data()),
                      t.numbers.size() * sizeof(double));
      }
      continue;
    }
    inference::InferTensorContents* c = out->mutable_contents();
    if (t.datatype == "BYTES") {
      c->mutable_bytes_contents()->Add(t.texts.begin(), t.texts.end());
    } else if (t.datatype == "INT64") {
      c->mutable_int64_contents()->Add(t.ints.begin(), t.ints.end());
    } else {
      c->mutable_fp64_contents()->Add(t.numbers.begin(), t.numbers.end());
    }
  }
}

}  // namespace modelserver::server::oip
