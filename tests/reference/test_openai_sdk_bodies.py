"""The request bodies the C++ decoder tests read (tests/api/openai_sdk_bodies/)
are what the installed openai SDK sends today: regenerated through the SDK
and compared, so they cannot drift from the real client."""
import json

import openai_sdk_bodies


def test_fixtures_match_what_the_sdk_sends():
    # The SDK comes with scripts/requirements.txt: a missing one is a failure.
    sent = openai_sdk_bodies.capture_bodies()
    assert set(sent) == set(openai_sdk_bodies.CHAT) | set(openai_sdk_bodies.EMBEDDINGS)
    for name, body in sent.items():
        stored = json.loads((openai_sdk_bodies.OUT / f"{name}.json").read_text(encoding="utf-8"))
        assert stored == body, f"{name}.json differs from what the SDK sends: run tests/reference/openai_sdk_bodies.py"


def test_sdk_defaults_embeddings_to_base64():
    # The decoder must honour this: the SDK decodes base64 itself when the
    # caller asked for nothing.
    stored = json.loads((openai_sdk_bodies.OUT / "embeddings_default.json").read_text(encoding="utf-8"))
    assert stored["encoding_format"] == "base64"
