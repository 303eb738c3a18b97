// A small reader of the Prometheus text exposition format (version 0.0.4) for
// tests: every sample line as name, labels and value; what is malformed (a
// sample of a family without # TYPE, a bad label, a value that is no number)
// is listed in `problems` rather than skipped.
#pragma once

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace cnai::test {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromText {
  std::vector<PromSample> samples;
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram
  std::vector<std::string> problems;

  /// Sum of the samples named `name` whose labels include `subset`.
  double value(const std::string& name, const std::map<std::string, std::string>& subset = {}) const {
    double sum = 0;
    for (const PromSample& s : samples)
      if (s.name == name && matches(s, subset)) sum += s.value;
    return sum;
  }
  /// How many samples named `name` carry `subset`.
  std::size_t count(const std::string& name, const std::map<std::string, std::string>& subset = {}) const {
    std::size_t n = 0;
    for (const PromSample& s : samples) n += s.name == name && matches(s, subset);
    return n;
  }
  static bool matches(const PromSample& s, const std::map<std::string, std::string>& subset) {
    for (const auto& [k, v] : subset) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) return false;
    }
    return true;
  }
};

inline bool prom_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

inline PromText parse_prometheus(const std::string& text) {
  PromText out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  auto bad = [&](const std::string& why) { out.problems.push_back("line " + std::to_string(n) + ": " + why + ": " + line); };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream h(line);
      std::string hash, kind, family, type;
      h >> hash >> kind >> family >> type;
      if (kind == "TYPE") {
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped")
          bad("unknown type");
        if (out.types.count(family)) bad("second TYPE line");
        out.types[family] = type;
      }
      continue;
    }
    PromSample s;
    std::size_t i = 0;
    while (i < line.size() && prom_name_char(line[i], i == 0)) ++i;
    s.name = line.substr(0, i);
    if (s.name.empty()) {
      bad("no metric name");
      continue;
    }
    bool ok = true;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        std::size_t k = i;
        while (i < line.size() && prom_name_char(line[i], i == k)) ++i;
        std::string key = line.substr(k, i - k);
        if (key.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          ok = false;
          break;
        }
        i += 2;
        std::string v;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            v += line[i] == 'n' ? '\n' : line[i];
          } else {
            v += line[i];
          }
          ++i;
        }
        if (i >= line.size()) {
          ok = false;
          break;
        }
        ++i;  // closing quote
        if (s.labels.count(key)) ok = false;
        s.labels[key] = v;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (!ok || i >= line.size()) {
        bad("bad labels");
        continue;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      bad("no value");
      continue;
    }
    const std::string value = line.substr(i + 1);
    char* end = nullptr;
    s.value = value == "+Inf" ? 1e308 * 10 : value == "-Inf" ? -1e308 * 10 : std::strtod(value.c_str(), &end);
    if (value != "+Inf" && value != "-Inf" && (end == value.c_str() || *end != '\0')) {
      bad("value is not a number");
      continue;
    }
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = suffix;
      if (!out.types.count(family) && family.size() > sfx.size() && family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0 &&
          out.types.count(family.substr(0, family.size() - sfx.size())))
        family = family.substr(0, family.size() - sfx.size());
    }
    if (!out.types.count(family)) bad("sample of a family without # TYPE");
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace cnai::test
