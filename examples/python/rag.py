"""Answer a question over a few documents, locally: embed the documents with
the default embedding model (all-MiniLM-L6-v2), pick the closest to the
question by cosine similarity (NumPy), and let the default chat model answer
from them.

    python rag.py "In which town is the Zorblax festival held?"
"""
import sys

import numpy as np

import cnai

DOCUMENTS = [
    "The Zorblax festival is held every spring in the mountain town of Vellmoor.",
    "Vellmoor's bakery is famous for its blue bread, baked with butterfly pea flowers.",
    "The river Ostra flows north from the lake of Dunmere into the Grey Sea.",
    "Quantum error correction protects qubits from noise by spreading information over many physical qubits.",
    "The 1998 chess tournament in Reykjavik was won by a twelve-year-old player.",
]


def main(question: str, top_k: int = 2) -> None:
    embedder = cnai.Client(model=cnai.default_embedding_model_path())
    docs = embedder.embeddings.create(input=DOCUMENTS, as_numpy=True).numpy()
    query = embedder.embeddings.create(input=[question], as_numpy=True).numpy()[0]
    scores = docs @ query  # the vectors are L2-normalised: dot product = cosine
    best = np.argsort(-scores)[:top_k]
    for i in best:
        print(f"retrieved [{scores[i]:.3f}] {DOCUMENTS[i]}")
    context = "\n".join(DOCUMENTS[i] for i in best)

    chat = cnai.Client()  # the default chat model
    answer = chat.chat.completions.create(
        messages=[{"role": "system", "content": "Answer in one short sentence using only the given context."},
                  {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"}],
        temperature=0, max_tokens=48)
    print("answer:", answer.choices[0].message.content)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "In which town is the Zorblax festival held?")
