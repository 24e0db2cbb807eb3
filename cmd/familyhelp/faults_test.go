//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"familyhelp/internal/testsvc"
	"familyhelp/referral"
)

// TestFaults runs the real binary while families send referrals, and breaks what it depends
// on under them: Redis stopped and started empty, the mail server refusing mail, the search
// engine hanging, and the process itself killed with SIGKILL mid-submission and started again
// on the same data. After recovery every confirmed referral is in the database, none twice,
// and every notification of every stored referral has reached the mail server once: once by
// Message-ID, which is as far as SMTP allows (see checkDelivery).
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	t.Run("sqlite", func(t *testing.T) {
		// The embedded defaults: SQLite, Bleve, the in-process limiter. The kill lands
		// wherever the submissions are.
		runFaults(t, bin, faultSetup{name: "sqlite"})
	})
	t.Run("postgres-redis-meili", func(t *testing.T) {
		// The shared services of a deployment with several instances. The kill lands while
		// the mail server holds a message whose data it has received and not yet answered.
		runFaults(t, bin, faultSetup{name: "postgres-redis-meili", databaseURL: testsvc.PostgresDB(t),
			redis: testsvc.StartRedis(t), meili: startFakeMeili(t), holdMailAtKill: true})
	})
}

type faultSetup struct {
	name           string
	databaseURL    string
	redis          *testsvc.RedisServer
	meili          *fakeMeili
	holdMailAtKill bool
}

