// The cnai program's subcommand registry and a small argument reader.
// Each subcommand lives in its own cmd_*.cpp and registers itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cnai/model/model.hpp"

namespace cnai::cli {

/// Parsed command line: "--key value", "--flag", "-k value", and positionals.
class Args {
 public:
  /// `flags` lists options that take no value (e.g. "--json").
  Args(const std::vector<std::string>& argv, const std::vector<std::string>& flags);

  bool has(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  std::int64_t get_int(const std::string& name, std::int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;
  /// Every value of a repeatable option, in order ("--stop A --stop B").
  std::vector<std::string> get_all(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> options_;  // last value of each option
  std::map<std::string, std::vector<std::string>> all_;
  std::vector<std::string> positionals_;
};

struct Command {
  std::string name;
  std::string summary;
  int (*run)(const std::vector<std::string>& args);  // args after the subcommand
};

/// Called from a static initialiser in each cmd_*.cpp.
bool register_command(Command command);
const std::map<std::string, Command>& commands();

/// This process's environment, as a router config's ${VAR} lookup (the
/// library reads none itself): the value of `var`, or nullopt when unset.
std::optional<std::string> process_environment(const std::string& var);

/// The model cache: cnai::default_cache_dir over this process's environment
/// (${CNAI_CACHE_DIR:-$HOME/.cache/cnai}).
std::string cache_dir();

/// The default model path: $CNAI_MODEL, else cnai::default_model_path(cache_dir())
/// (${CNAI_CACHE_DIR:-$HOME/.cache/cnai}/models/SmolLM2-135M-Instruct.Q4_1.gguf).
std::string default_model_path();

/// The default embedding model: $CNAI_EMBEDDING_MODEL, else
/// ${CNAI_CACHE_DIR:-$HOME/.cache/cnai}/models/all-MiniLM-L6-v2.Q8_0.gguf.
std::string default_embedding_model_path();

/// The model a command runs on: -m or --model, else default_model_path().
std::string model_path(const Args& args);

/// The environment's say over model loading, which the library never reads
/// itself: CNAI_ISA=scalar|avx2|avx512 -> options.isa, CNAI_PACK=0 ->
/// options.repack = false. Error(invalid_argument) for an unknown CNAI_ISA.
void apply_model_env(ModelOptions& options);

/// CNAI_TEMPLATE_NOW="YYYY-MM-DD HH:MM:SS" (local time): the time chat
/// templates' strftime_now() sees, for reproducible renders; nullopt when unset.
std::optional<std::chrono::system_clock::time_point> template_now_from_env();

/// A whole file's bytes ("-": standard input). Error(not_found) naming the path.
std::string read_file(const std::string& path);

}  // namespace cnai::cli
