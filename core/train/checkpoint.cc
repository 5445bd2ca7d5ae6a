#include "core/train/checkpoint.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/crc32c.h"
#include "core/util/status_macros.h"

namespace modelserver {
namespace {

constexpr absl::string_view kMagic = "MSCKPT\r\n";
constexpr uint32_t kFormatVersion = 1;
// More vectors than any optimizer keeps is corruption.
constexpr uint64_t kMaxStateVectors = 16;

absl::Status Loss(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("checkpoint: ", why));
}

}  // namespace

std::string EncodeTrainingCheckpoint(const TrainingCheckpoint& c) {
  ByteWriter b;
  b.WriteRaw(kMagic);
  b.WriteU32(kFormatVersion);
  b.WriteU32(c.data_checksum);
  b.WriteString(c.spec_key);
  b.WriteF64(c.elapsed_seconds);
  const MiniBatchState& s = c.optimizer;
  b.WriteI64(s.epoch);
  b.WriteVector(s.w);
  b.WriteU64(s.vectors.size());
  for (const Eigen::VectorXd& v : s.vectors) b.WriteVector(v);
  b.WriteF64s(s.scalars);
  for (uint64_t x : s.rng.s) b.WriteU64(x);
  b.WriteU8(s.rng.has_spare_normal ? 1 : 0);
  b.WriteF64(s.rng.spare_normal);
  b.WriteU64(s.order.size());
  for (int64_t i : s.order) b.WriteI64(i);
  b.WriteF64(c.best_loss);
  b.WriteVector(c.best_w);
  b.WriteI64(c.since_best);
  b.WriteF64(c.schedule.rate);
  b.WriteF64(c.schedule.best_loss);
  b.WriteI64(c.schedule.bad_epochs);
  const uint32_t crc = Crc32c(b.data());
  b.WriteU32(crc);
  return b.Release();
}

absl::StatusOr<TrainingCheckpoint> DecodeTrainingCheckpoint(
    absl::string_view bytes) {
  if (bytes.size() < kMagic.size() + 8) {
    return Loss(
        absl::StrCat("the file is truncated (", bytes.size(), " bytes)"));
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) {
    return Loss("not a training checkpoint (bad magic bytes)");
  }
  const absl::string_view body = bytes.substr(0, bytes.size() - 4);
  ByteReader trailer(bytes.substr(bytes.size() - 4));
  ASSIGN_OR_RETURN(uint32_t stored_crc, trailer.ReadU32("checksum"));
  if (Crc32c(body) != stored_crc) {
    return Loss("checksum mismatch (the file is corrupted or truncated)");
  }
  ByteReader r(body.substr(kMagic.size()));
  ASSIGN_OR_RETURN(uint32_t version, r.ReadU32("format version"));
  if (version != kFormatVersion) {
    return Loss(absl::StrCat("unknown format version ", version,
                             " (this server reads ", kFormatVersion, ")"));
  }
  TrainingCheckpoint c;
  ASSIGN_OR_RETURN(c.data_checksum, r.ReadU32("data checksum"));
  ASSIGN_OR_RETURN(c.spec_key, r.ReadString("spec key"));
  ASSIGN_OR_RETURN(c.elapsed_seconds, r.ReadF64("elapsed seconds"));
  MiniBatchState& s = c.optimizer;
  ASSIGN_OR_RETURN(int64_t epoch, r.ReadI64("epoch"));
  if (epoch < 0 || epoch > std::numeric_limits<int>::max()) {
    return Loss(absl::StrCat("implausible epoch ", epoch));
  }
  s.epoch = static_cast<int>(epoch);
  ASSIGN_OR_RETURN(s.w, r.ReadVector("parameters"));
  ASSIGN_OR_RETURN(uint64_t vectors, r.ReadU64("optimizer vector count"));
  if (vectors > kMaxStateVectors) {
    return Loss(absl::StrCat("implausible optimizer vector count ", vectors));
  }
  for (uint64_t i = 0; i < vectors; ++i) {
    ASSIGN_OR_RETURN(Eigen::VectorXd v, r.ReadVector("optimizer vector"));
    s.vectors.push_back(std::move(v));
  }
  ASSIGN_OR_RETURN(s.scalars, r.ReadF64s("optimizer scalars"));
  for (uint64_t& x : s.rng.s) {
    ASSIGN_OR_RETURN(x, r.ReadU64("generator state"));
  }
  ASSIGN_OR_RETURN(uint8_t spare, r.ReadU8("generator state"));
  s.rng.has_spare_normal = spare != 0;
  ASSIGN_OR_RETURN(s.rng.spare_normal, r.ReadF64("generator state"));
  ASSIGN_OR_RETURN(uint64_t n, r.ReadU64("example count"));
  if (n > r.remaining() / 8) {
    return Loss(absl::StrCat("implausible example count ", n));
  }
  s.order.resize(n);
  for (int64_t& i : s.order) {
    ASSIGN_OR_RETURN(i, r.ReadI64("example order"));
  }
  ASSIGN_OR_RETURN(c.best_loss, r.ReadF64("best loss"));
  ASSIGN_OR_RETURN(c.best_w, r.ReadVector("best parameters"));
  ASSIGN_OR_RETURN(int64_t since_best, r.ReadI64("epochs since the best"));
  ASSIGN_OR_RETURN(c.schedule.rate, r.ReadF64("schedule rate"));
  ASSIGN_OR_RETURN(c.schedule.best_loss, r.ReadF64("schedule best loss"));
  ASSIGN_OR_RETURN(int64_t bad_epochs, r.ReadI64("schedule epochs"));
  if (since_best < 0 || since_best > epoch || bad_epochs < 0 ||
      bad_epochs > epoch) {
    return Loss("implausible epoch counters");
  }
  c.since_best = static_cast<int>(since_best);
  c.schedule.bad_epochs = static_cast<int>(bad_epochs);
  if (!r.done()) {
    return Loss(absl::StrCat(r.remaining(), " unexpected bytes at the end"));
  }
  return c;
}

}  // namespace modelserver