func runFaults(t *testing.T, bin string, setup faultSetup) {
	started := time.Now()
	cfg := config{DataDir: t.TempDir(), SecretKey: strings.Repeat("7c", 32), DatabaseURL: setup.databaseURL}
	mailbox := startMailbox(t)
	env := []string{
		"FAMILYHELP_LOG_FORMAT=json",
		"FAMILYHELP_DATA_DIR=" + cfg.DataDir,
		"FAMILYHELP_SECRET_KEY=" + cfg.SecretKey,
		"FAMILYHELP_BASE_URL=http://familyhelp.example.org", // no demo accounts; cookies not Secure
		"FAMILYHELP_TRUSTED_PROXIES=127.0.0.1",              // each family is its own client
		"FAMILYHELP_MIN_FILL_SECONDS=0",
		"SMTP_URL=smtp://" + mailbox.addr,
		// A failed email is tried again after a second, not half a minute, and a killed
		// instance's claim on the emails it was sending lapses after four seconds, not five
		// minutes, so that recovery fits in the test.
		"FAMILYHELP_MAIL_RETRY_SECONDS=1",
		"FAMILYHELP_MAIL_LEASE_SECONDS=4",
	}
	if setup.databaseURL != "" {
		env = append(env, "DATABASE_URL="+setup.databaseURL)
	}
	if setup.redis != nil {
		env = append(env, "REDIS_URL="+setup.redis.URL())
	}
	if setup.meili != nil {
		env = append(env, "MEILI_URL="+setup.meili.srv.URL)
	}
	app := startApp(t, bin, env...)
	fam := startFamilies(app, 6)
	t.Cleanup(fam.stop)
	fam.waitConfirmed(t, 10)

	var redisStopped, redisStarted time.Time
	if setup.redis != nil {
		// Redis stops, and comes back empty (it keeps nothing on disk). Families go on
		// meanwhile: what lived in Redis is kept in the database while it is down.
		redisStopped = time.Now()
		setup.redis.Stop()
		before := fam.confirmedCount()
		fam.waitConfirmed(t, before+10)
		setup.redis.Start()
		redisStarted = time.Now()
		t.Logf("Redis stopped; %d referrals confirmed before it started again", fam.confirmedCount()-before)
		fam.waitConfirmed(t, fam.confirmedCount()+10)
	}

	// The mail server refuses every message for a while, and the search engine hangs.
	mailbox.setDown(true)
	if setup.meili != nil {
		setup.meili.slow.Store(true)
		checkSearchFallback(t, app)
	}
	fam.waitConfirmed(t, fam.confirmedCount()+10)
	waitUntil(t, 30*time.Second, "notifications refused by the mail server", func() bool { return mailbox.refused() >= 5 })
	mailbox.setDown(false)
	if setup.meili != nil {
		setup.meili.slow.Store(false)
	}
	t.Logf("mail server refused %d messages, then came back", mailbox.refused())
	fam.waitConfirmed(t, fam.confirmedCount()+10)

	// SIGKILL while a referral is being sent (and, if asked, while the mail server holds a
	// message it has received but not answered), then start again on the same data.
	var held <-chan struct{}
	release := func() {}
	if setup.holdMailAtKill {
		held, release = mailbox.holdNext()
		select {
		case <-held:
		case <-time.After(30 * time.Second):
			t.Fatal("no notification reached the mail server in 30 s")
		}
	}
	waitUntil(t, 30*time.Second, "a referral being sent", func() bool { return fam.sending.Load() > 0 })
	killed := time.Now()
	app.kill()
	release() // the server keeps the message, as a real one that had committed it would
	app.start()
	restarted := time.Now()
	t.Logf("killed with a send in flight, back after %s", time.Since(killed).Round(time.Millisecond))
	fam.waitConfirmed(t, fam.confirmedCount()+10)
	fam.stop()

	// Recovery: every notification sent, polling the outbox until it is empty.
	waitUntil(t, 90*time.Second, "the outbox drained", func() bool {
		left := column(t, cfg, "SELECT count(*) FROM outbox WHERE sent_at = ''")
		return len(left) == 1 && left[0] == "0"
	})
	app.stop()

	f := fam.figures()
	refs, entries := storedReferrals(t, cfg)
	byMarker := checkStored(t, f, refs)
	delivered, duplicates := checkDelivery(t, entries, mailbox.received(), killed, setup.holdMailAtKill)
	for _, problem := range f.problems {
		t.Error(problem)
	}
	for _, fail := range f.failures {
		// What may go wrong for a family: anything the kill cut short, except their answers
		// (which are in the database, or in Redis, which lives on); and while Redis is away,
		// answers that were only in Redis (it comes back empty). The mail and search outages
		// must not stop anyone.
		switch {
		case fail.during(killed, restarted) && !fail.draftGone:
		case fail.during(redisStopped, redisStarted) && (fail.draftGone || !fail.send):
			if ref := byMarker[fail.marker]; fail.draftGone && ref != "" {
				// The referral was stored, and its receipt kept in Redis as it went away:
				// the family was sent back to the start page instead of being told.
				t.Logf("%s: stored as %s while Redis went away, but the family was sent to the start page, not the confirmation", fail.marker, ref)
			}
		default:
			what := "a page before Send"
			if fail.send {
				what = "Send"
			}
			t.Errorf("%s: %s failed, %+.3fs from the kill: %v", fail.marker, what, fail.start.Sub(killed).Seconds(), fail.err)
		}
	}
	t.Logf("%d send presses (%d again after a failure), %d journeys begun, %d started again after a failure, %d sent back to the start by Send",
		f.posts, f.posts-len(f.submitted), f.journeys, f.refills, f.lost)
	t.Logf("faults (%s): submitted=%d confirmed=%d stored=%d delivered=%d duplicates=%d in %s",
		setup.name, len(f.submitted), len(f.confirmed), len(refs), delivered, duplicates, time.Since(started).Round(time.Second))
	fmt.Printf("faults: submitted=%d confirmed=%d stored=%d delivered=%d duplicates=%d setup=%s\n",
		len(f.submitted), len(f.confirmed), len(refs), delivered, duplicates, setup.name)
	checkFaultLog(t, app, setup.meili != nil)
}

// markerRE finds the marker a family wrote in its story.
var markerRE = regexp.MustCompile(`MARK\d+N\d+`)

// checkStored: every confirmed referral is stored with the family's own words, and no
// family's referral is stored twice. It returns the reference each family's referral is
// stored under.
func checkStored(t *testing.T, f familyFigures, refs map[string]*referral.Referral) map[string]string {
	t.Helper()
	byMarker := map[string][]string{}
	for ref, r := range refs {
		m := markerRE.FindString(r.Story)
		if m == "" {
			t.Errorf("stored referral %s has no family's marker", ref)
			continue
		}
		byMarker[m] = append(byMarker[m], ref)
	}
	for m, stored := range byMarker {
		if len(stored) > 1 {
			t.Errorf("the referral of %s is stored %d times: %v", m, len(stored), stored)
		}
		if !f.submitted[m] {
			t.Errorf("a referral (%s) is stored that nobody sent", m)
		}
	}
	for m, ref := range f.confirmed {
		if r, ok := refs[ref]; !ok {
			t.Errorf("%s was confirmed with %s, which is not in the database", m, ref)
		} else if !strings.Contains(r.Story, m) {
			t.Errorf("%s was confirmed with %s, which holds another family's referral", m, ref)
		}
	}
	if len(f.confirmed) == 0 {
		t.Error("no referral was confirmed")
	}
	out := map[string]string{}
	for m, stored := range byMarker {
		out[m] = stored[0]
	}
	return out
}

