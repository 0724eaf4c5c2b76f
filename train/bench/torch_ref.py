"""PyTorch reference for `go run ./train/bench`: trains the same model on the
same token ids with the same optimiser settings and reports examples/second.

Reads a JSON job written by the Go side (see main.go) and prints one JSON line.
Models mirror train/model: "bag" is a mean EmbeddingBag (sparse gradient,
SparseAdam) then ReLU MLP layers and a linear head; "encoder" is sparse token
embeddings + learned positions, embedding LayerNorm, post-LN Transformer
encoder layers (ReLU, no dropout), masked mean pooling and a linear head.
Dense tensors use AdamW; the learning rate decays linearly after warm-up.
"""
import json
import sys
import time

import torch
from torch import nn


class Bag(nn.Module):
    def __init__(self, job):
        super().__init__()
        self.embed = nn.EmbeddingBag(job["buckets"], job["dim"], mode="mean", sparse=True)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)  # as train/model's Embed init
        layers, width = [], job["dim"]
        for _ in range(job["layers"]):
            layers += [nn.Linear(width, job["hidden"]), nn.ReLU()]
            width = job["hidden"]
        self.mlp = nn.Sequential(*layers)
        self.head = nn.Linear(width, job["classes"])

    def forward(self, batch):
        flat, offsets = batch
        return self.head(self.mlp(self.embed(flat, offsets)))


class Encoder(nn.Module):
    def __init__(self, job):
        super().__init__()
        d = job["dim"]
        self.embed = nn.Embedding(job["buckets"], d, sparse=True)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        self.pos = nn.Parameter(torch.zeros(job["seq_len"], d).uniform_(-0.1, 0.1))
        self.ln = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, job["heads"], job["hidden"], dropout=0.0,
                                           activation="relu", batch_first=True)
        self.enc = nn.TransformerEncoder(layer, job["layers"], enable_nested_tensor=False)
        self.head = nn.Linear(d, job["classes"])

    def forward(self, batch):
        ids, mask = batch  # mask: 1.0 for real tokens
        x = self.ln(self.embed(ids) + self.pos) * mask.unsqueeze(-1)
        x = self.enc(x, src_key_padding_mask=mask == 0)
        pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return self.head(pooled)


def batches(job, ids, order):
    b = job["batch"]
    for s in range(0, len(order), b):
        idx = order[s:s + b]
        yield idx, collate(job, [ids[i] for i in idx])


def collate(job, seqs):
    if job["arch"] == "bag":
        lens = torch.tensor([0] + [len(s) for s in seqs[:-1]])
        return torch.cat(seqs), torch.cumsum(lens, 0)
    t = job["seq_len"]
    out = torch.zeros(len(seqs), t, dtype=torch.long)
    mask = torch.zeros(len(seqs), t)
    for r, s in enumerate(seqs):
        n = min(len(s), t)
        out[r, :n] = s[:n]
        mask[r, :n] = 1
    return out, mask


def optimisers(job, model):
    sparse = [model.embed.weight]
    dense = [p for n, p in model.named_parameters() if n != "embed.weight"]
    opts = [torch.optim.SparseAdam(sparse, lr=job["lr"]),
            torch.optim.AdamW(dense, lr=job["lr"], weight_decay=job["weight_decay"])]
    steps = job["epochs"] * ((len(job["train"]) + job["batch"] - 1) // job["batch"])
    warm = int(job["warmup"] * steps)

    def factor(t):
        if t < warm:
            return (t + 1) / (warm + 1)
        return max(0.0, (steps - t) / max(1, steps - warm))
    return opts, [torch.optim.lr_scheduler.LambdaLR(o, factor) for o in opts]


def accuracy(job, model, ids, labels):
    model.eval()
    right = 0
    with torch.no_grad():
        for idx, batch in batches(job, ids, list(range(len(ids)))):
            pred = model(batch).argmax(1)
            right += int((pred == labels[idx]).sum())
    model.train()
    return right / max(1, len(ids))


def main():
    job = json.load(open(sys.argv[1]))
    torch.manual_seed(job["seed"])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else job.get("threads", 0)
    if threads:
        torch.set_num_threads(threads)
    model = Bag(job) if job["arch"] == "bag" else Encoder(job)
    train = [torch.tensor(s, dtype=torch.long) for s in job["train"]]
    labels = torch.tensor(job["train_labels"])
    opts, scheds = optimisers(job, model)
    loss_fn = nn.CrossEntropyLoss()
    seen, busy = 0, 0.0
    for _ in range(job["epochs"]):
        order = torch.randperm(len(train)).tolist()
        t0 = time.perf_counter()
        for idx, batch in batches(job, train, order):
            for o in opts:
                o.zero_grad()
            loss = loss_fn(model(batch), labels[idx])
            loss.backward()
            for o, s in zip(opts, scheds):
                o.step()
                s.step()
            seen += len(idx)
        busy += time.perf_counter() - t0
    test = [torch.tensor(s, dtype=torch.long) for s in job["test"]]
    acc = accuracy(job, model, test, torch.tensor(job["test_labels"]))
    print(json.dumps({"examples": seen, "seconds": busy, "examples_per_second": seen / busy,
                      "test_accuracy": acc, "threads": torch.get_num_threads(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
