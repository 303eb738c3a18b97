// Renders a parsed template against a global context, with jinja2's scoping
// (loops and macros get their own frames) and limits on depth, loop
// iterations and output size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/jinja/ast.hpp"

namespace cnai::text::jinja {

struct Frame {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Frame> parent;
};

struct Limits {
  int max_depth = 200;                         // nested evaluation (macro recursion included)
  std::uint64_t max_steps = 20'000'000;        // evaluated expressions + loop iterations
  std::size_t max_output_bytes = 64u << 20;    // the output and any single string/list built
};

/// Throws std::invalid_argument when a value of `bytes` would exceed the
/// running render's max_output_bytes (checked by builtins that grow values).
void check_value_size(std::size_t bytes);

class Interpreter {
 public:
  Interpreter(std::shared_ptr<Frame> globals, Limits limits = {});
  /// Renders `t`; runtime failures throw Error(invalid_argument) naming line:column.
  std::string render(const Template& t);

  // Used by filters and tests that take a filter/test name (map, select, ...).
  Value call_filter(const std::string& name, const Value& subject, CallArgs& args);
  bool call_test(const std::string& name, const Value& subject, CallArgs& args);
  Value call_value(const Value& callee, CallArgs& args);
  Value call_macro(const Stmt& macro, const std::shared_ptr<Frame>& def_frame, CallArgs& args);
  /// Namespaces are the only mutable values, so the only way to build a reference
  /// cycle (`ns.self = ns`); render() empties every one it saw when it ends.
  void track_namespace(const std::shared_ptr<Dict>& ns) { namespaces_.push_back(ns); }

 private:
  enum class Flow { normal, break_, continue_ };
  struct Depth;

  Flow exec_body(const Body& body, const std::shared_ptr<Frame>& frame, std::string& out);
  Flow exec(const Stmt& s, const std::shared_ptr<Frame>& frame, std::string& out);
  Flow exec_for(const Stmt& s, const std::shared_ptr<Frame>& frame, std::string& out);
  void exec_set(const Stmt& s, const std::shared_ptr<Frame>& frame, Value v);
  Value make_macro(const Stmt& s, const std::shared_ptr<Frame>& frame);
  Value eval(const Expr& e, const std::shared_ptr<Frame>& frame);
  Value eval_inner(const Expr& e, const std::shared_ptr<Frame>& frame);
  Value eval_compare(const Expr& e, const std::shared_ptr<Frame>& frame);
  Value eval_dict(const Expr& e, const std::shared_ptr<Frame>& frame);
  CallArgs eval_args(const Expr& e, const std::shared_ptr<Frame>& frame, std::size_t first);
  Value apply_filter_expr(const Expr& e, const std::shared_ptr<Frame>& frame, Value subject);
  void append(std::string& out, std::string_view text);

  std::shared_ptr<Frame> globals_;
  Limits limits_;
  int depth_ = 0;
  std::uint64_t steps_ = 0;
  std::vector<std::weak_ptr<Dict>> namespaces_;
};

Value lookup(const Frame& frame, const std::string& name);

// Builtins, each in its own file.
Value apply_filter(Interpreter& in, const std::string& name, const Value& subject, CallArgs& args);
bool apply_test(Interpreter& in, const std::string& name, const Value& subject, CallArgs& args);
/// The bound method `obj.name` (str/dict/list methods), or undefined when there is none.
Value bound_method(const Value& obj, const std::string& name);
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value slice_value(const Value& obj, const Value& start, const Value& stop, const Value& step);
Value binary_op(const std::string& op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);
/// Throws std::invalid_argument (jinja2's UndefinedError) when `v` is undefined.
void require_defined(const Value& v);

/// Reads argument `index`/`name` of a builtin call (positional first, then keyword).
const Value* find_arg(const CallArgs& args, std::size_t index, std::string_view name);
Value arg_or(const CallArgs& args, std::size_t index, std::string_view name, Value fallback);

}  // namespace cnai::text::jinja