// checkDelivery: every notification in the outbox is marked sent and reached the mail server
// under its own Message-ID. SMTP cannot be exactly-once: a process killed after the server
// took a message and before it was marked sent sends it again after its claim lapses. That
// copy must carry the same Message-ID and contents, so that the receiving side can drop it,
// and it can only be the one message in flight at the kill (the worker sends one at a time).
// It returns the number of distinct messages delivered and the number of extra copies.
func checkDelivery(t *testing.T, entries []referral.OutboxEntry, got []mailCopy, killed time.Time, heldAtKill bool) (delivered, duplicates int) {
	t.Helper()
	want := map[string]int{} // reference → notifications
	for _, e := range entries {
		if !e.Sent || e.GaveUp {
			t.Errorf("notification for %s not delivered: %+v", e.Reference, e)
		}
		want[e.Reference]++
	}
	type message struct {
		copies []mailCopy
		text   string // headers that do not change between copies, and the body
	}
	byID := map[string]*message{}
	idsByRef := map[string]map[string]bool{} // reference → Message-IDs
	for _, c := range got {
		msg, err := mail.ReadMessage(bytes.NewReader(c.raw))
		if err != nil {
			t.Errorf("unreadable message: %v", err)
			continue
		}
		id := msg.Header.Get("Message-Id")
		body, _ := io.ReadAll(msg.Body)
		text := strings.Join(c.to, ",") + "\n" + msg.Header.Get("To") + "\n" + msg.Header.Get("Subject") + "\n" + string(body)
		ref := referenceRE.FindString(string(body))
		if id == "" || ref == "" {
			t.Errorf("message without a Message-ID or a reference: %q", c.raw)
			continue
		}
		m := byID[id]
		if m == nil {
			m = &message{text: text}
			byID[id] = m
		} else if m.text != text {
			t.Errorf("two different messages share Message-ID %s", id)
		}
		m.copies = append(m.copies, c)
		if idsByRef[ref] == nil {
			idsByRef[ref] = map[string]bool{}
		}
		idsByRef[ref][id] = true
	}
	for ref, n := range want {
		if got := len(idsByRef[ref]); got != n {
			t.Errorf("%s: %d distinct notifications delivered, want %d", ref, got, n)
		}
	}
	for ref := range idsByRef {
		if want[ref] == 0 {
			t.Errorf("a notification was delivered for %s, which is not stored", ref)
		}
	}
	for id, m := range byID {
		if len(m.copies) == 1 {
			continue
		}
		duplicates += len(m.copies) - 1
		first, last := m.copies[0].at, m.copies[len(m.copies)-1].at
		t.Logf("Message-ID %s delivered %d times, the first %+.3fs from the kill, the last %+.3fs, with the same contents",
			id, len(m.copies), first.Sub(killed).Seconds(), last.Sub(killed).Seconds())
		if len(m.copies) != 2 || !first.Before(killed) || !last.After(killed) {
			t.Errorf("Message-ID %s delivered %d times, not only around the kill", id, len(m.copies))
		}
	}
	switch {
	case duplicates > 1:
		t.Errorf("%d duplicate deliveries; at most the one message in flight at the kill may go twice", duplicates)
	case heldAtKill && duplicates != 1:
		// The worker was killed waiting for the server's answer, so it never recorded the
		// message as sent: it must have gone again after the lease, under the same Message-ID.
		t.Errorf("the message held at the kill was delivered %d extra times, want 1", duplicates)
	}
	return len(byID), duplicates
}

