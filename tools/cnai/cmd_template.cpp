// `cnai template (-m MODEL | --template FILE.jinja | --chatml) [--messages JSON_FILE|-]
// [--context JSON_FILE] [--no-generation-prompt]`: prints the prompt a chat
// template renders (exactly, no newline added).
#include <boost/json.hpp>

#include <cstdio>
#include <string>

#include "cli.hpp"
#include "cnai/core/error.hpp"
#include "cnai/text/chat_template.hpp"
#include "cnai/gguf/gguf.hpp"
#include "cnai/text/tokenizer.hpp"

namespace {

boost::json::value parse_json_file(const std::string& path, const char* what) {
  boost::system::error_code ec;
  auto v = boost::json::parse(cnai::cli::read_file(path), ec);
  if (ec) throw cnai::Error(cnai::ErrorCode::invalid_argument, std::string(what) + " '" + path + "' is not valid JSON: " + ec.message());
  return v;
}

int run_template(const std::vector<std::string>& argv) {
  const cnai::cli::Args args(argv, {"--chatml", "--no-generation-prompt"});
  boost::json::object context;
  std::string source;
  bool chatml = args.has("--chatml");
  if (auto file = args.get("--template")) {
    source = cnai::cli::read_file(*file);
  } else if (!chatml) {
    const std::string model = cnai::cli::model_path(args);
    const auto reader = cnai::GgufReader::open(model);
    if (!reader.has("tokenizer.chat_template")) {
      throw cnai::Error(cnai::ErrorCode::not_found,
                        "model '" + model + "' has no tokenizer.chat_template (use --chatml for the ChatML fallback)");
    }
    source = reader.get_string("tokenizer.chat_template");
    const auto tokenizer = cnai::Tokenizer::from_gguf(reader);
    if (tokenizer.bos() >= 0) context["bos_token"] = tokenizer.token_to_piece(tokenizer.bos());
    if (tokenizer.eos() >= 0) context["eos_token"] = tokenizer.token_to_piece(tokenizer.eos());
  }
  context["add_generation_prompt"] = !args.has("--no-generation-prompt");
  if (auto messages = args.get("--messages")) {
    auto m = parse_json_file(*messages, "messages file");
    if (!m.is_array()) throw cnai::Error(cnai::ErrorCode::invalid_argument, "--messages must hold a JSON array of messages");
    context["messages"] = std::move(m);
  }
  if (auto ctx = args.get("--context")) {
    auto c = parse_json_file(*ctx, "context file");
    if (!c.is_object()) throw cnai::Error(cnai::ErrorCode::invalid_argument, "--context must hold a JSON object");
    for (auto& [k, v] : c.as_object()) context[k] = v;
  }
  const auto tmpl = chatml ? cnai::ChatTemplate::chatml() : cnai::ChatTemplate::parse(source);
  const std::string out = tmpl.render_json(boost::json::serialize(context), cnai::cli::template_now_from_env());
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

const bool registered = cnai::cli::register_command(
    {"template", "render a conversation with a model's chat template (Jinja)", &run_template});

}  // namespace
