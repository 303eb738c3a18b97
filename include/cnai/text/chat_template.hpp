// Chat templates: renders a conversation into a prompt exactly as a model's
// `tokenizer.chat_template` (Jinja, rendered by Hugging Face with jinja2) would.
// A built-in engine implements the Jinja subset real chat templates use.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cnai/api/types.hpp"
#include "cnai/core/error.hpp"

namespace cnai {

struct ChatTemplateInputs {
  std::span<const Message> messages;
  std::span<const Tool> tools;       // empty: `tools` is None in the template
  bool add_generation_prompt = true;
  std::string bos_token;
  std::string eos_token;
  std::string extra_context_json;    // optional JSON object merged into the globals (e.g. {"date_string": "..."})
  /// The time strftime_now() formats (in the local time zone); unset: now.
  /// Fixed times make renders reproducible (tests, the CLI's CNAI_TEMPLATE_NOW).
  std::optional<std::chrono::system_clock::time_point> now{};
};

namespace text {
struct ChatTemplateImpl;
}

class ChatTemplate {
 public:
  /// Parses Jinja source. Syntax errors: Error(model_format) naming line:column and what was expected.
  static ChatTemplate parse(std::string_view source);
  /// The ChatML template (`<|im_start|>role\ncontent<|im_end|>\n`); the explicit fallback.
  static ChatTemplate chatml();

  /// Renders the conversation. raise_exception -> Error(invalid_argument) with the template's
  /// message; runtime errors (unknown filter, bad operand types, undefined attribute access)
  /// -> Error(invalid_argument) naming line:column. `strftime_now` formats inputs.now.
  std::string render(const ChatTemplateInputs& inputs) const;
  /// Renders with a JSON object as the global context (tests, `cnai template`);
  /// `now` as in ChatTemplateInputs.
  std::string render_json(std::string_view context_json,
                          std::optional<std::chrono::system_clock::time_point> now = std::nullopt) const;

  const std::string& source() const noexcept;

 private:
  explicit ChatTemplate(std::shared_ptr<const text::ChatTemplateImpl> impl);
  std::shared_ptr<const text::ChatTemplateImpl> impl_;  // immutable: copies share it
};

}  // namespace cnai
