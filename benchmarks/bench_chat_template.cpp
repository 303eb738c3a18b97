// Chat template rendering: the default model's template (SmolLM2, ChatML-style)
// on a 4-message conversation, and the largest shared template (functionary
// v3.2, macros building TypeScript from tool schemas) with two tools; plus parsing.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cnai/text/chat_template.hpp"
#include "cnai/gguf/gguf.hpp"

namespace {

std::string model_path() {
  if (const char* p = std::getenv("CNAI_MODEL"); p && *p) return p;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::vector<cnai::Message> conversation() {
  std::vector<cnai::Message> m(4);
  m[0].role = cnai::Role::system;
  m[0].content = "You are a helpful assistant.";
  m[1].content = "What is the capital of France?";
  m[2].role = cnai::Role::assistant;
  m[2].content = "The capital of France is Paris.";
  m[3].content = "And of Germany?";
  return m;
}

void BM_RenderDefaultModelTemplate(benchmark::State& state) {
  const std::string path = model_path();
  if (!std::filesystem::is_regular_file(path)) {
    state.SkipWithError(("default model missing at " + path).c_str());
    return;
  }
  const auto tmpl = cnai::ChatTemplate::parse(cnai::GgufReader::open(path).get_string("tokenizer.chat_template"));
  const auto messages = conversation();
  cnai::ChatTemplateInputs in;
  in.messages = messages;
  for (auto _ : state) benchmark::DoNotOptimize(tmpl.render(in));
}
BENCHMARK(BM_RenderDefaultModelTemplate)->Unit(benchmark::kMicrosecond);

std::string shared_template(const char* name) {
  const char* env = std::getenv("CNAI_SHARED_DATA_DIR");
  const std::filesystem::path dir = std::filesystem::path(env ? env : CNAI_SHARED_DATA_DIR) / "chat-templates";
  std::ifstream in(dir / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void BM_RenderFunctionaryWithTools(benchmark::State& state) {
  const std::string source = shared_template("meetkai-functionary-medium-v3.2.jinja");
  if (source.empty()) {
    state.SkipWithError("shared chat templates missing (set CNAI_SHARED_DATA_DIR)");
    return;
  }
  const auto tmpl = cnai::ChatTemplate::parse(source);
  const auto messages = conversation();
  std::vector<cnai::Tool> tools(2);
  tools[0].name = "get_weather";
  tools[0].description = "Get the weather";
  tools[0].parameters_json =
      R"({"type": "object", "properties": {"location": {"type": "string", "description": "City"},)"
      R"( "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["location"]})";
  tools[1].name = "search";
  tools[1].description = "Search the web";
  tools[1].parameters_json =
      R"({"type": "object", "properties": {"query": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}})";
  cnai::ChatTemplateInputs in;
  in.messages = messages;
  in.tools = tools;
  for (auto _ : state) benchmark::DoNotOptimize(tmpl.render(in));
}
BENCHMARK(BM_RenderFunctionaryWithTools)->Unit(benchmark::kMicrosecond);

void BM_ParseFunctionaryTemplate(benchmark::State& state) {
  const std::string source = shared_template("meetkai-functionary-medium-v3.2.jinja");
  if (source.empty()) {
    state.SkipWithError("shared chat templates missing (set CNAI_SHARED_DATA_DIR)");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(cnai::ChatTemplate::parse(source));
}
BENCHMARK(BM_ParseFunctionaryTemplate)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
