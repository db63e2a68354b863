// Two outputs fed the same calls: the run's own, and the JSON lines --export sends.
#include "output.h"

namespace dptrace {
namespace {

class TeeOutput : public Output {
public:
  TeeOutput(Output& first, Output& second) : a_(first), b_(second) {}
  void attached(int probes) override { a_.attached(probes), b_.attached(probes); }
  void printf(const std::string& text) override { a_.printf(text), b_.printf(text); }
  void value(const Value& v) override { a_.value(v), b_.value(v); }
  void time(const std::string& text) override { a_.time(text), b_.time(text); }
  void join(const std::string& text) override { a_.join(text), b_.join(text); }
  void raw(const std::string& type, const std::string& text) override { a_.raw(type, text), b_.raw(type, text); }
  void notice(const Notice& n) override { a_.notice(n), b_.notice(n); }
  void map(const MapSnapshot& m) override { a_.map(m), b_.map(m); }
  void event(const std::string& probe, const std::vector<std::pair<std::string, Value>>& fields) override {
    a_.event(probe, fields), b_.event(probe, fields);
  }
  void beginExitMaps() override { a_.beginExitMaps(), b_.beginExitMaps(); }

private:
  Output& a_;
  Output& b_;
};

}  // namespace

std::unique_ptr<Output> makeTeeOutput(Output& first, Output& second) {
  return std::make_unique<TeeOutput>(first, second);
}

}  // namespace dptrace
