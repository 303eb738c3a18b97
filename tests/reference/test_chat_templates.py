"""Renders every chat template in the shared data folder (plus the default
model's own template) with Python's jinja2, configured exactly as Hugging Face
transformers does, and with `cnai template --context`, and asserts identical
output. When jinja2 raises (a template rejecting a conversation), cnai must fail
too, with an error message.

strftime_now: both sides use the fixed time 2024-07-26 12:00:00 (cnai reads it
from env CNAI_TEMPLATE_NOW)."""
import datetime
import functools
import json
import os
import random
import struct
import subprocess
from pathlib import Path

import pytest

import jinja2  # scripts/requirements.txt: a missing one is a failure, not a skip
from jinja2.sandbox import ImmutableSandboxedEnvironment  # noqa: E402

from cnai_support import CNAI_BIN, SHARED_DATA, default_model, shared_data  # noqa: E402
TEMPLATE_DIR = SHARED_DATA / "chat-templates"
FIXED_NOW = datetime.datetime(2024, 7, 26, 12, 0, 0)


@functools.lru_cache(maxsize=None)
def gguf_string(path, wanted):
    """One string value from a GGUF file's metadata (a minimal reader: gguf-py's
    GGUFReader takes seconds on the default model because it decodes every array)."""
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    with open(path, "rb") as f:
        magic, _version, _tensors, kv_count = struct.unpack("<4sIQQ", f.read(24))
        assert magic == b"GGUF"

        def read_str():
            (n,) = struct.unpack("<Q", f.read(8))
            return f.read(n)

        def skip(vtype):
            if vtype == 8:
                read_str()
            elif vtype == 9:
                itype, count = struct.unpack("<IQ", f.read(12))
                if itype in sizes:
                    f.seek(sizes[itype] * count, 1)
                else:
                    for _ in range(count):
                        skip(itype)
            else:
                f.seek(sizes[vtype], 1)

        for _ in range(kv_count):
            key = read_str().decode()
            (vtype,) = struct.unpack("<I", f.read(4))
            if key == wanted and vtype == 8:
                return read_str().decode("utf-8")
            skip(vtype)
    raise KeyError(wanted)


# --- the reference renderer: transformers' _compile_jinja_template ----------
class TemplateRaised(Exception):
    pass


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return FIXED_NOW.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_env()


# --- conversations ----------------------------------------------------------
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
                "days": {"type": "integer", "description": "Forecast days", "default": 1, "minimum": 1, "maximum": 7},
            },
            "required": ["location"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for"},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Filter tags"},
                "options": {
                    "type": "object",
                    "properties": {"safe": {"type": "boolean", "description": "Safe search"}},
                    "additionalProperties": {"type": "number"},
                },
                "score": {"type": ["number", "null"], "description": "Minimum score"},
            },
            "required": ["query", "tags"],
        },
    },
}


def tool_call_conversation(string_arguments):
    args = {"location": "Paris", "unit": "celsius"}
    return [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call12345",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": json.dumps(args) if string_arguments else args},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": '{"temperature": 21, "sky": "clear"}'},
        {"role": "assistant", "content": "It is 21 °C and clear in Paris."},
        {"role": "user", "content": "Thanks!"},
    ]


