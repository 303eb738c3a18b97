"""Cross-checks `cnai info --json` (our GgufReader) against gguf-py, an
independent GGUF implementation: a file written by gguf-py's GGUFWriter with
every value type, and the real default model read by gguf-py's GGUFReader."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import gguf  # scripts/requirements.txt: a missing one is a failure, not a skip

from cnai_support import CNAI_BIN, default_model


def cnai_info(path):
    out = subprocess.run([CNAI_BIN, "info", str(path), "--json"], check=True, capture_output=True, timeout=60)
    return json.loads(out.stdout)


def test_file_written_by_gguf_py(tmp_path):
    path = tmp_path / "w.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_uint64("t.u64", 1 << 60)
    w.add_int64("t.i64", -(1 << 60))
    w.add_float32("t.f32", 1.5)
    w.add_float64("t.f64", -2.25)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "héllo")
    w.add_array("t.strs", ["a", "bc"])
    w.add_array("t.long", list(range(100)))
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.arange(6, dtype=np.float16).reshape(2, 3)
    w.add_tensor("a", a)
    w.add_tensor("b", b)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    info = cnai_info(path)
    m = info["metadata"]
    assert info["alignment"] == 64
    assert m["general.architecture"] == "llama"
    assert (m["t.u8"], m["t.i8"], m["t.u16"], m["t.i16"]) == (200, -100, 60000, -30000)
    assert (m["t.u32"], m["t.i32"], m["t.u64"], m["t.i64"]) == (4000000000, -2000000000, 1 << 60, -(1 << 60))
    assert (m["t.f32"], m["t.f64"], m["t.bool"], m["t.str"]) == (1.5, -2.25, True, "héllo")
    assert m["t.strs"] == ["a", "bc"]
    assert m["t.long"]["length"] == 100
    tensors = {t["name"]: t for t in info["tensors"]}
    assert tensors["a"]["type"] == "F32" and tensors["a"]["shape"] == [3, 4] and tensors["a"]["bytes"] == 48
    assert tensors["b"]["type"] == "F16" and tensors["b"]["shape"] == [2, 3] and tensors["b"]["bytes"] == 12
    raw = path.read_bytes()
    off = tensors["a"]["offset"]
    assert off % 64 == 0
    assert np.array_equal(np.frombuffer(raw[off:off + 48], dtype=np.float32).reshape(3, 4), a)


def test_default_model_matches_gguf_py():
    path = default_model()
    info = cnai_info(path)
    ref = gguf.GGUFReader(str(path))
    ours = {t["name"]: t for t in info["tensors"]}
    assert len(ours) == len(ref.tensors) == 272
    for t in ref.tensors:
        o = ours[t.name]
        assert o["type"] == t.tensor_type.name
        assert o["shape"] == [int(d) for d in reversed(t.shape.tolist())]
        assert o["offset"] == t.data_offset
        assert o["bytes"] == t.n_bytes
    ref_keys = [k for k in ref.fields if not k.startswith("GGUF.")]
    assert list(info["metadata"].keys()) == ref_keys
    assert info["metadata"]["llama.attention.head_count"] == 9
