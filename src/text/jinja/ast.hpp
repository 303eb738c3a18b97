// The parsed form of a Jinja template: expression and statement nodes.
// One generic node type per family keeps the parser and evaluator short.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.hpp"

namespace cnai::text::jinja {

enum class ExprKind {
  literal, name, list, tuple, dict, getattr, getitem, slice, call, filter, test,
  neg, pos, not_, binary, compare, and_, or_, cond, concat,
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::literal;
  int line = 0;
  int col = 0;
  Value literal;
  std::string name;                 // variable, attribute, filter, test or binary operator
  std::vector<ExprPtr> children;    // operands, items, args (slice: object, start, stop, step; null = omitted)
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;     // compare: one operator between each pair of children
  bool negated = false;             // `is not`
};

enum class StmtKind { text, output, if_, for_, set, set_block, macro, filter_block, break_, continue_, block };

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  StmtKind kind = StmtKind::text;
  int line = 0;
  int col = 0;
  std::string text;                                 // text; macro name; set: namespace attribute
  ExprPtr expr;                                     // output value; set value; for iterable; filter (null subject)
  std::vector<std::pair<ExprPtr, Body>> branches;   // if/elif/else (else: null condition)
  std::vector<std::string> targets;                 // for / set names
  ExprPtr condition;                                // for ... if condition
  Body body;
  Body else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro parameters and defaults
};

struct Template {
  Body body;
};

}  // namespace cnai::text::jinja