// checkFaultLog: the log is JSON, says what happened in words an operator can act on, and
// holds nothing a family typed.
func checkFaultLog(t *testing.T, app *appProcess, searchTimedOut bool) {
	t.Helper()
	log, cut := app.log(), app.cutLines()
	timeouts := 0
	for line := range strings.Lines(log) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil && !cut[line] {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec["level"] == "WARN" && rec["timeout"] == true && strings.Contains(fmt.Sprint(rec["msg"]), "search") {
			timeouts++
		}
	}
	if searchTimedOut && timeouts == 0 {
		t.Error("the log does not say that searches timed out and were answered from the database")
	}
	for _, secret := range []string{"MARK", "damp", "Sam Example", "WV1 1AA", "WS1 1AA", "parenting"} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds %q", secret)
		}
	}
}

// families are people sending referrals one after another, each with a marker in their
// story. Half of them press Send again when sending fails; the others give up, as someone
// whose phone lost signal might.
type families struct {
	app      *appProcess
	stopping atomic.Bool
	wg       sync.WaitGroup
	sending  atomic.Int64 // Send presses under way
	journeys atomic.Int64

	mu sync.Mutex
	familyFigures
}

type familyFigures struct {
	submitted map[string]bool   // marker → Send pressed at least once
	confirmed map[string]string // marker → the reference the confirmation page showed
	posts     int               // Send presses
	journeys  int
	refills   int // journeys started again after a page failed
	lost      int // referrals whose answers had gone when Send was pressed (again)
	problems  []string
	failures  []failure
}

// failure is something that went wrong for a family: a page before Send failed (and the family
// started again), or Send did not lead to a confirmation.
type failure struct {
	marker     string
	send       bool
	start, end time.Time // of the journey, or of the first press of Send
	draftGone  bool      // the site no longer had the answers (at the last press of Send)
	err        error
}

// during reports whether the failure overlaps the outage [from, to].
func (f failure) during(from, to time.Time) bool { return f.start.Before(to) && !f.end.Before(from) }

func startFamilies(app *appProcess, n int) *families {
	f := &families{app: app}
	f.submitted, f.confirmed = map[string]bool{}, map[string]string{}
	for i := range n {
		f.wg.Go(func() {
			for k := 0; !f.stopping.Load(); k++ {
				f.one(fmt.Sprintf("MARK%02dN%04d", i, k), k, fmt.Sprintf("10.%d.%d.%d", 100+i, k/250%250, k%250+1), k%2 == 0)
			}
		})
	}
	return f
}

// one is one family's referral, from the start page to the confirmation, starting again if a
// page fails before Send is pressed.
func (f *families) one(marker string, k int, ip string, persist bool) {
	var b *browser
	for {
		if f.stopping.Load() {
			return
		}
		f.journeys.Add(1)
		b = newBrowser(f.app, ip)
		start := time.Now()
		err := b.fill(journey(marker, k))
		if err == nil {
			break
		}
		f.failed(failure{marker: marker, start: start, end: time.Now(), err: err}, false)
		time.Sleep(100 * time.Millisecond)
	}
	f.mu.Lock()
	f.submitted[marker] = true
	f.posts++
	f.mu.Unlock()
	f.sending.Add(1)
	start := time.Now()
	ref, err := b.send()
	f.sending.Add(-1)
	if err == nil {
		f.confirm(marker, ref)
		return
	}
	fail := failure{marker: marker, send: true, start: start, end: time.Now(), draftGone: errors.Is(err, errDraftGone), err: err}
	if !persist || fail.draftGone {
		f.failed(fail, fail.draftGone)
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		ref, err = b.sendAgain()
		f.mu.Lock()
		f.posts++
		f.mu.Unlock()
		switch {
		case err == nil:
			f.failed(fail, false)
			f.confirm(marker, ref)
			return
		case errors.Is(err, errDraftGone):
			fail.draftGone, fail.err = true, err
			f.failed(fail, true)
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf("%s: Send pressed again for a minute and never confirmed: %v", marker, err))
}

func (f *families) failed(fail failure, lost bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fail)
	if !fail.send {
		f.refills++
	}
	if lost {
		f.lost++
	}
}

func (f *families) confirm(marker, ref string) {
	if ref == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.confirmed[marker] = ref
}

func (f *families) confirmedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.confirmed)
}

// waitConfirmed waits until n referrals have been confirmed: the site is taking referrals.
func (f *families) waitConfirmed(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, 60*time.Second, fmt.Sprintf("%d referrals confirmed", n), func() bool { return f.confirmedCount() >= n })
}

// stop lets the families who pressed Send finish (pressing it again if they would), and
// starts no more referrals.
func (f *families) stop() {
	f.stopping.Store(true)
	f.wg.Wait()
}

