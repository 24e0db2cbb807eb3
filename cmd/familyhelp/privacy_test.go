//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"familyhelp/internal/testsvc"
	"familyhelp/referral"
)

// canary is written, in one form or another, into every field of every referral a family can
// type into. It must come out nowhere but the sealed referral: not in a log line, an email,
// a database row or file in plain text, the search index, or Redis.
const canary = "canary7q2x"

// familyPhoneRE matches the families' phone numbers, as typed or as stored (Ofcom's drama
// range, below the numbers the sample services use), which must not come out either.
var familyPhoneRE = regexp.MustCompile(`07700 ?9000[0-9]{2}`)

// TestPrivacyCanary sends 100 referrals through the real binary with the canary in every
// free-text field (and in the email address, where the validators allow only an address),
// searches for it, then reads everything the system wrote.
func TestPrivacyCanary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	t.Run("sqlite-bleve", func(t *testing.T) { runPrivacy(t, bin, "", nil) })
	t.Run("postgres-redis", func(t *testing.T) { runPrivacy(t, bin, testsvc.PostgresDB(t), testsvc.StartRedis(t)) })
}

const privacyReferrals = 100

func runPrivacy(t *testing.T, bin, databaseURL string, rdb *testsvc.RedisServer) {
	started := time.Now()
	cfg := config{DataDir: t.TempDir(), SecretKey: strings.Repeat("3d", 32), DatabaseURL: databaseURL}
	mailbox := startMailbox(t)
	env := []string{
		"FAMILYHELP_LOG_FORMAT=json",
		"FAMILYHELP_DATA_DIR=" + cfg.DataDir,
		"FAMILYHELP_SECRET_KEY=" + cfg.SecretKey,
		"FAMILYHELP_BASE_URL=http://familyhelp.example.org",
		"FAMILYHELP_TRUSTED_PROXIES=127.0.0.1",
		"FAMILYHELP_MIN_FILL_SECONDS=0",
		"SMTP_URL=smtp://" + mailbox.addr,
	}
	if databaseURL != "" {
		env = append(env, "DATABASE_URL="+databaseURL)
	}
	if rdb != nil {
		env = append(env, "REDIS_URL="+rdb.URL())
	}
	app := startApp(t, bin, env...)

	// Searches, and other addresses, with the canary typed in.
	searcher := newBrowser(app, "10.60.0.1")
	for _, target := range []string{
		"/search?q=" + strings.ToUpper(canary),
		"/search?q=parenting+" + canary + "&postcode=WV1+1AA&age=4",
		"/search?postcode=" + canary,
		"/search?q=" + url.QueryEscape("Canary7Q2X help near me") + "&need=money&free=yes",
		"/services/" + canary,
		"/refer?service=" + canary,
		"/api/services?text=" + canary,
	} {
		if _, err := searcher.get(target); err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
	}

	// 100 referrals, four families at a time.
	refs := make([]string, privacyReferrals)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				b := newBrowser(app, fmt.Sprintf("10.61.%d.%d", i/250, i%250+1))
				if err := b.fill(canaryJourney(i)); err != nil {
					t.Errorf("referral %d: %v", i, err)
					continue
				}
				ref, err := b.send()
				if err != nil {
					t.Errorf("referral %d: %v", i, err)
					continue
				}
				refs[i] = ref
			}
		})
	}
	for i := range privacyReferrals {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	waitUntil(t, 60*time.Second, "every notification delivered", func() bool {
		left := column(t, cfg, "SELECT count(*) FROM outbox WHERE sent_at = ''")
		return len(left) == 1 && left[0] == "0"
	})
	// While the server runs: the SQLite write-ahead log is still there to be read.
	checkFilesClean(t, cfg.DataDir)
	if rdb != nil {
		checkRedisClean(t, rdb.URL())
	}
	app.stop()
	checkFilesClean(t, cfg.DataDir)
	rows := checkTablesClean(t, cfg)
	checkLogClean(t, app.log())
	stored, outbox := storedReferrals(t, cfg)
	checkCanarySealed(t, stored, refs)
	got := mailbox.received()
	if len(got) != len(outbox) {
		t.Errorf("%d emails delivered for %d notifications", len(got), len(outbox))
	}
	team, family := checkMailClean(t, got, refs)
	t.Logf("privacy: %d referrals; %d rows, the data dir, the log (%d lines), %d team and %d family emails checked, in %s",
		privacyReferrals, rows, strings.Count(app.log(), "\n"), team, family, time.Since(started).Round(time.Second))
}

