package lab

import (
	"context"
	"errors"
	"sync"
)

// parallel runs job(0..n-1) on up to workers goroutines and returns the
// error of the lowest failing index (see firstError). Jobs write their results by index, so
// the outcome does not depend on scheduling. Every goroutine is waited for.
func parallel(ctx context.Context, n, workers int, job func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if errs[i] = job(ctx, i); errs[i] != nil {
					cancel()
				}
			}
		}()
	}
	feed(ctx, next, n)
	wg.Wait()
	return firstError(errs)
}

// firstError returns the first error that is not a cancellation caused by
// another job's failure, else the first error.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// feed sends 0..n-1 on next until ctx ends, then closes it.
func feed(ctx context.Context, next chan<- int, n int) {
	defer close(next)
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			return
		}
	}
}
