package main

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter batches log lines into few writes: one write system call per request would cost
// the busiest pages about a tenth of their time. Lines reach the output within flushEvery, and
// at once when the buffer fills or the program ends.
type logWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

const flushEvery = 200 * time.Millisecond

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{buf: bufio.NewWriterSize(out, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.Flush()
			case <-w.stop:
				w.Flush()
				return
			}
		}
	}()
	return w
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// Flush writes out what is buffered.
func (w *logWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.buf.Flush()
}

// Close flushes and stops the background flusher. It may be called more than once: main
// defers it, so that a panic still writes out the lines before it, and also calls it before
// exiting, which skips deferred calls.
func (w *logWriter) Close() {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
	})
}
