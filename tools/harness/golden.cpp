// Reading and writing golden directories through a driver: the driver reads its attributes and inputs, this reads
// the expected outputs it declares and writes everything back in the same form.
#include "tools/harness/golden.hpp"

namespace cannon::tools {

const Driver& golden_driver(const std::vector<const Driver*>& drivers, const GoldenFiles& files) {
  const std::string op = golden_op(files);
  std::string known;
  for (const Driver* d : drivers) {
    if (op == d->golden_op) return *d;
    known += std::string(known.empty() ? "" : " ") + d->golden_op;
  }
  golden_fail(files.path("case.json"),
              "\"op\" \"" + op + "\" is not an operator of this release (known: " + known + ")");
}

GoldenCase load_golden(const Driver& driver, const GoldenFiles& files) {
  const GoldenDir d = open_golden_dir(files, driver.golden_op);
  GoldenCase g;
  g.dir = files.root;
  g.c = driver.golden_case(d);
  g.expected = d.expected(driver.outputs, g.c->output_dtype(), g.expected_arrays);
  return g;
}

void write_golden(const std::string& dir, const OpCase& c, const std::vector<HostData>& outputs,
                  const std::string& problem) {
  const std::vector<OutputSpec>& specs = c.driver().outputs;
  std::vector<NamedTensor> named;
  for (std::size_t i = 0; i < outputs.size() && i < specs.size(); ++i) named.push_back({specs[i].name, outputs[i]});
  write_golden_dir(dir, c.driver().golden_op, c.named_inputs(), named, c.golden_attrs(), problem);
}

}  // namespace cannon::tools
