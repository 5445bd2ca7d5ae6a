// File: core/util/rng.h
// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64)
// whose every output, including Uniform, Normal and Shuffle, is defined here
// and not by the standard library: the same seed gives the same sequence with
// any compiler or standard library, which makes training bit-reproducible.
// Thread-safety: none; give each thread its own Rng.
#ifndef MODELSERVER_CORE_UTIL_RNG_H_
#define MODELSERVER_CORE_UTIL_RNG_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace modelserver {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // Uniform 64-bit value.
  uint64_t Next();
  // Uniform in [0, 1), 53 random bits.
  double Uniform();
  // Uniform in [0, n); REQUIRES: n > 0. Unbiased (rejection).
  uint64_t UniformInt(uint64_t n);
  // Standard normal (Box-Muller).
  double Normal();

  // The complete generator state (for training checkpoints): a generator
  // restored from state() continues with exactly the same outputs.
  struct State {
    uint64_t s[4] = {0, 0, 0, 0};
    bool has_spare_normal = false;
    double spare_normal = 0.0;
  };
  State state() const;
  void Restore(const State& state);

  // Fisher-Yates shuffle.
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) {
      std::swap((*v)[i - 1], (*v)[UniformInt(i)]);
    }
  }

 private:
  uint64_t s_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

}  // namespace modelserver

#endif  // MODELSERVER_CORE_UTIL_RNG_H_
