// Knobs the simulation tests read from the environment (SIM_SEEDS,
// SIM_SEED_BASE, SIM_SEED, SIM_TAIL, ...).
#ifndef QBOX_TESTS_SIM_SIM_ENV_H_
#define QBOX_TESTS_SIM_SIM_ENV_H_

#include <cstdint>
#include <cstdlib>

#include "absl/strings/numbers.h"

namespace qbox::sim {

// The variable `name` as a number, or `fallback` if it is unset or not one.
inline uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  uint64_t parsed = 0;
  if (value == nullptr || !absl::SimpleAtoi(value, &parsed)) return fallback;
  return parsed;
}

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_SIM_ENV_H_