func (f *families) figures() familyFigures {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.familyFigures
	out.journeys = int(f.journeys.Load())
	out.problems = slices.Clone(f.problems)
	out.failures = slices.Clone(f.failures)
	return out
}

// checkSearchFallback: while the search engine hangs, families searching at the same moment
// still get results (from the database) on a calm page, and so do those after them.
func checkSearchFallback(t *testing.T, app *appProcess) {
	t.Helper()
	const n = 8
	pages := make([]page, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b := newBrowser(app, fmt.Sprintf("10.250.0.%d", i+1))
			pages[i], errs[i] = b.get("/search?q=parenting")
		})
	}
	wg.Wait()
	b := newBrowser(app, "10.250.1.1")
	p, err := b.get("/search?q=parenting&postcode=WV1+1AA")
	pages, errs = append(pages, p), append(errs, err)
	for i, p := range pages {
		if errs[i] != nil {
			t.Errorf("search while the engine hangs: %v", errs[i])
			continue
		}
		text := strings.ToLower(visibleText(p.body))
		if p.status != http.StatusOK || !strings.Contains(p.body, `class="fh-results"`) {
			t.Errorf("search while the engine hangs: status %d, results shown %v", p.status, strings.Contains(p.body, `class="fh-results"`))
		}
		if !strings.Contains(text, "some results may be missing") {
			t.Errorf("search while the engine hangs was not answered from the database")
		}
		for _, alarm := range []string{"error", "sorry", "went wrong", "unavailable", "timed out", "timeout", "failed", "search engine", "500"} {
			if strings.Contains(text, alarm) {
				t.Errorf("search page while the engine hangs says %q", alarm)
			}
		}
	}
}

