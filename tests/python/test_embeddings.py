"""client.embeddings.create on all-MiniLM-L6-v2: openai's response shape, NumPy
on request (one float32 matrix, rows as views), base64 as the API encodes it,
and vectors that mean something (similar sentences closer)."""
import base64

import numpy as np
import openai.types
import pytest

import cnai

TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply today."]


@pytest.fixture(scope="module")
def embedder(embedding_model_path):
    return cnai.Client(model=embedding_model_path, threads=1)


def test_floats_with_the_openai_shape(embedder):
    r = embedder.embeddings.create(input=TEXTS)
    parsed = openai.types.CreateEmbeddingResponse.model_validate(r.model_dump())
    assert [d.index for d in parsed.data] == [0, 1, 2]
    assert all(len(d.embedding) == 384 for d in r.data)
    assert isinstance(r.data[0].embedding[0], float)
    assert r.usage.prompt_tokens > 0 and r.backend == "local"


def test_numpy_on_request(embedder):
    r = embedder.embeddings.create(input=TEXTS, as_numpy=True)
    m = r.numpy()
    assert m.dtype == np.float32 and m.shape == (3, 384)
    assert isinstance(r.data[1].embedding, np.ndarray)
    np.testing.assert_array_equal(r.data[1].embedding, m[1])
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-4)  # L2-normalised
    sims = m @ m.T
    assert sims[0, 1] > sims[0, 2] + 0.3  # the two eating sentences are close, the market one far
    floats = embedder.embeddings.create(input=TEXTS).data[2].embedding
    np.testing.assert_array_equal(np.asarray(floats, dtype=np.float32), m[2])


def test_base64(embedder):
    r = embedder.embeddings.create(input=TEXTS[:2], encoding_format="base64")
    row = np.frombuffer(base64.b64decode(r.data[0].embedding), dtype="<f4")
    np.testing.assert_array_equal(row, embedder.embeddings.create(input=TEXTS[:1], as_numpy=True).numpy()[0])


def test_errors(embedder, client):
    with pytest.raises(cnai.BadRequestError):
        embedder.embeddings.create(input=[""])
    with pytest.raises(cnai.UnsupportedError):
        client.embeddings.create(input=["the chat model has no embeddings"])
    with pytest.raises(cnai.ContextLengthExceededError):
        embedder.embeddings.create(input=["word " * 2000])
    assert embedder.embeddings.create(input=["word " * 2000], truncate=True).numpy().shape == (1, 384)


def test_single_pass_embeddings_are_close_but_not_the_precise_ones(embedder, embedding_model_path):
    fast = cnai.Client(model=embedding_model_path, threads=1, precise_embeddings=False)
    a = embedder.embeddings.create(input=TEXTS, as_numpy=True).numpy()
    b = fast.embeddings.create(input=TEXTS, as_numpy=True).numpy()
    assert not np.array_equal(a, b)  # the option reaches the encoder
    assert (np.sum(a * b, axis=1) > 0.995).all()
