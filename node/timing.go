package node

import (
	"fmt"
	"time"
)

// timed logs msg at debug level, with args and the seconds since the call,
// when the returned function runs: `defer rt.timed("checked", ...)()`.
// coldnode bench round reads these lines to split a round's time.
func (rt *runtime) timed(msg string, args ...any) func() {
	start := time.Now()
	return func() {
		rt.n.log.Debug(msg, append(args, "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))...)
	}
}
