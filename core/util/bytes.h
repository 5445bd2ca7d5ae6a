// File: core/util/bytes.h
// Little-endian binary encoding used by every persistent format of core
// (see docs/artifact-format.md). ByteWriter appends to a std::string;
// ByteReader reads from a byte view and never reads past its end: every
// Read* returns DATA_LOSS naming what it was reading when the input is short
// or a length is implausible.
//
// Thread-safety: none; one writer or reader per thread.
#ifndef MODELSERVER_CORE_UTIL_BYTES_H_
#define MODELSERVER_CORE_UTIL_BYTES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace modelserver {

class ByteWriter {
 public:
  ByteWriter() = default;

  void WriteU8(uint8_t v);
  void WriteU32(uint32_t v);
  void WriteU64(uint64_t v);
  void WriteI64(int64_t v) { WriteU64(static_cast<uint64_t>(v)); }
  void WriteF64(double v);
  // Length-prefixed (u64) bytes.
  void WriteString(absl::string_view s);
  void WriteStrings(const std::vector<std::string>& v);
  void WriteF64s(const std::vector<double>& v);
  // Rows, columns (u64 each), then the values in column-major order.
  void WriteMatrix(const Eigen::MatrixXd& m);
  // Length (u64), then the values.
  void WriteVector(const Eigen::VectorXd& v);
  void WriteRaw(absl::string_view bytes) {
    out_.append(bytes.data(), bytes.size());
  }

  const std::string& data() const { return out_; }
  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(absl::string_view data) : data_(data) {}

  // `what` names the field in the error message.
  absl::StatusOr<uint8_t> ReadU8(absl::string_view what);
  absl::StatusOr<uint32_t> ReadU32(absl::string_view what);
  absl::StatusOr<uint64_t> ReadU64(absl::string_view what);
  absl::StatusOr<int64_t> ReadI64(absl::string_view what);
  absl::StatusOr<double> ReadF64(absl::string_view what);
  absl::StatusOr<std::string> ReadString(absl::string_view what);
  absl::StatusOr<std::vector<std::string>> ReadStrings(absl::string_view what);
  absl::StatusOr<std::vector<double>> ReadF64s(absl::string_view what);
  absl::StatusOr<Eigen::MatrixXd> ReadMatrix(absl::string_view what);
  absl::StatusOr<Eigen::VectorXd> ReadVector(absl::string_view what);
  // Returns the next `n` bytes as a view into the input.
  absl::StatusOr<absl::string_view> ReadRaw(uint64_t n, absl::string_view what);

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }

 private:
  // Checks that `n` more bytes exist.
  absl::Status Need(uint64_t n, absl::string_view what) const;

  absl::string_view data_;
  size_t pos_ = 0;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_UTIL_BYTES_H_
