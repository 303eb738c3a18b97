// Recursive-descent Jinja parser with a nesting limit so hostile templates
// fail with an error instead of exhausting the stack.
#include "text/jinja/parser.hpp"

#include <cstdlib>
#include <set>

#include "cnai/core/error.hpp"
#include "text/jinja/lexer.hpp"

namespace cnai::text::jinja {
namespace {

constexpr int kMaxNesting = 200;  // guarded parser levels (about 3 per parenthesis)

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  std::shared_ptr<const Template> run() {
    auto t = std::make_shared<Template>();
    t->body = parse_body({});
    if (peek().type != Tok::eof) fail_here("unexpected tag '" + block_name() + "'");
    return t;
  }

 private:
  // --- token helpers -------------------------------------------------------
  const Token& peek(std::size_t ahead = 0) const { return toks_[std::min(pos_ + ahead, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  [[noreturn]] void fail_at(const Token& t, const std::string& what) const {
    throw Error(ErrorCode::model_format,
                "chat template syntax error at " + std::to_string(t.line) + ":" + std::to_string(t.col) + ": " + what);
  }
  [[noreturn]] void fail_here(const std::string& what) const { fail_at(peek(), what); }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::eof: return "end of template";
      case Tok::var_end: return "'}}'";
      case Tok::block_end: return "'%}'";
      case Tok::string: return "string";
      case Tok::integer:
      case Tok::floating: return "number " + t.text;
      case Tok::text: return "text";
      default: return "'" + t.text + "'";
    }
  }
  bool is_op(const char* op, std::size_t ahead = 0) const { return peek(ahead).type == Tok::op && peek(ahead).text == op; }
  bool is_name(const char* n, std::size_t ahead = 0) const { return peek(ahead).type == Tok::name && peek(ahead).text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail_here(std::string("expected '") + op + "', got " + describe(peek()));
  }
  std::string expect_name() {
    if (peek().type != Tok::name) fail_here("expected a name, got " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().type != Tok::block_end) fail_here("expected '%}', got " + describe(peek()));
    next();
  }
  std::string block_name() const { return peek(1).type == Tok::name ? peek(1).text : describe(peek(1)); }

  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxNesting) p.fail_here("template nested too deeply (limit " + std::to_string(kMaxNesting) + ")");
    }
    ~DepthGuard() { --p.depth_; }
  };

  ExprPtr node(ExprKind kind, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->col = at.col;
    return e;
  }

  // --- statements ----------------------------------------------------------
  // Parses until a block tag whose name is in `stop` (left unconsumed) or eof.
  Body parse_body(const std::set<std::string>& stop) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == Tok::eof) {
        if (!stop.empty()) fail_at(t, "unexpected end of template, expected '" + *stop.begin() + "'");
        return body;
      }
      if (t.type == Tok::text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::text;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.type == Tok::var_begin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::output;
        s->line = t.line;
        s->col = t.col;
        next();
        s->expr = parse_tuple(true);
        if (peek().type != Tok::var_end) fail_here("expected '}}', got " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.type == Tok::block_begin) {
        if (peek(1).type == Tok::name && stop.count(peek(1).text) != 0) return body;
        body.push_back(parse_statement());
      } else {
        fail_at(t, "unexpected " + describe(t));
      }
    }
  }

  StmtPtr parse_statement() {
    const Token& open = next();  // block_begin
    const Token& kw = peek();
    if (kw.type != Tok::name) fail_at(kw, "expected a tag name, got " + describe(kw));
    auto s = std::make_unique<Stmt>();
    s->line = kw.line;
    s->col = kw.col;
    const std::string name = next().text;
    (void)open;
    if (name == "if") return parse_if(std::move(s));
    if (name == "for") return parse_for(std::move(s));
    if (name == "set") return parse_set(std::move(s));
    if (name == "macro") return parse_macro(std::move(s));
    if (name == "filter") return parse_filter_block(std::move(s));
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail_at(kw, "'" + name + "' outside of a loop");
      s->kind = name == "break" ? StmtKind::break_ : StmtKind::continue_;
      expect_block_end();
      return s;
    }
    if (name == "generation") {  // HF's AssistantTracker tag: renders its body
      s->kind = StmtKind::block;
      expect_block_end();
      s->body = parse_body({"endgeneration"});
      end_tag("endgeneration");
      return s;
    }
    fail_at(kw, "unknown tag '" + name + "'");
  }

  void end_tag(const char* name) {
    next();  // block_begin
    if (!skip_name(name)) fail_here(std::string("expected '") + name + "'");
    expect_block_end();
  }

  StmtPtr parse_if(StmtPtr s) {
    s->kind = StmtKind::if_;
    auto cond = parse_tuple(true);
    expect_block_end();
    while (true) {
      Body body = parse_body({"elif", "else", "endif"});
      s->branches.emplace_back(std::move(cond), std::move(body));
      next();  // block_begin
      const std::string tag = next().text;
      if (tag == "elif") {
        cond = parse_tuple(true);
        expect_block_end();
        continue;
      }
      if (tag == "else") {
        expect_block_end();
        Body else_body = parse_body({"endif"});
        s->branches.emplace_back(nullptr, std::move(else_body));
        end_tag("endif");
        return s;
      }
      expect_block_end();  // endif
      return s;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    const bool paren = skip_op("(");
    do {
      names.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for(StmtPtr s) {
    s->kind = StmtKind::for_;
    s->targets = parse_targets();
    if (!skip_name("in")) fail_here("expected 'in', got " + describe(peek()));
    s->expr = parse_tuple(false);
    if (skip_name("if")) s->condition = parse_expression(true);
    if (skip_name("recursive")) fail_here("recursive loops are not supported");
    expect_block_end();
    ++loop_depth_;
    s->body = parse_body({"endfor", "else"});
    --loop_depth_;
    if (is_name("else", 1)) {
      next();
      next();
      expect_block_end();
      s->else_body = parse_body({"endfor"});
    }
    end_tag("endfor");
    return s;
  }

  StmtPtr parse_set(StmtPtr s) {
    s->targets.push_back(expect_name());
    if (skip_op(".")) {
      s->text = expect_name();
    } else {
      while (skip_op(",")) s->targets.push_back(expect_name());
    }
    if (skip_op("=")) {
      s->kind = StmtKind::set;
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    if (s->targets.size() != 1 || !s->text.empty()) fail_here("expected '='");
    s->kind = StmtKind::set_block;
    if (is_op("|")) s->expr = parse_filter_chain(nullptr);
    expect_block_end();
    s->body = parse_body({"endset"});
    end_tag("endset");
    return s;
  }

  StmtPtr parse_macro(StmtPtr s) {
    s->kind = StmtKind::macro;
    s->text = expect_name();
    expect_op("(");
    while (!skip_op(")")) {
      if (!s->params.empty()) expect_op(",");
      if (skip_op(")")) break;
      std::string pname = expect_name();
      ExprPtr def;
      if (skip_op("=")) def = parse_expression(true);
      s->params.emplace_back(std::move(pname), std::move(def));
    }
    expect_block_end();
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_body({"endmacro"});
    loop_depth_ = saved_loops;
    next();
    next();
    if (peek().type == Tok::name) next();  // `{% endmacro name %}`
    expect_block_end();
    return s;
  }

  StmtPtr parse_filter_block(StmtPtr s) {
    s->kind = StmtKind::filter_block;
    s->expr = parse_filter_chain(nullptr, false);
    expect_block_end();
    s->body = parse_body({"endfilter"});
    end_tag("endfilter");
    return s;
  }

  // --- expressions ---------------------------------------------------------
  ExprPtr parse_tuple(bool with_condexpr) {
    const Token& start = peek();
    ExprPtr first = with_condexpr ? parse_expression(true) : parse_or();
    if (!is_op(",")) return first;
    auto t = node(ExprKind::tuple, start);
    t->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().type == Tok::block_end || peek().type == Tok::var_end || is_op(")") || is_name("if")) break;
      t->children.push_back(with_condexpr ? parse_expression(true) : parse_or());
    }
    return t;
  }

  ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  ExprPtr parse_condexpr() {
    DepthGuard guard(*this);
    const Token& start = peek();
    ExprPtr expr1 = parse_or();
    while (skip_name("if")) {
      ExprPtr cond = parse_or();
      ExprPtr other = skip_name("else") ? parse_condexpr() : nullptr;
      auto c = node(ExprKind::cond, start);
      c->children.push_back(std::move(expr1));
      c->children.push_back(std::move(cond));
      c->children.push_back(std::move(other));
      expr1 = std::move(c);
    }
    return expr1;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto n = node(ExprKind::or_, next());
      n->children.push_back(std::move(left));
      n->children.push_back(parse_and());
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto n = node(ExprKind::and_, next());
      n->children.push_back(std::move(left));
      n->children.push_back(parse_not());
      left = std::move(n);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto n = node(ExprKind::not_, next());
      n->children.push_back(parse_not());
      return n;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = peek();
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (peek().type == Tok::op &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
           peek().text == "<=" || peek().text == ">=")) {
        op = next().text;
      } else if (skip_name("in")) {
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      if (!cmp) {
        cmp = node(ExprKind::compare, start);
        cmp->children.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr binary(const Token& at, std::string op, ExprPtr l, ExprPtr r) {
    auto n = node(ExprKind::binary, at);
    n->name = std::move(op);
    n->children.push_back(std::move(l));
    n->children.push_back(std::move(r));
    return n;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      left = binary(op, op.text, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const Token& start = peek();
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto n = node(ExprKind::concat, start);
    n->children.push_back(std::move(first));
    while (skip_op("~")) n->children.push_back(parse_math2());
    return n;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = next();
      left = binary(op, op.text, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& op = next();
      left = binary(op, op.text, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr n;
    if (is_op("-") || is_op("+")) {
      const Token& op = next();
      n = node(op.text == "-" ? ExprKind::neg : ExprKind::pos, op);
      n->children.push_back(parse_unary(false));
    } else {
      n = parse_primary();
    }
    n = parse_postfix(std::move(n));
    if (with_filter) n = parse_filter_expr(std::move(n));
    return n;
  }

  ExprPtr parse_primary() {
    DepthGuard guard(*this);
    const Token& t = peek();
    switch (t.type) {
      case Tok::name: {
        next();
        auto n = node(ExprKind::literal, t);
        if (t.text == "true" || t.text == "True") n->literal = Value::boolean(true);
        else if (t.text == "false" || t.text == "False") n->literal = Value::boolean(false);
        else if (t.text == "none" || t.text == "None") n->literal = Value::none();
        else {
          n->kind = ExprKind::name;
          n->name = t.text;
        }
        return n;
      }
      case Tok::string: {
        auto n = node(ExprKind::literal, t);
        std::string s;
        while (peek().type == Tok::string) s += next().text;  // adjacent literals concatenate
        n->literal = Value::string(std::move(s));
        return n;
      }
      case Tok::integer: {
        next();
        auto n = node(ExprKind::literal, t);
        errno = 0;
        const long long v = std::strtoll(t.text.c_str(), nullptr, 10);
        if (errno == ERANGE) fail_at(t, "integer literal too large");
        n->literal = Value::integer(v);
        return n;
      }
      case Tok::floating: {
        next();
        auto n = node(ExprKind::literal, t);
        n->literal = Value::floating(std::strtod(t.text.c_str(), nullptr));
        return n;
      }
      case Tok::op:
        if (t.text == "(") return parse_paren();
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        [[fallthrough]];
      default: fail_at(t, "unexpected " + describe(t) + ", expected an expression");
    }
  }

  ExprPtr parse_paren() {
    const Token& open = next();
    if (skip_op(")")) return node(ExprKind::tuple, open);
    ExprPtr first = parse_expression(true);
    if (!is_op(",")) {
      expect_op(")");
      return first;
    }
    auto t = node(ExprKind::tuple, open);
    t->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (is_op(")")) break;
      t->children.push_back(parse_expression(true));
    }
    expect_op(")");
    return t;
  }

  ExprPtr parse_list() {
    auto n = node(ExprKind::list, next());
    while (!skip_op("]")) {
      if (!n->children.empty()) {
        expect_op(",");
        if (skip_op("]")) break;
      }
      n->children.push_back(parse_expression(true));
    }
    return n;
  }

  ExprPtr parse_dict() {
    auto n = node(ExprKind::dict, next());
    while (!skip_op("}")) {
      if (!n->children.empty()) {
        expect_op(",");
        if (skip_op("}")) break;
      }
      n->children.push_back(parse_expression(true));
      expect_op(":");
      n->children.push_back(parse_expression(true));
    }
    return n;
  }

  ExprPtr parse_postfix(ExprPtr n) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        n = parse_subscript(std::move(n));
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    DepthGuard guard(*this);
    const Token& t = next();
    if (t.text == ".") {
      const Token& attr = next();
      if (attr.type == Tok::name) {
        auto n = node(ExprKind::getattr, attr);
        n->name = attr.text;
        n->children.push_back(std::move(obj));
        return n;
      }
      if (attr.type == Tok::integer) {
        auto n = node(ExprKind::getitem, attr);
        n->children.push_back(std::move(obj));
        auto idx = node(ExprKind::literal, attr);
        idx->literal = Value::integer(std::strtoll(attr.text.c_str(), nullptr, 10));
        n->children.push_back(std::move(idx));
        return n;
      }
      fail_at(attr, "expected a name after '.', got " + describe(attr));
    }
    // '[': index or slice
    ExprPtr parts[3];
    bool is_slice = false;
    for (int k = 0; k < 3; ++k) {
      if (!is_op(":") && !is_op("]")) parts[k] = parse_expression(true);
      if (k < 2 && skip_op(":")) {
        is_slice = true;
        continue;
      }
      break;
    }
    expect_op("]");
    if (!is_slice) {
      if (!parts[0]) fail_at(t, "expected an index inside '[]'");
      auto n = node(ExprKind::getitem, t);
      n->children.push_back(std::move(obj));
      n->children.push_back(std::move(parts[0]));
      return n;
    }
    auto n = node(ExprKind::slice, t);
    n->children.push_back(std::move(obj));
    for (auto& p : parts) n->children.push_back(std::move(p));
    return n;
  }

  void parse_call_args(Expr& n) {
    expect_op("(");
    bool first = true;
    while (!skip_op(")")) {
      if (!first) {
        expect_op(",");
        if (skip_op(")")) break;
      }
      first = false;
      if (is_op("*") || is_op("**")) fail_here("*args and **kwargs in calls are not supported");
      if (peek().type == Tok::name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        n.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        if (!n.kwargs.empty()) fail_here("positional argument after keyword argument");
        n.children.push_back(parse_expression(true));
      }
    }
  }

  ExprPtr parse_call(ExprPtr callee) {
    DepthGuard guard(*this);
    auto n = node(ExprKind::call, peek());
    n->children.push_back(std::move(callee));
    parse_call_args(*n);
    return n;
  }

  // `subject | f1(args) | f2` (subject null in `{% filter %}` and `{% set x | f %}`).
  ExprPtr parse_filter_chain(ExprPtr subject, bool needs_pipe = true) {
    bool first = true;
    do {
      if (needs_pipe || !first) expect_op("|");
      first = false;
      DepthGuard guard(*this);
      const Token& at = peek();
      auto f = node(ExprKind::filter, at);
      f->name = expect_name();
      while (skip_op(".")) f->name.append(".").append(expect_name());
      f->children.push_back(std::move(subject));
      if (is_op("(")) parse_call_args(*f);
      subject = std::move(f);
    } while (is_op("|"));
    return subject;
  }

  ExprPtr parse_filter_expr(ExprPtr n) {
    while (true) {
      if (is_op("|")) {
        const Token& pipe = next();
        DepthGuard guard(*this);
        auto f = node(ExprKind::filter, pipe);
        f->name = expect_name();
        while (skip_op(".")) f->name.append(".").append(expect_name());
        f->children.push_back(std::move(n));
        if (is_op("(")) parse_call_args(*f);
        n = std::move(f);
      } else if (is_name("is")) {
        n = parse_test(std::move(n));
      } else if (is_op("(")) {
        n = parse_call(std::move(n));
      } else {
        return n;
      }
    }
  }

  ExprPtr parse_test(ExprPtr subject) {
    DepthGuard guard(*this);
    const Token& is = next();
    auto t = node(ExprKind::test, is);
    t->negated = skip_name("not");
    t->name = expect_name();
    while (skip_op(".")) t->name.append(".").append(expect_name());
    t->children.push_back(std::move(subject));
    if (is_op("(")) {
      parse_call_args(*t);
    } else {
      const Token& a = peek();
      const bool starts_arg = a.type == Tok::string || a.type == Tok::integer || a.type == Tok::floating ||
                              (a.type == Tok::name && a.text != "else" && a.text != "or" && a.text != "and" &&
                               a.text != "if" && a.text != "in" && a.text != "is" && a.text != "not") ||
                              is_op("[") || is_op("{") || is_op("-");
      if (starts_arg && !is_op("-")) t->children.push_back(parse_postfix(parse_primary()));
    }
    return t;
  }

  std::vector<Token> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

std::shared_ptr<const Template> parse_template(std::string_view source) { return Parser(tokenize(source)).run(); }

}  // namespace cnai::text::jinja
