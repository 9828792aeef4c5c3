// The `-o table|json` flag every read command takes, and a plain-text table
// printer (like `etcdctl -w table`). JSON output is for scripts and its
// field names are stable (see ctl/README.md).
#ifndef QBOX_CTL_OUTPUT_FORMAT_H_
#define QBOX_CTL_OUTPUT_FORMAT_H_

#include <ostream>
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

enum class OutputFormat { kTable, kJson };

// Adds `-o,--output table|json` (default table) to `command`, storing into
// `*format`. An unknown value is a parse error naming the flag.
void AddOutputFlag(CLI::App* command, OutputFormat* format);

// Prints `rows` under `headers`, columns padded to their widest cell.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_OUTPUT_FORMAT_H_
