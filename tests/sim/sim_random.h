// The simulation's only source of randomness. Every choice a schedule makes
// (delays, drops, crashes, proposals) is drawn from one generator seeded by
// the schedule's seed, so a seed replays exactly. std::mt19937_64's output is
// fixed by the standard; the helpers below avoid the library distributions,
// whose output is implementation-defined.
#ifndef QBOX_TESTS_SIM_SIM_RANDOM_H_
#define QBOX_TESTS_SIM_SIM_RANDOM_H_

#include <cstdint>
#include <random>
#include <vector>

namespace qbox::sim {

class SimRandom {
 public:
  explicit SimRandom(uint64_t seed) : generator_(seed) {}

  uint64_t Next() { return generator_(); }

  // Uniform in [lo, hi]; requires lo <= hi.
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    uint64_t span = hi - lo + 1;
    return span == 0 ? generator_() : lo + generator_() % span;
  }

  // True with probability `p`.
  bool Chance(double p) { return static_cast<double>(generator_() >> 11) * 0x1.0p-53 < p; }

  // A uniformly chosen element; requires a non-empty vector.
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Uniform(0, items.size() - 1)];
  }

 private:
  std::mt19937_64 generator_;
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_SIM_RANDOM_H_
