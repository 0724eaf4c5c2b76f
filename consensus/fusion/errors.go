package fusion

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped by the errors Fuse returns.
var (
	// ErrMismatch: a delta's tensors do not match the base's body by name,
	// shape or dtype.
	ErrMismatch = errors.New("fusion: delta does not match base")
	// ErrNonFinite: a base or delta value is NaN or infinite.
	ErrNonFinite = errors.New("fusion: non-finite value")
	// ErrRange: a delta value is too large for a mean rule's exact sum
	// (|v| >= SumLimit after its clip scale).
	ErrRange = errors.New("fusion: delta value out of range")
	// ErrOverflow: fusing finite values gave an infinite result.
	ErrOverflow = errors.New("fusion: fused value overflows float32")
	// ErrInput: the inputs as a set are unusable (none, duplicate IDs,
	// missing example counts).
	ErrInput = errors.New("fusion: bad inputs")
)

// DeltaError says which delta (by ID) and, where known, which tensor made
// fusion fail, so a caller can exclude that delta and fuse the rest.
type DeltaError struct {
	ID     string
	Tensor string
	Err    error
}

func (e *DeltaError) Error() string {
	if e.Tensor == "" {
		return fmt.Sprintf("delta %s: %v", e.ID, e.Err)
	}
	return fmt.Sprintf("delta %s: tensor %q: %v", e.ID, e.Tensor, e.Err)
}

func (e *DeltaError) Unwrap() error { return e.Err }
