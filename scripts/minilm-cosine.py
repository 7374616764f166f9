#!/usr/bin/env python3
"""Sentence-embedding cosine between an original and a restored all-MiniLM-L6-v2 checkpoint.

Usage: minilm-cosine.py [--score [--with-se]] [--set search|check|fixed] MODEL_DIR ORIGINAL.safetensors RESTORED.safetensors [...]
  --score  prints only the mean cosine (of one restored file): a metric for `compress --eval-cmd`
  --with-se  with --score, also the standard error of the mean cosine's drop (std / sqrt(n) of the
           per-sentence cosines), which `compress --margin` then adds to each drop
  --set    the sentences: `search` (default) 300 = the 40 fixed ones below, then 260 made from
           templates with a fixed seed; `check` 200 others from the templates (another seed, none of
           the 300), to see whether a bound chosen on the 300 holds on sentences the search never
           saw; `fixed` the 40 alone (the figures measured before the sets existed).

A plain numpy BERT forward (6 layers, 12 heads, GELU, LayerNorm), mean pooling over the attention
mask and L2 normalisation, as the sentence-transformers modules.json of the model prescribes;
tokenised with the model's tokenizer.json (`tokenizers` package). Prints, for each restored file,
the mean and minimum cosine between original and restored embeddings of the sentences.
Needs numpy, safetensors, tokenizers; no torch, no network.
"""
import sys
import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "The cat sits on the mat.", "A man is playing a guitar on stage.", "Stock markets fell sharply on Monday.",
    "How do I reset my password?", "The weather in Paris is lovely in spring.", "Quantum computers use qubits.",
    "She baked a chocolate cake for her friend's birthday.", "The train to Berlin is delayed by twenty minutes.",
    "Photosynthesis converts light into chemical energy.", "He forgot his umbrella and got soaked.",
    "Neural networks can be compressed with quantisation.", "The museum opens at nine in the morning.",
    "A dog is chasing a ball in the park.", "Interest rates were raised by the central bank.",
    "Please send me the report by Friday.", "The mountain was covered in fresh snow.",
    "Children are playing football in the street.", "This restaurant serves the best sushi in town.",
    "The patient was given antibiotics for the infection.", "Volcanoes release gas and ash into the atmosphere.",
    "My laptop battery drains too quickly.", "The orchestra performed Beethoven's ninth symphony.",
    "He is learning to speak Japanese.", "The bridge was closed for repairs.", "Bees are essential pollinators.",
    "She won the chess tournament last year.", "The package arrived damaged.", "Rain is expected tomorrow afternoon.",
    "The startup raised ten million dollars.", "A woman is slicing tomatoes in the kitchen.",
    "JPEG compresses images with the discrete cosine transform.", "The election results will be announced tonight.",
    "He ran the marathon in under three hours.", "The library has a large collection of old maps.",
    "Turn left at the second traffic light.", "The soup needs more salt.", "Satellites orbit the Earth.",
    "They adopted a kitten from the shelter.", "The printer is out of paper again.", "Glaciers are melting faster than predicted.",
]

SUBJECTS = ["The old farmer", "A young engineer", "My neighbour", "The committee", "Our teacher", "A tired nurse",
            "The pilot", "Her brother", "The new manager", "A small child", "The scientist", "His grandmother",
            "The football team", "A local artist", "The mayor", "Every student", "The chef", "A stray dog",
            "The software company", "The river"]
VERBS = ["repaired", "painted", "sold", "described", "carried", "cancelled", "studied", "photographed", "ignored",
         "translated", "measured", "cleaned", "borrowed", "designed", "delivered", "criticised", "discovered",
         "tested", "ordered", "explained"]
OBJECTS = ["the broken fence", "a letter to the council", "the quarterly budget", "an ancient map", "the heavy boxes",
           "the evening concert", "a rare butterfly", "the kitchen floor", "the final exam", "a bicycle",
           "the weather forecast", "the hospital records", "a wooden boat", "the train schedule", "a birthday present",
           "the solar panels", "the missing keys", "a poem about winter", "the water supply", "the new contract"]
PLACES = ["before sunrise", "in the village", "after the meeting", "near the harbour", "during the storm",
          "at the airport", "last weekend", "in a hurry", "without any help", "on a rainy afternoon",
          "behind the station", "for the second time", "in the laboratory", "under pressure", "at midnight",
          "with great care", "in front of everyone", "across the border", "at the market", "despite the noise"]
QUESTIONS = ["Why did {s} leave {o} {p}?", "Has {s} ever {v} {o}?", "Where did {s} find {o}?",
             "Who {v} {o} {p}?", "Is it true that {s} {v} {o}?"]

