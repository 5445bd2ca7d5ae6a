// File: core/train/checkpoint.h
// TrainingCheckpoint: the complete state of an SGD/Adam training between two
// epochs, and its binary encoding. Train (core/train/trainer.h) writes one
// through CheckpointOptions::save and continues from one given in
// CheckpointOptions::resume: training N epochs straight and training k
// epochs, checkpointing, then resuming in a fresh process for the remaining
// N - k give bit-identical parameters (for the same data, spec and
// TrainSpec::threads).
//
// What is kept: the parameters, the optimizer's state (SGD velocity; Adam
// moments and the powers of beta1 and beta2), the shuffling generator's
// state and the current example order, the completed epochs, early
// stopping's best loss, its parameters and the epochs since, the schedule's
// state (plateau: rate, best loss, epochs without improvement), the elapsed
// training time, and what identifies the training (the data checksum and
// the resolved spec's key) so that a checkpoint is never applied to other
// data or settings. The pipeline and the split are not kept: they are
// recomputed from the data, deterministically.
//
// Encoding (little-endian, core/util/bytes.h): "MSCKPT\r\n", u32 format
// version (1), the fields in the order of the struct, then u32 CRC-32C of
// everything before it. docs/training.md describes the files.
//
// Errors: DecodeTrainingCheckpoint returns DATA_LOSS naming what is wrong
// (bad magic, unknown version, checksum mismatch, truncated field).
//
// Thread-safety: plain values and pure functions.
#ifndef MODELSERVER_CORE_TRAIN_CHECKPOINT_H_
#define MODELSERVER_CORE_TRAIN_CHECKPOINT_H_

#include <cstdint>
#include <limits>
#include <string>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/train/lr_schedule.h"
#include "core/train/optimizer.h"

namespace modelserver {

struct TrainingCheckpoint {
  uint32_t data_checksum = 0;  // TrainResult::data_checksum of the data
  std::string spec_key;        // identifies the resolved spec (trainer.cc)
  double elapsed_seconds = 0;  // training time before the checkpoint
  MiniBatchState optimizer;    // optimizer.epoch = epochs completed
  // Early stopping: the best watched loss, its parameters (empty without
  // validation rows) and the epochs since it.
  double best_loss = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_w;
  int since_best = 0;
  LrSchedule::State schedule;
};

std::string EncodeTrainingCheckpoint(const TrainingCheckpoint& checkpoint);
absl::StatusOr<TrainingCheckpoint> DecodeTrainingCheckpoint(
    absl::string_view bytes);

}  // namespace modelserver

#endif  // MODELSERVER_CORE_TRAIN_CHECKPOINT_H_
