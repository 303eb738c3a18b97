#include "cli.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cnai/core/default_model.hpp"
#include "cnai/core/error.hpp"

namespace cnai::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& flags) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && std::isdigit(static_cast<unsigned char>(a[1])))) {
      std::string key = a;
      std::string value;
      bool has_value = false;
      if (auto eq = key.find('='); eq != std::string::npos && key.rfind("--", 0) == 0) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
        has_value = true;
      }
      if (!has_value && std::find(flags.begin(), flags.end(), key) == flags.end()) {
        if (i + 1 >= argv.size()) {
          throw Error(ErrorCode::invalid_argument, "option " + key + " needs a value");
        }
        value = argv[++i];
      }
      options_[key] = value;
      all_[key].push_back(value);
    } else {
      positionals_.push_back(a);
    }
  }
}

bool Args::has(const std::string& name) const { return options_.count(name) != 0; }

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = all_.find(name);
  return it == all_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::int64_t Args::get_int(const std::string& name, std::int64_t fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  try {
    std::size_t pos = 0;
    long long x = std::stoll(*v, &pos);
    if (pos != v->size()) throw std::invalid_argument("trailing");
    return x;
  } catch (const std::exception&) {
    throw Error(ErrorCode::invalid_argument, "option " + name + " expects an integer, got '" + *v + "'");
  }
}

double Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  try {
    std::size_t pos = 0;
    double x = std::stod(*v, &pos);
    if (pos != v->size()) throw std::invalid_argument("trailing");
    return x;
  } catch (const std::exception&) {
    throw Error(ErrorCode::invalid_argument, "option " + name + " expects a number, got '" + *v + "'");
  }
}

std::string model_path(const Args& args) { return args.get_or("-m", args.get_or("--model", default_model_path())); }

void apply_model_env(ModelOptions& options) {
  if (const char* isa = std::getenv("CNAI_ISA"); isa && *isa) {
    options.isa = cpu_isa_from_string(isa);
    if (!options.isa) {
      throw Error(ErrorCode::invalid_argument, std::string("CNAI_ISA=") + isa + " is not scalar, avx2 or avx512");
    }
  }
  if (const char* pack = std::getenv("CNAI_PACK"); pack && std::string(pack) == "0") options.repack = false;
}

std::optional<std::chrono::system_clock::time_point> template_now_from_env() {
  const char* fixed = std::getenv("CNAI_TEMPLATE_NOW");
  if (!fixed || !*fixed) return std::nullopt;
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(fixed, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) < 3) {
    throw Error(ErrorCode::invalid_argument, std::string("CNAI_TEMPLATE_NOW='") + fixed + "' is not YYYY-MM-DD HH:MM:SS");
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;  // let mktime decide, as a wall-clock time
  return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

std::string read_file(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::not_found, "cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}

bool register_command(Command command) {
  registry()[command.name] = std::move(command);
  return true;
}

const std::map<std::string, Command>& commands() { return registry(); }

std::optional<std::string> process_environment(const std::string& var) {
  const char* v = std::getenv(var.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

std::string cache_dir() { return cnai::default_cache_dir(process_environment); }

std::string default_model_path() {
  if (const char* m = std::getenv("CNAI_MODEL"); m && *m) return m;
  return cnai::default_model_path(cache_dir());  // the library's: the cache directory's default model
}

std::string default_embedding_model_path() {
  if (const char* m = std::getenv("CNAI_EMBEDDING_MODEL"); m && *m) return m;
  return cnai::default_embedding_model_path(cache_dir());
}

}  // namespace cnai::cli
