"""The type stubs of the native module (cnai/_cnai.pyi) name exactly what the
module has, class by class and member by member; help() has something to say."""
import ast
import pydoc
from pathlib import Path

import cnai
from cnai import _cnai


def stub_tree():
    return ast.parse((Path(cnai.__file__).parent / "_cnai.pyi").read_text())


def public(names):
    return {n for n in names if not n.startswith("_") or n in ("__version__", "_raise", "__len__")}


def test_stub_names_match_the_module():
    tree = stub_tree()
    stubbed = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign):
                    members.add(item.target.id)
            stubbed[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            stubbed[node.name] = None
        elif isinstance(node, ast.AnnAssign):
            stubbed[node.target.id] = None
    module_names = public(n for n in dir(_cnai) if not (n.startswith("__") and n != "__version__"))
    assert set(stubbed) == module_names
    for name, members in stubbed.items():
        if members is None:
            continue
        cls = getattr(_cnai, name)
        assert public(members) == public(vars(cls)), name


def test_help_is_useful():
    text = pydoc.render_doc(cnai.Client, renderer=pydoc.plaintext)
    for phrase in ("chat.completions.create", "config=", "embeddings", "GIL"):
        assert phrase in text
    assert "stream=True" in cnai._client.Completions.create.__doc__