// canaryJourney is a complete referral with the canary in every field a person types into.
// Who asks changes from one referral to the next, so that the pages for someone else and for
// a professional are covered too; even ones ask for a confirmation email.
func canaryJourney(i int) []formStep {
	email := fmt.Sprintf("%s.family%d@example.org", canary, i)
	steps := []formStep{{"/refer/start", vals(), "/refer/who"}}
	switch i % 3 {
	case 0:
		steps = append(steps, formStep{"/refer/who", vals("asker", "self"), "/refer/danger"})
	case 1:
		steps = append(steps, formStep{"/refer/who", vals("asker", "someone", "relationship", "Canary7q2x aunt"), "/refer/danger"})
	case 2:
		agreed := []string{"family-agreed", "yes"}
		if i%4 == 3 {
			agreed = []string{"family-agreed", "no", "no-consent-reason", "CANARY7Q2X they are scared"}
		}
		steps = append(steps,
			formStep{"/refer/who", vals("asker", "professional"), "/refer/professional"},
			formStep{"/refer/professional", vals(append([]string{"name", "Dr Canary7q2x Pro", "organisation", "Canary7q2x Primary School",
				"role", "canary7q2x lead", "email", fmt.Sprintf("%s.pro%d@example.org", canary, i), "phone", "0121 496 0999"}, agreed...)...),
				"/refer/danger"})
	}
	contact := vals("safe", "call", "safe", "text", "safe", "email", "safe", "letter",
		"phone", fmt.Sprintf("07700 9000%02d", i), "email", email, "contact-address", "2 Canary7q2x Road, Wolverhampton",
		"safe-times", "canary7q2x: weekday mornings", "say-who-we-are", "yes")
	if i%2 == 0 {
		contact.Set("confirmation", "yes")
	}
	return append(steps,
		formStep{"/refer/danger", vals("danger", "no"), "/refer/needs"},
		formStep{"/refer/needs", vals("needs", "domestic-abuse", "needs", "parenting", "story",
			"CANARY7q2x. My partner shouts at the children and I need help."), "/refer/adult"},
		formStep{"/refer/adult", vals("adult-name", "Canary7q2x Parent", "call-me", "Canary"+"7Q2X"), "/refer/children"},
		formStep{"/refer/children", vals("child-0-name", "canary7q2x Kid", "child-0-age", "5",
			"child-1-name", "Canary7q2x Baby", "child-1-expected", "yes"), "/refer/home"},
		formStep{"/refer/home", vals("postcode", []string{"WV1 1AA", "WS1 1AA"}[i%2], "address", "1 Canary7q2x Street",
			"household", "canary7q2x grandma", "languages", "Canary7q2x-ish", "interpreter", "yes",
			"accessibility", "canary7q2x step-free"), "/refer/network"},
		formStep{"/refer/network", vals("person-0-name", "Canary7q2x Friend", "person-0-relationship", "canary7q2x neighbour",
			"person-0-may-contact", "yes"), "/refer/contact"},
		formStep{"/refer/contact", contact, "/refer/consent"},
		formStep{"/refer/consent", vals("consent", "yes"), "/refer/check"},
	)
}

// leaks reports which needles b holds: the canary in any case, and the families' phones.
func leaks(b []byte) []string {
	var out []string
	if containsFold(b, canary) {
		out = append(out, canary)
	}
	if p := familyPhoneRE.Find(b); p != nil {
		out = append(out, string(p))
	}
	return out
}

// checkFilesClean reads every file in the data dir (the SQLite database, its write-ahead log,
// the search index, the key) byte by byte.
func checkFilesClean(t *testing.T, dir string) {
	t.Helper()
	files := 0
	found := findings{what: "files in the data dir"}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		found.add(strings.TrimPrefix(path, dir), leaks(b))
		return nil
	})
	found.report(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.bleve")); files == 0 || err != nil {
		t.Fatalf("the data dir holds %d files and no search index (%v): nothing much was checked", files, err)
	}
}

