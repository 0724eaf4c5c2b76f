package model

import "math"

// sqrt32 is the correctly rounded float32 square root (IEEE: same bits everywhere).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
