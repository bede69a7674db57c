// Reads this test binary's own disassembly (objdump) to check what a probe's hot loop really
// executes: the FMA probes' flop counts and the read probe's byte counts are claims about the
// instructions in one loop iteration, and the compiler decides those instructions.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace simsage_test {

struct Insn {
  uint64_t addr = 0;
  std::string mnemonic;
  std::string operands;  // AT&T order: sources first, destination last
};

// Function name (demangled, without the argument list) -> instructions. Empty when objdump is
// missing or fails; `why` then says so.
inline std::map<std::string, std::vector<Insn>> disassemble_self(std::string* why) {
  std::map<std::string, std::vector<Insn>> fns;
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) {
    *why = "cannot read /proc/self/exe";
    return fns;
  }
  exe[n] = 0;
  if (std::system("command -v objdump > /dev/null 2>&1") != 0) {
    *why = "objdump not found";
    return fns;
  }
  const std::string cmd = std::string("objdump -d -C --no-show-raw-insn '") + exe + "' 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) {
    *why = "cannot run objdump";
    return fns;
  }
  static const std::regex head(R"(^[0-9a-f]+ <(.*)>:\s*$)");
  static const std::regex line(R"(^\s*([0-9a-f]+):\s+(\S+)\s*(.*?)\s*$)");
  std::vector<Insn>* cur = nullptr;
  char buf[8192];
  while (std::fgets(buf, sizeof(buf), f)) {
    std::string s(buf);
    std::smatch m;
    if (std::regex_match(s, m, head)) {
      std::string name = m[1];
      const size_t paren = name.find('(');
      if (paren != std::string::npos) name = name.substr(0, paren);
      cur = &fns[name];
    } else if (cur && std::regex_match(s, m, line)) {
      Insn in;
      in.addr = std::strtoull(m[1].str().c_str(), nullptr, 16);
      in.mnemonic = m[2];
      in.operands = m[3];
      const size_t hash = in.operands.find('#');  // objdump's comments
      if (hash != std::string::npos) in.operands = in.operands.substr(0, hash);
      cur->push_back(in);
    }
  }
  if (pclose(f) != 0 || fns.empty()) *why = "objdump produced no disassembly";
  return fns;
}

// The loops of a function: the instructions from a backward jump's target to the jump itself.
inline std::vector<std::vector<Insn>> loops_of(const std::vector<Insn>& fn) {
  std::vector<std::vector<Insn>> loops;
  if (fn.empty()) return loops;
  for (const Insn& j : fn) {
    if (j.mnemonic.empty() || j.mnemonic[0] != 'j') continue;
    const uint64_t target = std::strtoull(j.operands.c_str(), nullptr, 16);
    if (target == 0 || target >= j.addr || target < fn.front().addr) continue;
    std::vector<Insn> body;
    for (const Insn& i : fn)
      if (i.addr >= target && i.addr <= j.addr) body.push_back(i);
    loops.push_back(body);
  }
  return loops;
}

inline bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// Last operand (the destination in AT&T syntax).
inline std::string last_operand(const std::string& ops) {
  const size_t c = ops.rfind(',');
  return c == std::string::npos ? ops : ops.substr(c + 1);
}

}  // namespace simsage_test
