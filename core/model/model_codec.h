// File: core/model/model_codec.h
// Serialisation of any Model (the model part of the artifact; see
// docs/models.md): the kind as one byte (ModelKind value), then the model's
// own Encode output. The artifact's checksum and versioning are handled by
// the artifact codec, not here.
//
// Thread-safety: free functions without shared state.
#ifndef MODELSERVER_CORE_MODEL_MODEL_CODEC_H_
#define MODELSERVER_CORE_MODEL_MODEL_CODEC_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/model/model.h"
#include "core/util/bytes.h"

namespace modelserver {

// Appends `m` to `out`.
void EncodeModel(const Model& m, ByteWriter* out);

// Reads one model written by EncodeModel from `in`, leaving `in` just after
// it. Predictions of the decoded model are bit-identical to the encoded one.
// DATA_LOSS, with a message naming the field, for an unknown kind byte,
// truncated bytes, sizes that are invalid or do not match the stored
// parameter count, or non-finite parameters. Never allocates more than the
// bytes left in `in` can justify.
absl::StatusOr<std::unique_ptr<Model>> DecodeModel(ByteReader* in);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_MODEL_MODEL_CODEC_H_
