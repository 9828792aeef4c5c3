#include "ctl/output_format.h"

#include <CLI/CLI.hpp>
#include <algorithm>

namespace qbox::ctl {

void AddOutputFlag(CLI::App* command, OutputFormat* format) {
  command
      ->add_option_function<std::string>(
          "-o,--output",
          [format](const std::string& value) {
            *format = value == "json" ? OutputFormat::kJson : OutputFormat::kTable;
          },
          "Output format: table (for people) or json (for scripts)")
      ->check(CLI::IsMember({"table", "json"}))
      ->default_str("table");
}

void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size(), 0);
  auto widen = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  widen(headers);
  for (const auto& row : rows) widen(row);
  auto print = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      out << row[i];
      // No trailing spaces after the last column.
      if (i + 1 < row.size()) out << std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << '\n';
  };
  print(headers);
  for (const auto& row : rows) print(row);
}

}  // namespace qbox::ctl