CONVERSATIONS = {
    "system_user": ([{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello!"}], None),
    "multi_turn": (
        [
            {"role": "user", "content": "Hi there"},
            {"role": "assistant", "content": "  Hello! How can I help?  "},
            {"role": "user", "content": "Tell me a joke.\n"},
        ],
        None,
    ),
    "system_multi_turn": (
        [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "<think>easy</think>4"},
            {"role": "user", "content": "And 3+3?"},
        ],
        None,
    ),
    "tool_call": (tool_call_conversation(False), [WEATHER_TOOL, SEARCH_TOOL]),
    "tool_call_string_args": (tool_call_conversation(True), [WEATHER_TOOL]),
    "tool_call_one_tool": (tool_call_conversation(False), [WEATHER_TOOL]),
    "unicode": (
        [
            {"role": "user", "content": "Héllo wörld 😀 你好 — ‘quotes’ \"double\" <tag> & back\\slash\ttab"},
            {"role": "assistant", "content": "こんにちは 🌍 Ωμέγα"},
            {"role": "user", "content": "Emoji: 👩‍👩‍👧 and RTL: مرحبا"},
        ],
        None,
    ),
    "single_user": ([{"role": "user", "content": "Just one question?"}], None),
    "tools_no_system": (
        [{"role": "user", "content": "Weather in Oslo and news about it?"}],
        [WEATHER_TOOL, SEARCH_TOOL],
    ),
    "content_parts": (
        [{"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": " this."}]}],
        None,
    ),
    "empty_content": ([{"role": "user", "content": ""}, {"role": "assistant", "content": ""}, {"role": "user", "content": " "}], None),
}


def context_for(conversation, add_generation_prompt):
    messages, tools = CONVERSATIONS[conversation]
    return {
        "messages": messages,
        "tools": tools,
        "add_generation_prompt": add_generation_prompt,
        "bos_token": "<s>",
        "eos_token": "</s>",
        # Variables some templates read without defining (firefunction-v2).
        "functions": json.dumps([WEATHER_TOOL["function"]]),
        "datetime": "2024-07-26",
    }


@functools.lru_cache(maxsize=None)
def compiled(source):
    return ENV.from_string(source)


def reference_render(source, context):
    try:
        return compiled(source).render(**context), None
    except Exception as e:  # noqa: BLE001 - any jinja2 failure is an expected failure
        return None, e


