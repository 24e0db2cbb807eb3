package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"familyhelp/directory"
	"familyhelp/store"
)

const lease = time.Minute

// drain claims every job there is, however far off it is due or leased.
func drain(t *testing.T, db *store.DB) []directory.IndexJob {
	t.Helper()
	jobs, err := db.ClaimIndexJobs(context.Background(), time.Now().Add(24*time.Hour), lease, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func serviceIDs(jobs []directory.IndexJob) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ServiceID)
	}
	slices.Sort(out)
	return out
}

func TestChangesQueueOneIndexJobPerService(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := service("a", "Bumps and babies"), service("b", "Around the table")
		if err := db.SaveServices(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		a.Name = "Bumps, babies and beyond"
		if err := db.SaveServices(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveServices(ctx, service("c", "Stay and play"), service("", "No id")); err == nil {
			t.Fatal("saving a service without an id succeeded")
		}
		if err := db.DeleteService(ctx, "missing"); err == nil {
			t.Fatal("deleting a missing service succeeded")
		}
		jobs, err := db.ClaimIndexJobs(ctx, time.Now(), lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceIDs(jobs); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("claimed jobs for %v, want one each for a and b (and none for a failed save or delete)", got)
		}
		if err := db.FinishIndexJobs(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		if left := drain(t, db); len(left) != 0 {
			t.Errorf("finished jobs still queued: %v", serviceIDs(left))
		}

		if err := db.DeleteService(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if got := serviceIDs(drain(t, db)); !slices.Equal(got, []string{"b"}) {
			t.Errorf("after a delete, jobs for %v, want b", got)
		}
	})
}

func TestClaimIndexJobsForSomeServices(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.SaveServices(ctx, service("a", "A"), service("b", "B"), service("c", "C")); err != nil {
			t.Fatal(err)
		}
		jobs, err := db.ClaimIndexJobs(ctx, time.Now(), lease, 10, "c", "a", "unknown")
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceIDs(jobs); !slices.Equal(got, []string{"a", "c"}) {
			t.Errorf("claimed %v, want a and c only", got)
		}
		rest, err := db.ClaimIndexJobs(ctx, time.Now(), lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := serviceIDs(rest); !slices.Equal(got, []string{"b"}) {
			t.Errorf("left %v, want b", got)
		}
	})
}

// A service saved again while a worker applies its job must be applied again: the worker may
// have read it before the change.
func TestIndexJobQueuedAgainWhileLeasedStays(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := service("a", "Bumps and babies")
		if err := db.SaveServices(ctx, a); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		first, err := db.ClaimIndexJobs(ctx, now, lease, 10)
		if err != nil || len(first) != 1 {
			t.Fatalf("claim = %v, %v", first, err)
		}
		a.Name = "Bumps, babies and beyond"
		if err := db.SaveServices(ctx, a); err != nil {
			t.Fatal(err)
		}
		if again, _ := db.ClaimIndexJobs(ctx, now, lease, 10); len(again) != 0 {
			t.Fatalf("a leased job was claimed again: %v", again)
		}
		if err := db.FinishIndexJobs(ctx, first); err != nil {
			t.Fatal(err)
		}
		second, err := db.ClaimIndexJobs(ctx, time.Now(), lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(second) != 1 || second[0].ServiceID != "a" {
			t.Fatalf("after finishing the older claim, claim = %v; want a's job, given back at once", second)
		}
		if err := db.FinishIndexJobs(ctx, second); err != nil {
			t.Fatal(err)
		}
		if left := drain(t, db); len(left) != 0 {
			t.Errorf("still queued after the newer change was applied: %v", serviceIDs(left))
		}
	})
}

// A worker whose lease ran out must not finish or release a job another worker now holds.
func TestLapsedLeaseCannotTouchTheJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.SaveServices(ctx, service("a", "A")); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		slow, err := db.ClaimIndexJobs(ctx, now, lease, 10)
		if err != nil || len(slow) != 1 {
			t.Fatalf("claim = %v, %v", slow, err)
		}
		if held, err := db.LeasedIndexJobs(ctx, now, "a", "b"); err != nil || !slices.Equal(held, []string{"a"}) {
			t.Errorf("LeasedIndexJobs while leased = %v, %v; want a", held, err)
		}
		later := now.Add(lease + time.Second)
		if held, err := db.LeasedIndexJobs(ctx, later, "a"); err != nil || len(held) != 0 {
			t.Errorf("LeasedIndexJobs once the lease ran out = %v, %v; want none", held, err)
		}
		fresh, err := db.ClaimIndexJobs(ctx, later, lease, 10)
		if err != nil || len(fresh) != 1 {
			t.Fatalf("claim after the lease ran out = %v, %v; want the job", fresh, err)
		}
		if err := db.FinishIndexJobs(ctx, slow); err != nil {
			t.Fatal(err)
		}
		if err := db.RetryIndexJob(ctx, slow[0], 1, now, "search engine failed"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ClaimIndexJobs(ctx, later, lease, 10); len(got) != 0 {
			t.Fatalf("the lapsed claim released or finished the job under the fresh one: claimed %v", got)
		}
		if err := db.FinishIndexJobs(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		if left := drain(t, db); len(left) != 0 {
			t.Errorf("still queued: %v", serviceIDs(left))
		}
	})
}

