// Reading a PEM file named on a bench tool's command line.
#ifndef QBOX_BENCH_PEM_FILE_H_
#define QBOX_BENCH_PEM_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace qbox::bench {

// Returns the whole contents of `path`, given on the command line as `flag`
// (e.g. "--etcd-cert"). Errors are INVALID_ARGUMENT naming the flag and the
// path: the file cannot be opened or read, or it is empty (an empty PEM
// would otherwise fail much later, inside a TLS handshake, with an error
// that names neither). The contents are not parsed.
absl::StatusOr<std::string> ReadPemFlag(const std::string& flag, const std::string& path);

}  // namespace qbox::bench

#endif  // QBOX_BENCH_PEM_FILE_H_