def cnai_render(tmp_path, template_args, context):
    ctx = tmp_path / "context.json"
    ctx.write_text(json.dumps(context, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, CNAI_TEMPLATE_NOW=FIXED_NOW.strftime("%Y-%m-%d %H:%M:%S"))
    return subprocess.run([CNAI_BIN, "template", *template_args, "--context", str(ctx)],
                          capture_output=True, timeout=30, env=env)


def check(tmp_path, source, template_args, context):
    expected, error = reference_render(source, context)
    proc = cnai_render(tmp_path, template_args, context)
    stderr = proc.stderr.decode("utf-8", "replace")
    if error is not None:
        assert proc.returncode != 0, f"jinja2 raised {error!r} but cnai rendered:\n{proc.stdout.decode()}"
        assert "error" in stderr
        if isinstance(error, jinja2.exceptions.TemplateError) and type(error) is jinja2.exceptions.TemplateError:
            assert str(error) in stderr  # raise_exception's message is passed through
        return
    assert proc.returncode == 0, f"cnai failed: {stderr}"
    assert proc.stdout.decode("utf-8") == expected


TEMPLATES = sorted(p.name for p in TEMPLATE_DIR.glob("*.jinja"))
CASES = [(c, g) for c in CONVERSATIONS for g in (True, False)]


def test_templates_present():
    shared_data("chat-templates")
    assert len(TEMPLATES) >= 17, f"expected the shared chat templates in {TEMPLATE_DIR}"


@pytest.mark.parametrize("conversation,add_generation_prompt", CASES,
                         ids=[f"{c}-{'gen' if g else 'nogen'}" for c, g in CASES])
@pytest.mark.parametrize("template", TEMPLATES)
def test_shared_template(tmp_path, template, conversation, add_generation_prompt):
    path = TEMPLATE_DIR / template
    check(tmp_path, path.read_text(encoding="utf-8"), ["--template", str(path)],
          context_for(conversation, add_generation_prompt))


@pytest.mark.parametrize("conversation,add_generation_prompt", CASES,
                         ids=[f"{c}-{'gen' if g else 'nogen'}" for c, g in CASES])
def test_default_model_template(tmp_path, conversation, add_generation_prompt):
    model = default_model()
    source = gguf_string(str(model), "tokenizer.chat_template")
    check(tmp_path, source, ["-m", str(model)], context_for(conversation, add_generation_prompt))


# --- randomized differential checks (fixed seeds) ----------------------------
# Whitespace control (trim_blocks, lstrip_blocks, -/+ markers, comments, raw)
# and expression semantics (operators, filters, tests, printing) on generated
# templates; jinja2 computes the expected text at test time.
WS_PIECES = ["{% if x %}", "{%- if x %}", "{% if x -%}", "{%+ if x %}", "{% if x +%}", "{{ 'v' }}", "{{- 'v' }}",
             "{{ 'v' -}}", "{# c #}", "{#- c -#}", "{# c -#}", "  ", "\n", "\t", "a", " b ", "\n  ",
             "{% for i in [1,2] %}", "{%- for i in [1,2] -%}", "{{ i }}", "{% set y = 1 %}", "{%- set y = 2 -%}",
             "\r\n", "{% raw %} {{x}} {% endraw %}"]


def whitespace_template(seed):
    rng = random.Random(seed)
    parts, stack = [], []
    for _ in range(rng.randint(1, 14)):
        piece = rng.choice(WS_PIECES)
        if "if x" in piece:
            stack.append("if")
        if "for i" in piece:
            stack.append("for")
        parts.append(piece)
        if stack and rng.random() < 0.3:
            tag = stack.pop()
            parts.append(rng.choice([f"{{% end{tag} %}}", f"{{%- end{tag} -%}}", f"{{% end{tag} -%}}", f"{{%- end{tag} %}}"]))
    parts += [f"{{% end{tag} %}}" for tag in reversed(stack)]
    return "".join(parts)


EXPR_ATOMS = ["1", "0", "-3", "2.5", "0.1", "'ab'", "''", "'Hé 😀'", "none", "true", "false", "[1, 2]", "[]",
              "{'k': 'v', 'n': 1}", "{}", "(1, 'x')", "xs", "d", "s", "u", "n", "'a,b'", "[3, 1, 2]", "1e3", "7"]
EXPR_OPS = ["+", "-", "*", "/", "//", "==", "!=", "<", ">=", "and", "or", "in", "not in", "~", "**"]
EXPR_FILTERS = ["length", "string", "trim", "lower", "upper", "tojson", "first", "last", "list", "default('D')",
                "default('D', true)", "join(',')", "int", "float", "abs", "reverse|list", "sort", "unique|list",
                "capitalize", "title", "items|list", "dictsort", "tojson(indent=2)", "indent(2)", "replace('a', 'X')",
                "select|list", "map('string')|list", "sum", "max", "min", "round", "count"]
EXPR_TESTS = ["defined", "none", "string", "number", "mapping", "iterable", "sequence", "odd", "even", "integer",
              "float", "boolean", "lower", "upper", "true", "false"]
EXPR_CONTEXT = {"xs": [1, "two", None, 3.5], "d": {"b": 2, "a": 1}, "s": "  Mixed Case  ", "n": None}


def expression_template(seed):
    rng = random.Random(seed)

    def expr(depth=0):
        r = rng.random()
        if depth > 3 or r < 0.3:
            return rng.choice(EXPR_ATOMS)
        if r < 0.55:
            return f"({expr(depth + 1)} {rng.choice(EXPR_OPS)} {expr(depth + 1)})"
        if r < 0.75:
            return f"({expr(depth + 1)}|{rng.choice(EXPR_FILTERS)})"
        if r < 0.85:
            return f"({expr(depth + 1)} is {rng.choice(['', 'not '])}{rng.choice(EXPR_TESTS)})"
        if r < 0.95:
            return f"({expr(depth + 1)} if {expr(depth + 1)} else {expr(depth + 1)})"
        return f"(not {expr(depth + 1)})"

    return "{{ " + expr() + " }}"


@pytest.mark.parametrize("seed", range(60))
def test_random_whitespace_control(tmp_path, seed):
    source = whitespace_template(seed)
    path = tmp_path / "t.jinja"
    path.write_bytes(source.encode("utf-8"))
    check(tmp_path, source, ["--template", str(path)], {"x": True})


@pytest.mark.parametrize("seed", range(100))
def test_random_expressions(tmp_path, seed):
    source = expression_template(seed)
    path = tmp_path / "t.jinja"
    path.write_text(source, encoding="utf-8")
    check(tmp_path, source, ["--template", str(path)], EXPR_CONTEXT)


# --- dicts with non-string keys, as Python's --------------------------------
# Published templates build lookup tables such as {0: 'User', 1: 'Assistant'};
# jinja2 (Python dicts) decides every expected output here.
INT_KEY_TEMPLATES = [
    "{% set names = {0: 'User', 1: 'Assistant'} %}{% for m in messages %}{{ names[loop.index0 % 2] }}: {{ m.content }}\n{% endfor %}",
    "{% set d = {1: 'a', 2.5: 'b', true: 'c', none: 'n', 'k': 'v'} %}{{ d }}|{{ d[1] }}|{{ d[2.5] }}|{{ d[none] }}|{{ d|length }}",
    "{% set d = {1: 'int', 1.0: 'float', true: 'bool'} %}{{ d }} {{ d|length }} {{ d[1.0] }}",
    "{% set d = {(1, 2): 'pair', (3,): 'one'} %}{{ d[(1, 2)] }} {{ (1, 2) in d }} {{ (2, 1) in d }} {{ d }}",
    "{% set d = {3: 'c', 1: 'a', 2: 'b'} %}{% for k in d %}{{ k }}{% endfor %} {{ d|dictsort }} {{ d.keys()|list }} {{ d.items()|list }}",
    "{% set d = {3: 'c', 1: 'a'} %}{{ d|tojson }} {{ {true: 1, none: 2, 1.5: 3}|tojson }} {{ d.get(3) }} {{ d.get(9, 'none') }}",
    "{% set d = {1: 'x'} %}{{ 1 in d }} {{ '1' in d }} {{ d['1'] is defined }} {{ d[2] is defined }} {{ d == {1.0: 'x'} }}",
    "{% set d = {1: 'a', 'b': 2} %}{{ d|dictsort }}",
    "{% set d = {[1]: 'list'} %}{{ d }}",
    "{{ {1: 'a'}[[1]] }}",
    "{{ {(1, 2): 'a'}|tojson }}",
    "{% set d = {0: 'zero'} %}{{ d|first }} {{ d|last }} {{ d.values()|list }} {{ d|items|list }}",
]


@pytest.mark.parametrize("index", range(len(INT_KEY_TEMPLATES)))
def test_dicts_with_non_string_keys(tmp_path, index):
    source = INT_KEY_TEMPLATES[index]
    path = tmp_path / "t.jinja"
    path.write_text(source, encoding="utf-8")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                {"role": "user", "content": "Bye"}]
    check(tmp_path, source, ["--template", str(path)], {"messages": messages})


INT_KEY_ATOMS = EXPR_ATOMS + ["{1: 'one', 2: 'two'}", "{0: 'a', true: 'b'}", "{none: 1, 2.5: 'x'}",
                              "{(1, 'x'): 3}", "{1: {2: 'deep'}}"]


@pytest.mark.parametrize("seed", range(60))
def test_random_expressions_with_non_string_keys(tmp_path, seed):
    rng = random.Random(1000 + seed)
    atoms = [rng.choice(INT_KEY_ATOMS[-5:]) for _ in range(2)]
    source = ("{% set a = " + atoms[0] + " %}{% set b = " + atoms[1] + " %}{{ (a|" + rng.choice(EXPR_FILTERS) +
              ") }} {{ a == b }} {{ " + rng.choice(["1", "2", "0", "true", "none", "2.5", "(1, 'x')", "'a'"]) +
              " in a }} {{ a[" + rng.choice(["1", "2", "0", "true", "none", "2.5", "(1, 'x')"]) + "] }}")
    path = tmp_path / "t.jinja"
    path.write_text(source, encoding="utf-8")
    check(tmp_path, source, ["--template", str(path)], EXPR_CONTEXT)