def generated(count, seed, avoid=()):
    """`count` distinct sentences from the templates (deterministic for a seed), none in `avoid`."""
    import random
    rng = random.Random(seed)
    seen, out = set(avoid), []
    while len(out) < count:
        s, v, o, p = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(PLACES)
        if rng.random() < 0.2:
            text = rng.choice(QUESTIONS).format(s=s.lower() if not s.startswith(("My", "Her", "His", "Our")) else s, v=v, o=o, p=p)
            text = text[0].upper() + text[1:]
        else:
            text = f"{s} {v} {o} {p}."
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out

SEARCH = SENTENCES + generated(260, seed=1)
CHECK = generated(200, seed=2, avoid=SEARCH)

def layer_norm(x, w, b, eps=1e-12):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b

def gelu(x):
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))

def _erf(x):
    """erf to about 1e-7 (Abramowitz–Stegun 7.1.26), vectorised."""
    s = np.sign(x); a = np.abs(x)
    t = 1 / (1 + 0.3275911 * a)
    y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return s * y

def embed(t, ids, mask):
    f = lambda k: t[k].astype(np.float64)
    n = ids.shape[1]
    x = f("embeddings.word_embeddings.weight")[ids] + f("embeddings.position_embeddings.weight")[:n][None] \
        + f("embeddings.token_type_embeddings.weight")[0][None, None]
    x = layer_norm(x, f("embeddings.LayerNorm.weight"), f("embeddings.LayerNorm.bias"))
    heads, d = 12, 32
    bias = (1.0 - mask[:, None, None, :]) * -1e9
    for l in range(6):
        p = f"encoder.layer.{l}."
        # One matrix product over all tokens (a 3-D operand makes numpy loop over the sentences).
        lin = lambda h, name: (h.reshape(-1, h.shape[-1]) @ f(p + name + ".weight").T).reshape(*h.shape[:-1], -1) + f(p + name + ".bias")
        B = x.shape[0]
        q = lin(x, "attention.self.query").reshape(B, n, heads, d).transpose(0, 2, 1, 3)
        k = lin(x, "attention.self.key").reshape(B, n, heads, d).transpose(0, 2, 1, 3)
        v = lin(x, "attention.self.value").reshape(B, n, heads, d).transpose(0, 2, 1, 3)
        a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + bias
        a = np.exp(a - a.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
        c = (a @ v).transpose(0, 2, 1, 3).reshape(B, n, heads * d)
        x = layer_norm(lin(c, "attention.output.dense") + x, f(p + "attention.output.LayerNorm.weight"), f(p + "attention.output.LayerNorm.bias"))
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(lin(h, "output.dense") + x, f(p + "output.LayerNorm.weight"), f(p + "output.LayerNorm.bias"))
    pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

def reference(original, ids, mask):
    """The original's embeddings, cached in the temporary folder under the file's path, size and
    time and the sentence set (a search scores the same original dozens of times)."""
    import hashlib, os, tempfile
    st = os.stat(original)
    key = hashlib.sha256(f"{os.path.abspath(original)}|{st.st_size}|{st.st_mtime_ns}|float64|{ids.tobytes().hex()}".encode()).hexdigest()[:24]
    path = os.path.join(tempfile.gettempdir(), f"minilm-cosine-{key}.npy")
    if os.path.exists(path):
        return np.load(path)
    ref = embed(load_file(original), ids, mask)
    tmp = f"{path}.{os.getpid()}.npy"
    np.save(tmp, ref)
    os.replace(tmp, path)
    return ref

def main():
    args = sys.argv[1:]
    score = "--score" in args[:4]
    if score:
        args.remove("--score")
    with_se = "--with-se" in args[:3]
    if with_se:
        args.remove("--with-se")
    name = "search"
    if args[:1] == ["--set"]:
        name, args = args[1], args[2:]
    sets = {"search": SEARCH, "check": CHECK, "fixed": SENTENCES}
    if name not in sets or len(args) < 3:
        sys.exit(__doc__)
    model_dir, original, restored = args[0], args[1], args[2:]
    sentences = sets[name]
    tok = Tokenizer.from_file(model_dir + "/tokenizer.json")
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(sentences)
    ids = np.array([e.ids for e in enc]); mask = np.array([e.attention_mask for e in enc], dtype=np.float64)
    ref = reference(original, ids, mask)
    for path in restored:
        e = embed(load_file(path), ids, mask)
        cos = (ref * e).sum(1)
        if score:
            se = cos.std(ddof=1) / np.sqrt(len(cos)) if len(cos) > 1 else 0.0
            print(f"{cos.mean():.8f} {se:.8f}" if with_se else f"{cos.mean():.8f}")
            continue
        print(f"{path}: cosine mean {cos.mean():.5f} min {cos.min():.5f} over {len(sentences)} sentences ({name})")

if __name__ == "__main__":
    main()
