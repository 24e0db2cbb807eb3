package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
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

// newLogger is the program's logger, writing to w in format: "json" (one object a line, for
// log collectors) or "text" (key=value, for people). Empty picks text on a terminal and JSON
// otherwise, so a service manager or a container gets JSON without being told.
func newLogger(format string, w io.Writer, terminal bool) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	// JSON writes a duration as a bare count of nanoseconds, which reads as nothing: "1.2s"
	// says what it is, as the text format does.
	jsonOpts := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		return a
	}}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, jsonOpts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "":
		if terminal {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, jsonOpts)), nil
	}
	return nil, fmt.Errorf("FAMILYHELP_LOG_FORMAT: %q is not json or text", format)
}

// isTerminal reports whether f is a terminal rather than a file, pipe or journal.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
