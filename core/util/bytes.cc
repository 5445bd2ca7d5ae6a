#include "core/util/bytes.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

static_assert(sizeof(double) == 8, "IEEE-754 binary64 expected");

template <typename T>
void AppendLittleEndian(std::string* out, T v) {
  char buf[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  out->append(buf, sizeof(T));
}

template <typename T>
T LoadLittleEndian(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

}  // namespace

void ByteWriter::WriteU8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
void ByteWriter::WriteU32(uint32_t v) { AppendLittleEndian(&out_, v); }
void ByteWriter::WriteU64(uint64_t v) { AppendLittleEndian(&out_, v); }

void ByteWriter::WriteF64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  WriteU64(bits);
}

void ByteWriter::WriteString(absl::string_view s) {
  WriteU64(s.size());
  out_.append(s.data(), s.size());
}

void ByteWriter::WriteStrings(const std::vector<std::string>& v) {
  WriteU64(v.size());
  for (const std::string& s : v) WriteString(s);
}

void ByteWriter::WriteF64s(const std::vector<double>& v) {
  WriteU64(v.size());
  for (double d : v) WriteF64(d);
}

void ByteWriter::WriteMatrix(const Eigen::MatrixXd& m) {
  WriteU64(static_cast<uint64_t>(m.rows()));
  WriteU64(static_cast<uint64_t>(m.cols()));
  for (Eigen::Index i = 0; i < m.size(); ++i) WriteF64(m.data()[i]);
}

void ByteWriter::WriteVector(const Eigen::VectorXd& v) {
  WriteU64(static_cast<uint64_t>(v.size()));
  for (Eigen::Index i = 0; i < v.size(); ++i) WriteF64(v[i]);
}

absl::Status ByteReader::Need(uint64_t n, absl::string_view what) const {
  if (n > remaining()) {
    return absl::DataLossError(absl::StrCat("truncated data reading ", what,
                                            ": need ", n, " bytes at offset ",
                                            pos_, ", have ", remaining()));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> ByteReader::ReadU8(absl::string_view what) {
  RETURN_IF_ERROR(Need(1, what));
  return static_cast<uint8_t>(data_[pos_++]);
}

absl::StatusOr<uint32_t> ByteReader::ReadU32(absl::string_view what) {
  RETURN_IF_ERROR(Need(4, what));
  uint32_t v = LoadLittleEndian<uint32_t>(data_.data() + pos_);
  pos_ += 4;
  return v;
}

absl::StatusOr<uint64_t> ByteReader::ReadU64(absl::string_view what) {
  RETURN_IF_ERROR(Need(8, what));
  uint64_t v = LoadLittleEndian<uint64_t>(data_.data() + pos_);
  pos_ += 8;
  return v;
}

absl::StatusOr<int64_t> ByteReader::ReadI64(absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t v, ReadU64(what));
  return static_cast<int64_t>(v);
}

absl::StatusOr<double> ByteReader::ReadF64(absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t bits, ReadU64(what));
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

absl::StatusOr<absl::string_view> ByteReader::ReadRaw(uint64_t n,
                                                      absl::string_view what) {
  RETURN_IF_ERROR(Need(n, what));
  absl::string_view v = data_.substr(pos_, n);
  pos_ += n;
  return v;
}

absl::StatusOr<std::string> ByteReader::ReadString(absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t n, ReadU64(what));
  ASSIGN_OR_RETURN(absl::string_view s, ReadRaw(n, what));
  return std::string(s);
}

absl::StatusOr<std::vector<std::string>> ByteReader::ReadStrings(
    absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t n, ReadU64(what));
  // Each string needs at least its 8-byte length.
  RETURN_IF_ERROR(Need(n > remaining() / 8 ? remaining() + 1 : n * 8, what));
  std::vector<std::string> v;
  v.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(std::string s, ReadString(what));
    v.push_back(std::move(s));
  }
  return v;
}

absl::StatusOr<std::vector<double>> ByteReader::ReadF64s(
    absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t n, ReadU64(what));
  RETURN_IF_ERROR(Need(n > remaining() / 8 ? remaining() + 1 : n * 8, what));
  std::vector<double> v(n);
  for (uint64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(v[i], ReadF64(what));
  }
  return v;
}

absl::StatusOr<Eigen::MatrixXd> ByteReader::ReadMatrix(absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t rows, ReadU64(what));
  ASSIGN_OR_RETURN(uint64_t cols, ReadU64(what));
  const uint64_t max_cells = remaining() / 8;
  if ((cols != 0 && rows > max_cells / cols) || rows * cols > max_cells) {
    return absl::DataLossError(absl::StrCat(
        "truncated data reading ", what, ": a ", rows, "x", cols,
        " matrix does not fit in the ", remaining(), " bytes left"));
  }
  Eigen::MatrixXd m(static_cast<Eigen::Index>(rows),
                    static_cast<Eigen::Index>(cols));
  for (Eigen::Index i = 0; i < m.size(); ++i) {
    ASSIGN_OR_RETURN(m.data()[i], ReadF64(what));
  }
  return m;
}

absl::StatusOr<Eigen::VectorXd> ByteReader::ReadVector(absl::string_view what) {
  ASSIGN_OR_RETURN(uint64_t n, ReadU64(what));
  RETURN_IF_ERROR(Need(n > remaining() / 8 ? remaining() + 1 : n * 8, what));
  Eigen::VectorXd v(static_cast<Eigen::Index>(n));
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    ASSIGN_OR_RETURN(v[i], ReadF64(what));
  }
  return v;
}

}  // namespace modelserver