// checkTablesClean reads every row of every table in the database and returns how many rows
// it read.
func checkTablesClean(t *testing.T, cfg config) int {
	t.Helper()
	query := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if cfg.DatabaseURL != "" {
		query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
	}
	db := rawDB(t, cfg)
	defer db.Close()
	total := 0
	found := findings{what: "database rows"}
	defer found.report(t)
	for _, table := range column(t, cfg, query) {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			total++
			var row bytes.Buffer
			for i, v := range vals {
				switch v := v.(type) {
				case []byte:
					row.Write(v)
				default:
					fmt.Fprint(&row, v)
				}
				row.WriteString("\x00" + cols[i] + "\x00")
			}
			found.add("a row of "+table, leaks(row.Bytes()))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if n := column(t, cfg, "SELECT count(*) FROM referrals"); len(n) != 1 || n[0] != fmt.Sprint(privacyReferrals) {
		t.Errorf("%v referrals stored, want %d", n, privacyReferrals)
	}
	return total
}

// checkRedisClean reads every key and value in the (private) Redis.
func checkRedisClean(t *testing.T, redisURL string) {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	keys := 0
	found := findings{what: "Redis"}
	defer found.report(t)
	iter := c.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		keys++
		var v []string
		switch typ := c.Type(ctx, key).Val(); typ {
		case "string":
			v = []string{c.Get(ctx, key).Val()}
		case "hash":
			for k, x := range c.HGetAll(ctx, key).Val() {
				v = append(v, k, x)
			}
		case "list":
			v = c.LRange(ctx, key, 0, -1).Val()
		case "set":
			v = c.SMembers(ctx, key).Val()
		case "zset":
			v = c.ZRange(ctx, key, 0, -1).Val()
		default:
			t.Errorf("Redis key of type %s not checked", typ)
		}
		found.add(fmt.Sprintf("key %q", key), leaks([]byte(key+"\x00"+strings.Join(v, "\x00"))))
		// An address is personal data too: rate limits count a keyed hash of it.
		if strings.Contains(key, "127.0.0.1") || strings.Contains(key, "10.61.") {
			found.add(fmt.Sprintf("key %q", key), []string{"the client's address"})
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d Redis keys checked", keys)
}

// checkLogClean reads every log line.
func checkLogClean(t *testing.T, log string) {
	t.Helper()
	found := findings{what: "log lines"}
	for line := range strings.Lines(log) {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %q", maskCanary(line))
		}
		found.add(line, leaks([]byte(line)))
	}
	found.report(t)
	if !strings.Contains(log, `"msg":"request"`) {
		t.Error("no request lines in the log: was it captured?")
	}
}

// checkMailClean reads every email the mail server got, headers and body, raw and decoded.
// A team is told that a referral arrived, with its reference and a link to the staff portal,
// and nothing of the family. A family that asked for a confirmation gets one at the address
// it gave: that address is the recipient, so it is in the envelope and the To header of that
// one message, and nowhere else; the rest of the message says nothing of them.
func checkMailClean(t *testing.T, got []mailCopy, refs []string) (team, family int) {
	t.Helper()
	wantFamily := (privacyReferrals + 1) / 2 // the even ones asked for a confirmation
	found := findings{what: "emails"}
	defer found.report(t)
	sent := map[string]bool{}
	for _, r := range refs {
		sent[r] = true
	}
	for _, c := range got {
		msg, err := mail.ReadMessage(bytes.NewReader(c.raw))
		if err != nil {
			t.Fatalf("unreadable message: %v", err)
		}
		to := msg.Header.Get("To")
		body := decodedBody(t, msg)
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		ref := referenceRE.FindString(body)
		if !sent[ref] {
			t.Errorf("an email without the reference of a referral sent: %q", maskCanary(body))
		}
		isFamily := containsFold([]byte(to), canary)
		// Everything but the recipient: the other headers, raw and decoded, and the body.
		var rest bytes.Buffer
		for k, vs := range msg.Header {
			if k == "To" {
				continue
			}
			for _, v := range vs {
				d, _ := new(mime.WordDecoder).DecodeHeader(v)
				fmt.Fprintf(&rest, "%s: %s\n%s\n", k, v, d)
			}
		}
		rest.WriteString(body)
		rawBody := c.raw[bytes.Index(c.raw, []byte("\r\n\r\n"))+4:]
		rest.Write(rawBody)
		found.add(fmt.Sprintf("email to %s (%s), outside its recipient", to, subject), leaks(rest.Bytes()))
		switch {
		case isFamily:
			family++
			if len(c.to) != 1 || !containsFold([]byte(c.to[0]), canary) || !strings.Contains(to, c.to[0]) {
				t.Errorf("family confirmation sent to %v with To %q: the recipient only, please", maskCanary(strings.Join(c.to, ",")), maskCanary(to))
			}
			if subject != "Your message has been received" || strings.Contains(body, "Family Help") || strings.Contains(body, "referral") {
				t.Errorf("family confirmation names the service: %q\n%s", subject, maskCanary(body))
			}
		default:
			team++
			if leaks([]byte(strings.Join(c.to, ","))) != nil {
				t.Errorf("team email sent to a family's address")
			}
			link := "http://familyhelp.example.org/staff/referrals/" + ref
			if !strings.Contains(subject, ref) || !strings.Contains(body, "Reference: "+ref) || !strings.Contains(body, link) ||
				!strings.Contains(body, "No personal details are sent by email") {
				t.Errorf("team email is not a reference and a link: %q\n%s", maskCanary(subject), maskCanary(body))
			}
		}
	}
	if family != wantFamily {
		t.Errorf("%d family confirmations delivered, want %d", family, wantFamily)
	}
	if team < privacyReferrals {
		t.Errorf("%d team emails delivered for %d referrals", team, privacyReferrals)
	}
	return team, family
}

// decodedBody is the message body as a reader sees it, whatever its transfer encoding.
func decodedBody(t *testing.T, msg *mail.Message) string {
	t.Helper()
	var r io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode body: %v", err)
	}
	return string(b)
}

