#!/usr/bin/python3
"""Write a small PyTorch model's state_dict as safetensors, without the
safetensors package, plus a JSON summary of the expected values.

Generated with Debian's python3-torch 1.13 (CPU):

    /usr/bin/python3 train/checkpoint/testdata/make_torch.py train/checkpoint/testdata

It writes torch_model.safetensors and torch_model.json. The tensors are in
torch's state_dict order (not sorted by name, unlike coldnode's canonical
encoding), the header is written by json.dumps in that order, one tensor is
F16, one is I64, and __metadata__ is set. All bytes come from
tensor.numpy().tobytes() (little-endian on x86 and arm64).
"""
import hashlib
import json
import os
import struct
import sys

import torch
from torch import nn

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(64, 16)
        self.encoder = nn.Linear(16, 32)
        self.classifier = nn.Linear(32, 3)
        self.register_buffer("position_ids", torch.arange(8, dtype=torch.int64))


def build_state():
    torch.manual_seed(1234)
    model = Model()
    state = model.state_dict()
    state["encoder.bias"] = state["encoder.bias"].half()
    return state


def encode(state, meta):
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, t in state.items():
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def summary(state, meta):
    tensors = []
    for name, t in state.items():
        flat = t.flatten()
        tensors.append({
            "name": name,
            "dtype": DTYPES[t.dtype],
            "shape": list(t.shape),
            "first": [float(x) for x in flat[:4].double()],
            "sum": float(flat.double().sum()),
            "sha256": hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest(),
        })
    return {"torch": torch.__version__, "metadata": meta, "tensors": tensors}


def main(out):
    state = build_state()
    meta = {"format": "pt", "source": "make_torch.py"}
    blob = encode(state, meta)
    with open(os.path.join(out, "torch_model.safetensors"), "wb") as f:
        f.write(blob)
    doc = summary(state, meta)
    doc["file_sha256"] = hashlib.sha256(blob).hexdigest()
    with open(os.path.join(out, "torch_model.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
