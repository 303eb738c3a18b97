// Statement execution and expression evaluation.
#include "text/jinja/interpreter.hpp"

#include <stdexcept>

#include "cnai/core/error.hpp"

namespace cnai::text::jinja {

namespace {
thread_local std::size_t t_max_value_bytes = 64u << 20;

[[noreturn]] void fail_at(int line, int col, const std::string& what) {
  throw Error(ErrorCode::invalid_argument,
              "chat template error at " + std::to_string(line) + ":" + std::to_string(col) + ": " + what);
}
}  // namespace

void check_value_size(std::size_t bytes) {
  if (bytes > t_max_value_bytes) {
    throw std::invalid_argument("value too large (over " + std::to_string(t_max_value_bytes) + " bytes)");
  }
}

Value lookup(const Frame& frame, const std::string& name) {
  for (const Frame* f = &frame; f != nullptr; f = f->parent.get()) {
    auto it = f->vars.find(name);
    if (it != f->vars.end()) return it->second;
  }
  return Value::undefined("'" + name + "' is undefined");
}

struct Interpreter::Depth {
  Interpreter& in;
  Depth(Interpreter& i, int line, int col) : in(i) {
    if (++in.depth_ > in.limits_.max_depth) {
      --in.depth_;
      fail_at(line, col, "template recursion too deep (limit " + std::to_string(in.limits_.max_depth) + ")");
    }
    if (++in.steps_ > in.limits_.max_steps) {
      --in.depth_;
      fail_at(line, col, "template evaluation too long (over " + std::to_string(in.limits_.max_steps) + " steps)");
    }
  }
  ~Depth() { --in.depth_; }
};

Interpreter::Interpreter(std::shared_ptr<Frame> globals, Limits limits)
    : globals_(std::move(globals)), limits_(limits) {}

std::string Interpreter::render(const Template& t) {
  struct SizeScope {
    std::size_t saved = t_max_value_bytes;
    explicit SizeScope(std::size_t n) { t_max_value_bytes = n; }
    ~SizeScope() { t_max_value_bytes = saved; }
  } size_scope(limits_.max_output_bytes);
  steps_ = 0;  // the budget is per render
  depth_ = 0;
  struct BreakCycles {
    std::vector<std::weak_ptr<Dict>>& namespaces;
    ~BreakCycles() {
      for (auto& w : namespaces) {
        if (auto ns = w.lock()) ns->entries.clear();
      }
      namespaces.clear();
    }
  } break_cycles{namespaces_};
  auto root = std::make_shared<Frame>();
  root->parent = globals_;
  std::string out;
  exec_body(t.body, root, out);
  return out;
}

void Interpreter::append(std::string& out, std::string_view text) {
  if (out.size() + text.size() > limits_.max_output_bytes) {
    throw std::invalid_argument("output too large (over " + std::to_string(limits_.max_output_bytes) + " bytes)");
  }
  out.append(text);
}

Interpreter::Flow Interpreter::exec_body(const Body& body, const std::shared_ptr<Frame>& frame, std::string& out) {
  for (const auto& s : body) {
    const Flow f = exec(*s, frame, out);
    if (f != Flow::normal) return f;
  }
  return Flow::normal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, const std::shared_ptr<Frame>& frame, std::string& out) {
  try {
    switch (s.kind) {
      case StmtKind::text: append(out, s.text); return Flow::normal;
      case StmtKind::output: append(out, to_str(eval(*s.expr, frame))); return Flow::normal;
      case StmtKind::if_:
        for (const auto& [cond, body] : s.branches) {
          if (!cond || truthy(eval(*cond, frame))) return exec_body(body, frame, out);
        }
        return Flow::normal;
      case StmtKind::for_: return exec_for(s, frame, out);
      case StmtKind::set: exec_set(s, frame, eval(*s.expr, frame)); return Flow::normal;
      case StmtKind::set_block: {
        std::string captured;
        Depth depth(*this, s.line, s.col);
        exec_body(s.body, frame, captured);
        Value v = Value::string(std::move(captured));
        if (s.expr) v = apply_filter_expr(*s.expr, frame, std::move(v));
        exec_set(s, frame, std::move(v));
        return Flow::normal;
      }
      case StmtKind::filter_block: {
        std::string captured;
        Depth depth(*this, s.line, s.col);
        const Flow f = exec_body(s.body, frame, captured);
        append(out, to_str(apply_filter_expr(*s.expr, frame, Value::string(std::move(captured)))));
        return f;
      }
      case StmtKind::macro: frame->vars[s.text] = make_macro(s, frame); return Flow::normal;
      case StmtKind::block: {
        Depth depth(*this, s.line, s.col);
        return exec_body(s.body, frame, out);
      }
      case StmtKind::break_: return Flow::break_;
      case StmtKind::continue_: return Flow::continue_;
    }
  } catch (const std::logic_error& ex) {
    fail_at(s.line, s.col, ex.what());
  }
  return Flow::normal;
}

namespace {
void bind_targets(Frame& f, const std::vector<std::string>& targets, const Value& item) {
  if (targets.size() == 1) {
    f.vars[targets[0]] = item;
    return;
  }
  const List parts = iterate(item);
  if (parts.size() != targets.size()) {
    throw std::invalid_argument("cannot unpack " + std::to_string(parts.size()) + " values into " +
                                std::to_string(targets.size()) + " names");
  }
  for (std::size_t k = 0; k < targets.size(); ++k) f.vars[targets[k]] = parts[k];
}
}  // namespace

Interpreter::Flow Interpreter::exec_for(const Stmt& s, const std::shared_ptr<Frame>& frame, std::string& out) {
  Depth depth(*this, s.line, s.col);
  const Value seq = eval(*s.expr, frame);
  if (seq.is_none()) throw std::invalid_argument("'NoneType' object is not iterable");
  List items = iterate(seq);
  auto loop_frame = std::make_shared<Frame>();
  loop_frame->parent = frame;
  if (s.condition) {
    List kept;
    for (auto& item : items) {
      bind_targets(*loop_frame, s.targets, item);
      if (truthy(eval(*s.condition, loop_frame))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  const auto n = static_cast<std::int64_t>(items.size());
  // One loop.cycle per loop (not per iteration): it reads the current index.
  auto index = std::make_shared<std::int64_t>(0);
  const Value cycle = Value::function([index](Interpreter&, CallArgs& args) {
    if (args.positional.empty()) throw std::invalid_argument("no items for cycling given");
    return args.positional[static_cast<std::size_t>(*index) % args.positional.size()];
  });
  for (std::int64_t k = 0; k < n; ++k) {
    if (++steps_ > limits_.max_steps) throw std::invalid_argument("template evaluation too long (over " + std::to_string(limits_.max_steps) + " steps)");
    const auto& item = items[static_cast<std::size_t>(k)];
    loop_frame->vars.clear();  // jinja2: assignments in the body last for one iteration only
    bind_targets(*loop_frame, s.targets, item);
    Dict loop;
    loop.entries.reserve(12);
    loop.set("index", Value::integer(k + 1));
    loop.set("index0", Value::integer(k));
    loop.set("revindex", Value::integer(n - k));
    loop.set("revindex0", Value::integer(n - k - 1));
    loop.set("first", Value::boolean(k == 0));
    loop.set("last", Value::boolean(k == n - 1));
    loop.set("length", Value::integer(n));
    loop.set("depth", Value::integer(1));
    loop.set("depth0", Value::integer(0));
    if (k > 0) loop.set("previtem", items[static_cast<std::size_t>(k - 1)]);
    if (k + 1 < n) loop.set("nextitem", items[static_cast<std::size_t>(k + 1)]);
    *index = k;
    loop.set("cycle", cycle);
    loop_frame->vars["loop"] = Value::make_dict(std::move(loop));
    if (exec_body(s.body, loop_frame, out) == Flow::break_) break;
  }
  if (n == 0) exec_body(s.else_body, frame, out);
  return Flow::normal;
}

void Interpreter::exec_set(const Stmt& s, const std::shared_ptr<Frame>& frame, Value v) {
  if (!s.text.empty()) {
    const Value target = lookup(*frame, s.targets[0]);
    if (target.kind != Kind::ns) throw std::invalid_argument("can only set attributes on a namespace object");
    target.dict->set(s.text, std::move(v));
    return;
  }
  bind_targets(*frame, s.targets, v);
}

Value Interpreter::make_macro(const Stmt& s, const std::shared_ptr<Frame>& frame) {
  const Stmt* macro = &s;
  std::weak_ptr<Frame> weak = frame;  // the frame owns the macro: avoid a reference cycle
  return Value::function([macro, weak](Interpreter& in, CallArgs& args) {
    auto def = weak.lock();
    if (!def) throw std::invalid_argument("macro '" + macro->text + "' called after its scope ended");
    return in.call_macro(*macro, def, args);
  });
}

Value Interpreter::call_macro(const Stmt& m, const std::shared_ptr<Frame>& def_frame, CallArgs& args) {
  Depth depth(*this, m.line, m.col);
  auto f = std::make_shared<Frame>();
  f->parent = def_frame;
  if (args.positional.size() > m.params.size()) {
    throw std::invalid_argument("macro '" + m.text + "' takes not more than " + std::to_string(m.params.size()) +
                                " argument(s)");
  }
  std::vector<bool> bound(m.params.size(), false);
  for (std::size_t k = 0; k < args.positional.size(); ++k) {
    f->vars[m.params[k].first] = args.positional[k];
    bound[k] = true;
  }
  for (auto& [key, v] : args.named) {
    std::size_t k = 0;
    while (k < m.params.size() && m.params[k].first != key) ++k;
    if (k == m.params.size()) throw std::invalid_argument("macro '" + m.text + "' takes no keyword argument '" + key + "'");
    f->vars[key] = v;
    bound[k] = true;
  }
  for (std::size_t k = 0; k < m.params.size(); ++k) {
    if (bound[k]) continue;
    f->vars[m.params[k].first] =
        m.params[k].second ? eval(*m.params[k].second, f) : Value::undefined("'" + m.params[k].first + "' is undefined");
  }
  std::string out;
  exec_body(m.body, f, out);
  return Value::string(std::move(out));
}

Value Interpreter::call_value(const Value& callee, CallArgs& args) {
  if (callee.kind == Kind::callable) return (*callee.fn)(*this, args);
  require_defined(callee);
  throw std::invalid_argument("'" + std::string(type_name(callee)) + "' object is not callable");
}

Value Interpreter::call_filter(const std::string& name, const Value& subject, CallArgs& args) {
  return apply_filter(*this, name, subject, args);
}

bool Interpreter::call_test(const std::string& name, const Value& subject, CallArgs& args) {
  return apply_test(*this, name, subject, args);
}

CallArgs Interpreter::eval_args(const Expr& e, const std::shared_ptr<Frame>& frame, std::size_t first) {
  CallArgs args;
  for (std::size_t k = first; k < e.children.size(); ++k) args.positional.push_back(eval(*e.children[k], frame));
  for (const auto& [key, ex] : e.kwargs) args.named.emplace_back(key, eval(*ex, frame));
  return args;
}

Value Interpreter::apply_filter_expr(const Expr& e, const std::shared_ptr<Frame>& frame, Value subject) {
  // `subject` feeds chains without a value of their own ({% filter %}, {% set x | f %}).
  auto has_null_root = [](const Expr* x) {
    while (x != nullptr && x->kind == ExprKind::filter) x = x->children[0].get();
    return x == nullptr;
  };
  Value in = !e.children[0]                      ? std::move(subject)
             : has_null_root(e.children[0].get()) ? apply_filter_expr(*e.children[0], frame, std::move(subject))
                                                  : eval(*e.children[0], frame);
  CallArgs args = eval_args(e, frame, 1);
  try {
    return apply_filter(*this, e.name, in, args);
  } catch (const std::logic_error& ex) {
    fail_at(e.line, e.col, ex.what());
  }
}

Value Interpreter::eval(const Expr& e, const std::shared_ptr<Frame>& frame) {
  Depth depth(*this, e.line, e.col);
  try {
    return eval_inner(e, frame);
  } catch (const std::logic_error& ex) {
    fail_at(e.line, e.col, ex.what());
  }
}

Value Interpreter::eval_compare(const Expr& e, const std::shared_ptr<Frame>& frame) {
  Value left = eval(*e.children[0], frame);
  for (std::size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.children[k + 1], frame);
    const std::string& op = e.ops[k];
    bool ok = false;
    if (op == "==") ok = equals(left, right);
    else if (op == "!=") ok = !equals(left, right);
    else if (op == "in") ok = contains(right, left);
    else if (op == "notin") ok = !contains(right, left);
    else {
      require_defined(left);
      require_defined(right);
      const int c = compare(left, right);
      ok = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
    }
    if (!ok) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

namespace {
Value unary(bool negate, const Value& v) {
  require_defined(v);
  if (!v.is_number()) {
    throw std::invalid_argument(std::string("bad operand type for unary ") + (negate ? "-" : "+") + ": '" +
                                std::string(type_name(v)) + "'");
  }
  if (!negate) return v.kind == Kind::boolean ? Value::integer(v.as_int()) : v;
  if (v.kind == Kind::floating) return Value::floating(-v.f);
  if (v.as_int() == INT64_MIN) throw std::invalid_argument("integer overflow");
  return Value::integer(-v.as_int());
}
}  // namespace

Value Interpreter::eval_dict(const Expr& e, const std::shared_ptr<Frame>& frame) {
  Dict d;
  for (std::size_t k = 0; k + 1 < e.children.size(); k += 2) {
    Value key = eval(*e.children[k], frame);  // any hashable value, as in Python
    d.set(std::move(key), eval(*e.children[k + 1], frame));
  }
  return Value::make_dict(std::move(d));
}

Value Interpreter::eval_inner(const Expr& e, const std::shared_ptr<Frame>& frame) {
  switch (e.kind) {
    case ExprKind::literal: return e.literal;
    case ExprKind::name: return lookup(*frame, e.name);
    case ExprKind::list:
    case ExprKind::tuple: {
      List items;
      items.reserve(e.children.size());
      for (const auto& c : e.children) items.push_back(eval(*c, frame));
      return e.kind == ExprKind::list ? Value::make_list(std::move(items)) : Value::make_tuple(std::move(items));
    }
    case ExprKind::dict: return eval_dict(e, frame);
    case ExprKind::getattr: return get_attr(eval(*e.children[0], frame), e.name);
    case ExprKind::getitem: return get_item(eval(*e.children[0], frame), eval(*e.children[1], frame));
    case ExprKind::slice: {
      Value obj = eval(*e.children[0], frame);
      Value parts[3];
      for (int k = 0; k < 3; ++k) parts[k] = e.children[k + 1] ? eval(*e.children[k + 1], frame) : Value::none();
      return slice_value(obj, parts[0], parts[1], parts[2]);
    }
    case ExprKind::call: {
      Value callee = eval(*e.children[0], frame);
      CallArgs args = eval_args(e, frame, 1);
      return call_value(callee, args);
    }
    case ExprKind::filter: return apply_filter_expr(e, frame, Value());
    case ExprKind::test: {
      Value subject = eval(*e.children[0], frame);
      CallArgs args = eval_args(e, frame, 1);
      return Value::boolean(apply_test(*this, e.name, subject, args) != e.negated);
    }
    case ExprKind::neg:
    case ExprKind::pos: return unary(e.kind == ExprKind::neg, eval(*e.children[0], frame));
    case ExprKind::not_: return Value::boolean(!truthy(eval(*e.children[0], frame)));
    case ExprKind::binary: return binary_op(e.name, eval(*e.children[0], frame), eval(*e.children[1], frame));
    case ExprKind::compare: return eval_compare(e, frame);
    case ExprKind::and_: {
      Value l = eval(*e.children[0], frame);
      return truthy(l) ? eval(*e.children[1], frame) : l;
    }
    case ExprKind::or_: {
      Value l = eval(*e.children[0], frame);
      return truthy(l) ? l : eval(*e.children[1], frame);
    }
    case ExprKind::cond:
      if (truthy(eval(*e.children[1], frame))) return eval(*e.children[0], frame);
      return e.children[2] ? eval(*e.children[2], frame) : Value::undefined();
    case ExprKind::concat: {
      std::string s;
      for (const auto& c : e.children) {
        s += to_str(eval(*c, frame));
        check_value_size(s.size());
      }
      return Value::string(std::move(s));
    }
  }
  return Value::undefined();
}

}  // namespace cnai::text::jinja