var canaryRE = regexp.MustCompile(`(?i)` + canary)

// maskCanary keeps the canary out of the test's own output, so that the output can be searched
// for it too.
func maskCanary(s string) string { return canaryRE.ReplaceAllString(s, "<canary>") }

// findings collects the places a needle was found and reports them once, with the first few.
type findings struct {
	what   string
	places []string
}

func (f *findings) add(place string, found []string) {
	if found != nil {
		f.places = append(f.places, maskCanary(fmt.Sprintf("%s %q", strings.TrimSpace(place), found)))
	}
}

func (f *findings) report(t *testing.T) {
	t.Helper()
	if n := len(f.places); n > 0 {
		t.Errorf("%s: found in plain text in %d places, first: %s", f.what, n, strings.Join(f.places[:min(n, 5)], "; "))
	}
}

// checkCanarySealed is the control: the canary did go in. Each referral, opened with the key,
// holds it in every field it was typed into.
func checkCanarySealed(t *testing.T, stored map[string]*referral.Referral, sent []string) {
	t.Helper()
	for i, ref := range sent {
		r := stored[ref]
		if r == nil {
			t.Errorf("referral %d (%s) not stored", i, ref)
			continue
		}
		fields := []string{r.Story, r.Adult.Name, r.Adult.CallMe, r.Children[0].Name, r.Address, r.Household, r.Languages,
			r.Accessibility, r.Network[0].Name, r.Network[0].Relationship, r.Contact.Email, r.Contact.Address, r.Contact.SafeTimes}
		switch r.Asker {
		case referral.AskerSomeone:
			fields = append(fields, r.Relationship)
		case referral.AskerProfessional:
			p := r.Professional
			fields = append(fields, p.Name, p.Organisation, p.Role, p.Email)
			if p.FamilyAgreed == "no" {
				fields = append(fields, p.NoConsentReason)
			}
		}
		for k, f := range fields {
			if !containsFold([]byte(f), canary) {
				t.Errorf("referral %d: field %d was stored without the canary: %q", i, k, maskCanary(f))
			}
		}
		if r.Contact.Phone == "" {
			t.Errorf("referral %d: no phone stored", i)
		}
	}
	if len(stored) != len(sent) {
		t.Errorf("%d referrals stored, %d sent", len(stored), len(sent))
	}
}