func TestRetriedIndexJobWaitsUntilDue(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.SaveServices(ctx, service("a", "A")); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		jobs, err := db.ClaimIndexJobs(ctx, now, lease, 10)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim = %v, %v", jobs, err)
		}
		next := now.Add(30 * time.Second)
		if err := db.RetryIndexJob(ctx, jobs[0], 1, next, "search engine failed"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ClaimIndexJobs(ctx, next.Add(-time.Millisecond), lease, 10); len(got) != 0 {
			t.Fatalf("claimed before it was due: %v", got)
		}
		got, err := db.ClaimIndexJobs(ctx, next, lease, 10)
		if err != nil || len(got) != 1 || got[0].Attempts != 1 {
			t.Fatalf("claim when due = %+v, %v; want the job with 1 failed attempt", got, err)
		}
	})
}

// Two instances sharing the database never hold the same job at once.
func TestConcurrentClaimsShareOutJobs(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *engine) {
		ctx := context.Background()
		dbs := [2]*store.DB{e.open(t), e.open(t)}
		var all []*directory.Service
		for i := range 300 {
			all = append(all, service(fmt.Sprintf("svc-%03d", i), "Service"))
		}
		if err := dbs[0].SaveServices(ctx, all...); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		claimed := map[string]int{}
		var wg sync.WaitGroup
		for w := range 6 {
			db := dbs[w%2]
			wg.Go(func() {
				for {
					jobs, err := db.ClaimIndexJobs(ctx, time.Now(), lease, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						claimed[j.ServiceID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(claimed) != len(all) {
			t.Errorf("%d services claimed, want %d", len(claimed), len(all))
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("%s claimed %d times", id, n)
			}
		}
	})
}

// Every save and delete is logged, in the order written, for every instance to read: the log
// is not claimed, so two handles on the database read the same changes.
func TestEveryChangeIsLoggedForEveryInstance(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, e *engine) {
		ctx := context.Background()
		db, other := e.open(t), e.open(t)
		if got, err := other.Changes(ctx, 0, 10); err != nil || len(got) != 0 {
			t.Fatalf("a new database has changes %v, %v", got, err)
		}
		before := time.Now()
		a, b := service("a", "Bumps and babies"), service("b", "Around the table")
		if err := db.SaveServices(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		if err := other.SaveServices(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveServices(ctx, service("c", "Stay and play"), service("", "No id")); err == nil {
			t.Fatal("saving a service without an id succeeded")
		}
		if err := other.DeleteService(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteService(ctx, "missing"); err == nil {
			t.Fatal("deleting a missing service succeeded")
		}

		for _, reader := range []*store.DB{db, other} {
			all, err := reader.Changes(ctx, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for k, c := range all {
				got = append(got, c.ServiceID)
				if k > 0 && c.Seq <= all[k-1].Seq {
					t.Errorf("changes out of order: %v", all)
				}
				if c.At.Before(before.Add(-time.Second)) || c.At.After(time.Now().Add(time.Second)) {
					t.Errorf("change %d logged at %v, want about now", c.Seq, c.At)
				}
			}
			if !slices.Equal(got, []string{"a", "b", "a", "b"}) {
				t.Fatalf("changes logged for %v, want a, b, a, b (and none for a failed save or delete)", got)
			}
			if rest, err := reader.Changes(ctx, all[1].Seq, 10); err != nil || len(rest) != 2 || rest[0] != all[2] {
				t.Errorf("changes after the second = %v, %v; want the last two", rest, err)
			}
			if page, err := reader.Changes(ctx, 0, 3); err != nil || len(page) != 3 {
				t.Errorf("a page of 3 = %v, %v", page, err)
			}
		}

		last, err := db.Changes(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if seq, err := db.LastChangeBefore(ctx, time.Now().Add(time.Minute)); err != nil || seq != last[3].Seq {
			t.Errorf("LastChangeBefore(now) = %d, %v; want the last change, %d", seq, err, last[3].Seq)
		}
		if seq, err := db.LastChangeBefore(ctx, before.Add(-time.Minute)); err != nil || seq != 0 {
			t.Errorf("LastChangeBefore(a minute before any) = %d, %v; want 0", seq, err)
		}
		if n, err := db.PruneChanges(ctx, before.Add(-time.Minute)); err != nil || n != 0 {
			t.Errorf("pruning changes older than any = %d, %v; want none pruned", n, err)
		}
		if n, err := other.PruneChanges(ctx, time.Now().Add(time.Minute)); err != nil || n != 4 {
			t.Errorf("pruning changes older than now = %d, %v; want all 4", n, err)
		}
		if got, err := db.Changes(ctx, 0, 10); err != nil || len(got) != 0 {
			t.Errorf("after pruning, changes %v, %v", got, err)
		}
		// Numbers go on rising after a prune.
		if err := db.SaveServices(ctx, a); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Changes(ctx, 0, 10); err != nil || len(got) != 1 || got[0].Seq <= last[3].Seq {
			t.Errorf("after pruning, a new change is %v, %v; want one numbered above %d", got, err, last[3].Seq)
		}
	})
}
