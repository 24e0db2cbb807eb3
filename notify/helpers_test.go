package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message a test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool // the session was encrypted
}

// header parses the message and returns a header field.
func (r received) header(t *testing.T, name string) string {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		t.Fatalf("parse received message: %v", err)
	}
	return msg.Header.Get(name)
}

// body decodes the message body (go-mail writes quoted-printable).
func (r received) body(t *testing.T) string {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		t.Fatalf("parse received message: %v", err)
	}
	var rd io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		rd = quotedprintable.NewReader(msg.Body)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("read received body: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// testServer is a real SMTP server (go-smtp) on loopback that records what it accepts.
type testServer struct {
	Addr string
	// User and Pass, when set, make AUTH PLAIN required before MAIL.
	User, Pass string
	// Reject, when set, answers RCPT for an address with an error.
	Reject func(to string) error

	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	msgs []received
}

type serverOptions struct {
	addr       string // "" picks a free port
	user, pass string
	reject     func(to string) error
	tls        *tls.Config // offers STARTTLS
	implicit   bool        // speaks TLS from the first byte (smtps)
}

func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ts := &testServer{Addr: ln.Addr().String(), User: o.user, Pass: o.pass, Reject: o.reject}
	ts.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{srv: ts, conn: c}, nil
	}))
	ts.srv.Domain = "localhost"
	ts.srv.AllowInsecureAuth = true
	ts.srv.ReadTimeout = 5 * time.Second
	ts.srv.WriteTimeout = 5 * time.Second
	ts.ln = ln
	if o.implicit {
		ln = tls.NewListener(ln, o.tls)
	} else {
		ts.srv.TLSConfig = o.tls
	}
	go func() { _ = ts.srv.Serve(ln) }()
	t.Cleanup(ts.Close)
	return ts
}

// Close stops the server; nothing listens on its address afterwards.
// The listener is closed here too, as Close may run before Serve has registered it.
func (s *testServer) Close() {
	_ = s.ln.Close()
	_ = s.srv.Close()
}

func (s *testServer) Received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

type testSession struct {
	srv    *testServer
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *testSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.User || pass != s.srv.Pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.User != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.srv.Reject != nil {
		if err := s.srv.Reject(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.to) == 0 {
		return errors.New("no recipients")
	}
	s.srv.mu.Lock()
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.msgs = append(s.srv.msgs, received{From: s.from, To: slices.Clone(s.to), Data: b, TLS: isTLS})
	s.srv.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.from, s.to = "", nil }
func (s *testSession) Logout() error { return nil }

// testCert makes a self-signed certificate for 127.0.0.1 and a client config that trusts it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "notify test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

// memOutbox is an Outbox in memory that keeps the contract: leases, due times, attempts,
// giving up on a zero next. Like a database driver, it refuses work on a done context.
type memOutbox struct {
	mu     sync.Mutex
	rows   []*memRow
	claims int
}

type memRow struct {
	msg         Message
	next        time.Time
	leasedUntil time.Time
	sentAt      time.Time
	marksSent   int
	gaveUp      bool
	reason      string
}

func (o *memOutbox) add(to, subject, text string, due time.Time) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := int64(len(o.rows) + 1)
	o.rows = append(o.rows, &memRow{msg: Message{ID: id, To: to, Subject: subject, Text: text}, next: due})
	return id
}

func (o *memOutbox) row(id int64) memRow {
	o.mu.Lock()
	defer o.mu.Unlock()
	return *o.rows[id-1]
}

func (o *memOutbox) Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.claims++
	var out []Message
	for _, r := range o.rows {
		if len(out) == max {
			break
		}
		if !r.sentAt.IsZero() || r.gaveUp || r.next.After(now) || r.leasedUntil.After(now) {
			continue
		}
		r.leasedUntil = now.Add(lease)
		out = append(out, r.msg)
	}
	return out, nil
}

func (o *memOutbox) MarkSent(ctx context.Context, id int64, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.rows[id-1]
	r.sentAt, r.leasedUntil = at, time.Time{}
	r.marksSent++
	return nil
}

func (o *memOutbox) MarkFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.rows[id-1]
	r.msg.Attempts, r.next, r.reason, r.leasedUntil = attempts, next, reason, time.Time{}
	r.gaveUp = next.IsZero()
	return nil
}

// Release ends the lease of a message not yet sent without recording an attempt, as a store
// does by clearing leased_until alone.
func (o *memOutbox) Release(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if r := o.rows[m.ID-1]; r.sentAt.IsZero() {
		r.leasedUntil = time.Time{}
	}
	return nil
}

// clock is a settable time for Worker.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
