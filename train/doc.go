// Package train finetunes and evaluates coldnode models: it turns a base body
// checkpoint and a task into a finetuned body and a task head, measures
// accuracy and macro-F1, and computes the body deltas the swarm fuses.
//
// It owns the training loop (AdamW with linear decay, early stopping on dev,
// seeded shuffling) and the two evaluation protocols: finetune (body and head
// trained) and linear probe (body frozen, head trained). Model arithmetic lives
// in train/model, the optimiser in train/optim, file formats in
// train/checkpoint and dataset parsing in train/data. It does no network I/O.
//
// Invariants: the same body, task, Options and seed give the same output bytes
// on every run, whatever GOMAXPROCS is. Task heads ("head.*") never appear in a
// body or a delta.
//
// Usage:
//
//	body, _ := model.InitBody(cfg, seed)
//	res, err := train.Finetune(ctx, body, task, train.DefaultOptions(), nil)
//	delta, err := train.Delta(body, res.Body)
package train