var (
	scriptRE = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>`)
	tagRE    = regexp.MustCompile(`<[^>]*>`)
)

// visibleText is roughly what a page says: its text without tags, scripts and styles.
func visibleText(html string) string {
	return tagRE.ReplaceAllString(scriptRE.ReplaceAllString(html, " "), " ")
}

// fakeMeili plays a Meilisearch server well enough for the adapter to start, index and search,
// and can be made to hang on searches (slow), as an overloaded engine does.
type fakeMeili struct {
	srv  *httptest.Server
	slow atomic.Bool

	mu         sync.Mutex
	indexes    map[string]map[string]map[string]any // index → document id → document
	tasks      int64
	unexpected []string
}

func startFakeMeili(t *testing.T) *fakeMeili {
	t.Helper()
	f := &fakeMeili{indexes: map[string]map[string]map[string]any{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, u := range f.unexpected {
			t.Errorf("fake Meilisearch got a request it does not know: %s", u)
		}
	})
	return f
}

func (f *fakeMeili) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route := r.Method + " /" + parts[0]
	if len(parts) > 2 {
		route += "/*/" + strings.Join(parts[2:], "/")
	} else if len(parts) == 2 {
		route += "/*"
	}
	if route == "POST /indexes/*/search" && f.slow.Load() {
		// Hang until the adapter gives up (its timeout) or a minute passes.
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name := ""
	if len(parts) > 1 {
		name = parts[1]
	}
	docs := f.indexes[name]
	switch route {
	case "GET /health":
		meiliReply(w, http.StatusOK, map[string]string{"status": "available"})
	case "GET /tasks/*":
		meiliReply(w, http.StatusOK, map[string]any{"uid": json.Number(parts[1]), "status": "succeeded", "type": "unknown", "error": nil})
	case "GET /indexes/*":
		if docs == nil {
			meiliReply(w, http.StatusNotFound, map[string]string{"message": "Index `" + name + "` not found.", "code": "index_not_found", "type": "invalid_request", "link": ""})
			return
		}
		meiliReply(w, http.StatusOK, map[string]string{"uid": name, "primaryKey": "id"})
	case "POST /indexes":
		var req struct{ UID string }
		_ = json.Unmarshal(body, &req)
		if f.indexes[req.UID] == nil {
			f.indexes[req.UID] = map[string]map[string]any{}
		}
		f.enqueue(w)
	case "GET /indexes":
		var results []map[string]string
		for uid := range f.indexes {
			results = append(results, map[string]string{"uid": uid, "primaryKey": "id"})
		}
		meiliReply(w, http.StatusOK, map[string]any{"results": results, "offset": 0, "limit": len(results), "total": len(results)})
	case "POST /swap-indexes":
		var swaps []struct{ Indexes []string }
		_ = json.Unmarshal(body, &swaps)
		for _, sw := range swaps {
			if len(sw.Indexes) == 2 {
				a, b := sw.Indexes[0], sw.Indexes[1]
				f.indexes[a], f.indexes[b] = f.indexes[b], f.indexes[a]
			}
		}
		f.enqueue(w)
	case "DELETE /indexes/*":
		delete(f.indexes, name)
		f.enqueue(w)
	case "PATCH /indexes/*/settings":
		if docs == nil {
			f.indexes[name] = map[string]map[string]any{}
		}
		f.enqueue(w)
	case "POST /indexes/*/documents", "PUT /indexes/*/documents":
		var in []map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			f.unexpected = append(f.unexpected, route+": "+err.Error())
		}
		if docs == nil {
			docs = map[string]map[string]any{}
			f.indexes[name] = docs
		}
		for _, d := range in {
			docs[fmt.Sprint(d["id"])] = d
		}
		f.enqueue(w)
	case "POST /indexes/*/documents/delete":
		// Deleting by filter: only "service_id IN [...]" with nothing after it removes
		// anything here; the adapter's other filter removes places a service no longer has,
		// which the services of this test never lose.
		var req struct{ Filter string }
		_ = json.Unmarshal(body, &req)
		if in, ok := strings.CutPrefix(req.Filter, "service_id IN "); ok && !strings.Contains(in, " AND ") {
			for id, d := range docs {
				if strings.Contains(in, `"`+fmt.Sprint(d["service_id"])+`"`) {
					delete(docs, id)
				}
			}
		}
		f.enqueue(w)
	case "POST /indexes/*/documents/delete-batch":
		var ids []string
		_ = json.Unmarshal(body, &ids)
		for _, id := range ids {
			delete(docs, id)
		}
		f.enqueue(w)
	case "DELETE /indexes/*/documents":
		clear(docs)
		f.enqueue(w)
	case "POST /indexes/*/documents/fetch":
		var req struct {
			Offset, Limit int
			Fields        []string
		}
		_ = json.Unmarshal(body, &req)
		all := sortedDocs(docs)
		var results []map[string]any
		for _, d := range all[min(req.Offset, len(all)):min(req.Offset+req.Limit, len(all))] {
			results = append(results, project(d, req.Fields))
		}
		meiliReply(w, http.StatusOK, map[string]any{"results": results, "offset": req.Offset, "limit": req.Limit, "total": len(all)})
	case "POST /indexes/*/search":
		var req struct {
			Page, HitsPerPage    int
			AttributesToRetrieve []string
		}
		_ = json.Unmarshal(body, &req)
		// Any query matches every service, once (service_id is the distinct attribute).
		seen := map[any]bool{}
		var hits []map[string]any
		for _, d := range sortedDocs(docs) {
			if !seen[d["service_id"]] {
				seen[d["service_id"]] = true
				hits = append(hits, project(d, req.AttributesToRetrieve))
			}
		}
		total := len(hits)
		page := max(req.Page, 1)
		start := min((page-1)*req.HitsPerPage, total)
		hits = hits[start:min(start+req.HitsPerPage, total)]
		meiliReply(w, http.StatusOK, map[string]any{"hits": hits, "query": "", "processingTimeMs": 1,
			"hitsPerPage": req.HitsPerPage, "page": page, "totalPages": 1, "totalHits": total})
	default:
		f.unexpected = append(f.unexpected, route)
		meiliReply(w, http.StatusNotFound, map[string]string{"message": "no route", "code": "not_found", "type": "invalid_request", "link": ""})
	}
}

func (f *fakeMeili) enqueue(w http.ResponseWriter) {
	f.tasks++
	meiliReply(w, http.StatusAccepted, map[string]any{"taskUid": f.tasks, "status": "enqueued", "type": "unknown"})
}

func sortedDocs(docs map[string]map[string]any) []map[string]any {
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]map[string]any, len(ids))
	for i, id := range ids {
		out[i] = docs[id]
	}
	return out
}

// project keeps only the fields asked for (all when none are).
func project(d map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return d
	}
	out := map[string]any{}
	for _, k := range fields {
		if v, ok := d[k]; ok {
			out[k] = v
		}
	}
	return out
}

func meiliReply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
