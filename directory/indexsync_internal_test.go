package directory

import (
	"testing"
	"time"
)

func TestIndexRetryDelayDoublesUpToCap(t *testing.T) {
	for _, tt := range []struct {
		attempt int
		want    time.Duration // before jitter takes up to a quarter off
	}{
		{1, indexRetryBase},
		{2, 2 * indexRetryBase},
		{4, 8 * indexRetryBase},
		{7, indexRetryCap},
		{1000, indexRetryCap},
	} {
		for range 20 {
			got := indexRetryDelay(tt.attempt)
			if got > tt.want || got < tt.want*3/4 {
				t.Errorf("attempt %d: wait %s, want %s less at most a quarter", tt.attempt, got, tt.want)
				break
			}
		}
	}
}
