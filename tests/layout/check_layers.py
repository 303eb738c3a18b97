#!/usr/bin/env python3
"""Checks that includes point one way between the library's layers (DESIGN.md):
a folder of src/ or include/cnai/ may include only the folders it is allowed
to use, no public header names Beast, Asio, Eigen or CUDA, and every public
header starts with its description.

Run: check_layers.py [ROOT]  (exit 1 and a list of violations on failure)."""
import pathlib
import re
import sys

# Each layer and the layers it may include (besides itself). Transitive
# closure is applied below, so list only the direct neighbours of DESIGN.md.
ALLOWED = {
    "core": [],
    "api": ["core"],
    "tensor": ["core"],
    "ops": ["tensor"],
    "gguf": ["core", "tensor"],  # tensor infos carry DType; views borrow the mapping
    "text": ["gguf", "api"],
    "model": ["ops", "gguf"],
    "engine": ["model", "text"],
    "clients": ["api"],
    "router": ["engine", "clients"],
    "server": ["router"],
}
FORBIDDEN_PUBLIC = re.compile(r"#\s*include\s*[<\"](boost/beast|boost/asio|Eigen/|eigen3/|cuda|cublas|cudnn)")
INCLUDE = re.compile(r"#\s*include\s*\"(?:cnai/)?([a-z_]+)/")


def closure():
    out = {}
    for layer in ALLOWED:
        seen, todo = set(), [layer]
        while todo:
            cur = todo.pop()
            for dep in ALLOWED[cur]:
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        out[layer] = seen | {layer}
    return out


def main(root: pathlib.Path) -> int:
    allowed = closure()
    problems = []
    for base in (root / "src", root / "include" / "cnai"):
        for path in sorted(base.rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h"):
                continue
            parts = path.relative_to(base).parts
            text = path.read_text(encoding="utf-8", errors="replace")
            if base.name == "cnai" and path.suffix == ".hpp" and not text.startswith("//"):
                problems.append(f"{path.relative_to(root)}: a public header starts with its description (// ...)")
            if base.name == "cnai" and len(parts) == 1:
                continue  # the umbrella header (cnai/cnai.hpp) includes every layer
            layer = parts[0]
            if layer not in allowed:
                problems.append(f"{path.relative_to(root)}: folder '{layer}' is not a layer of DESIGN.md")
                continue
            for n, line in enumerate(text.splitlines(), 1):
                m = INCLUDE.match(line.strip())
                if m and m.group(1) in allowed and m.group(1) not in allowed[layer]:
                    problems.append(f"{path.relative_to(root)}:{n}: {layer}/ includes {m.group(1)}/ ({line.strip()})")
                if base.name == "cnai" and FORBIDDEN_PUBLIC.search(line):
                    problems.append(f"{path.relative_to(root)}:{n}: public header names a private dependency ({line.strip()})")
    # The Python module binds the public API only (DESIGN.md): no src/ internals.
    for path in sorted((root / "python" / "src").glob("*.[ch]pp")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = re.match(r'\s*#\s*include\s*"([^"]+)"', line)
            if m and "/" in m.group(1):
                problems.append(f"{path.relative_to(root)}:{n}: python/ includes a private header ({line.strip()}); "
                                "use <cnai/...>")
    for p in problems:
        print(p)
    print(f"{len(problems)} layering problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])))
