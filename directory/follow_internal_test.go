package directory

import (
	"testing"
	"time"
)

// The follower moves past every change it applied, waits at a missing number for a while in
// case it is still committing, and then takes it for a change that was rolled back.
func TestFollowerAdvancesPastGapsOnlyOnceTheyAreOld(t *testing.T) {
	f := &follower{after: 10, seen: map[int64]bool{}, missing: map[int64]time.Time{}}
	rows := func(seqs ...int64) []Change {
		var out []Change
		for _, s := range seqs {
			out = append(out, Change{Seq: s})
			f.seen[s] = true
		}
		return out
	}
	t0 := time.Now()

	f.advance(rows(11, 12, 15, 16), t0)
	if f.after != 12 {
		t.Fatalf("after %d, want 12: 13 and 14 are missing", f.after)
	}
	f.advance(rows(15, 16), t0.Add(gapWait/2))
	if f.after != 12 {
		t.Fatalf("after %d with the gap open for %s, want still 12", f.after, gapWait/2)
	}
	// 14 commits; 13 never does.
	f.advance(rows(14, 15, 16), t0.Add(gapWait/2))
	if f.after != 12 {
		t.Fatalf("after %d, want 12 while 13 is awaited", f.after)
	}
	f.advance(rows(14, 15, 16), t0.Add(gapWait+time.Second))
	if f.after != 16 {
		t.Fatalf("after %d once 13 had been missing for longer than %s, want 16", f.after, gapWait)
	}
	if len(f.seen) != 0 || len(f.missing) != 0 {
		t.Errorf("left behind: seen %v, missing %v", f.seen, f.missing)
	}

	// A change whose apply failed is not passed, and not waited on as a gap.
	f.advance(rows(17, 18), t0.Add(2*gapWait))
	f.seen[19] = false
	f.advance([]Change{{Seq: 19}, {Seq: 20}}, t0.Add(3*gapWait))
	if f.after != 18 {
		t.Errorf("after %d, want 18: 19 was read but not applied", f.after)
	}
}
