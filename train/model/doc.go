// Package model defines coldnode's networks and runs them on gorgonia.
//
// It owns the model configuration (Config, carried as JSON in checkpoint
// metadata under MetaKey, so a weights file is self-describing), the tensor
// names and seeded initialisation of every architecture, and the forward and
// backward passes. It does not own the training loop or the optimiser
// (packages train and train/optim), nor file formats (train/checkpoint).
//
// Architectures. Every model is a body shared by the swarm ("body.*" tensors)
// and a task head ("head.weight", "head.bias") that is never fused:
//   - bag: hashed unigram+bigram ids (train/token) → embedding bag, mean-pooled
//     → ReLU MLP layers → head (fastText/DAN-like).
//   - encoder: token embeddings + learned positions → layer norm → post-LN
//     Transformer blocks (multi-head self-attention, ReLU feed-forward) →
//     masked mean pooling → head (RoBERTa's shape, scaled down).
//   - mlp: scaled numeric features → ReLU MLP layers → head.
//
// Execution. A Net compiles two gorgonia TapeMachine programs once per batch
// size, a training program (loss and gradients) and an inference program, and
// reuses them, their input tensors and the weights' memory for every step.
// Embedding rows are gathered and their gradients scattered in plain Go, so
// only the rows a batch touches get a gradient (a sparse update, as PyTorch's
// sparse EmbeddingBag): gorgonia sees the pooled (bag) or per-token (encoder)
// vectors as an input and returns their gradient. Softmax and log-softmax are
// this package's own gorgonia ops: v0.9.18's overflow on rows far from the
// tensor's first element.
//
// Invariants: initialisation draws each tensor from a PCG stream keyed by the
// seed and the tensor name, using only exact float32 operations; a step is a
// fixed sequence of single-threaded row loops and gonum BLAS calls, so equal
// inputs give equal bits whatever GOMAXPROCS is.
package model
