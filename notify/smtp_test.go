package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

const (
	testFrom = "Family Help <noreply@familyhelp.example>"
	testPass = "s3cret-Pa55"
)

func TestNewSMTPValid(t *testing.T) {
	tests := []struct {
		url      string
		host     string
		port     int
		mode     tlsMode
		user     string
		pass     string
		redacted string
	}{
		{"smtp://notify:" + testPass + "@mail.example.org:587", "mail.example.org", 587, tlsStartRequired, "notify", testPass, "smtp://notify:xxxxx@mail.example.org:587"},
		{"smtp://mail.example.org", "mail.example.org", 587, tlsStartRequired, "", "", "smtp://mail.example.org"},
		{"SMTP://mail.example.org:25", "mail.example.org", 25, tlsStartRequired, "", "", "smtp://mail.example.org:25"},
		{"smtps://notify:" + testPass + "@mail.example.org", "mail.example.org", 465, tlsImplicit, "notify", testPass, "smtps://notify:xxxxx@mail.example.org"},
		{"smtps://mail.example.org:2465", "mail.example.org", 2465, tlsImplicit, "", "", "smtps://mail.example.org:2465"},
		{"smtp://localhost:1025", "localhost", 1025, tlsStartOpportunistic, "", "", "smtp://localhost:1025"},
		{"smtp://127.0.0.1:2525?starttls=off", "127.0.0.1", 2525, tlsOff, "", "", "smtp://127.0.0.1:2525?starttls=off"},
		{"smtp://[::1]:25?starttls=opportunistic", "::1", 25, tlsStartOpportunistic, "", "", "smtp://[::1]:25?starttls=opportunistic"},
		{"smtp://127.0.0.1:2525?starttls=required", "127.0.0.1", 2525, tlsStartRequired, "", "", "smtp://127.0.0.1:2525?starttls=required"},
		// A password with reserved characters is percent-encoded in the URL.
		{"smtp://notify:p%40ss%3Aw0rd@mail.example.org:587", "mail.example.org", 587, tlsStartRequired, "notify", "p@ss:w0rd", "smtp://notify:xxxxx@mail.example.org:587"},
	}
	for _, tt := range tests {
		t.Run(tt.redacted, func(t *testing.T) {
			s, err := NewSMTP(tt.url, testFrom)
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			if s.host != tt.host || s.port != tt.port || s.mode != tt.mode || s.user != tt.user || s.pass != tt.pass {
				t.Errorf("got host %q port %d mode %d user %q pass %q, want %q %d %d %q %q",
					s.host, s.port, s.mode, s.user, s.pass, tt.host, tt.port, tt.mode, tt.user, tt.pass)
			}
			if s.String() != tt.redacted {
				t.Errorf("String() = %q, want %q", s.String(), tt.redacted)
			}
			if tt.pass != "" && strings.Contains(s.String(), tt.pass) {
				t.Errorf("String() shows the password: %q", s.String())
			}
		})
	}
}

func TestNewSMTPInvalid(t *testing.T) {
	tests := []struct {
		name, url, from, want string
	}{
		{"empty", "", testFrom, "empty"},
		{"bad scheme", "http://notify:" + testPass + "@mail.example.org", testFrom, "scheme"},
		{"no scheme", "mail.example.org:587", testFrom, "scheme"},
		{"missing host", "smtp://notify:" + testPass + "@:587", testFrom, "missing host"},
		{"port out of range", "smtp://notify:" + testPass + "@mail.example.org:99999", testFrom, "port"},
		{"port zero", "smtp://notify:" + testPass + "@mail.example.org:0", testFrom, "port"},
		{"port not a number", "smtp://notify:" + testPass + "@mail.example.org:abc", testFrom, "not a valid URL"},
		{"bad escape in password", "smtp://notify:" + testPass + "%zz@mail.example.org", testFrom, "not a valid URL"},
		{"opaque", "smtp:notify:" + testPass + "@mail.example.org", testFrom, "scheme://host"},
		{"path", "smtp://notify:" + testPass + "@mail.example.org/relay", testFrom, "path"},
		{"plain text to a remote host", "smtp://notify:" + testPass + "@mail.example.org?starttls=off", testFrom, "loopback"},
		{"opportunistic to a remote host", "smtp://notify:" + testPass + "@mail.example.org?starttls=opportunistic", testFrom, "loopback"},
		{"starttls with smtps", "smtps://notify:" + testPass + "@mail.example.org?starttls=required", testFrom, "smtps"},
		{"unknown starttls value", "smtp://notify:" + testPass + "@127.0.0.1?starttls=maybe", testFrom, "starttls must be"},
		{"unknown parameter", "smtp://notify:" + testPass + "@mail.example.org?tls=yes", testFrom, "unknown parameter"},
		{"bad From", "smtp://notify:" + testPass + "@mail.example.org", "not an address", "From"},
		{"empty From", "smtp://notify:" + testPass + "@mail.example.org", "", "From"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSMTP(tt.url, tt.from)
			if err == nil {
				t.Fatalf("NewSMTP(%q) = %v, want an error", tt.url, s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testPass) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

// newTestSMTP builds a sender for a test server, trusting the test certificate when given.
func newTestSMTP(t *testing.T, rawURL string, trust *tls.Config) *SMTP {
	t.Helper()
	s, err := NewSMTP(rawURL, testFrom)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	if trust != nil {
		s.tlsConfig = trust
	}
	return s
}

var testMsg = Message{ID: 42, To: "team@council.example", Subject: "New Family Help referral FH-7K3M-Q9P2", Text: "Reference: FH-7K3M-Q9P2\nhttps://familyhelp.example/staff/referrals/FH-7K3M-Q9P2\n"}

func TestSMTPDeliversPlainTextWithAuth(t *testing.T) {
	srv := startServer(t, serverOptions{user: "notify", pass: testPass})
	s := newTestSMTP(t, "smtp://notify:"+testPass+"@"+srv.Addr, nil)

	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	m := got[0]
	if m.From != "noreply@familyhelp.example" || len(m.To) != 1 || m.To[0] != testMsg.To {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	if h := m.header(t, "Subject"); h != testMsg.Subject {
		t.Errorf("Subject = %q", h)
	}
	if h := m.header(t, "To"); !strings.Contains(h, testMsg.To) {
		t.Errorf("To = %q", h)
	}
	if h := m.header(t, "From"); !strings.Contains(h, "noreply@familyhelp.example") {
		t.Errorf("From = %q", h)
	}
	if h := m.header(t, "Date"); h == "" {
		t.Error("no Date")
	} else if _, err := netmail.ParseDate(h); err != nil {
		t.Errorf("Date %q: %v", h, err)
	}
	msgID := m.header(t, "Message-ID")
	if !strings.HasPrefix(msgID, "<") || !strings.HasSuffix(msgID, "@familyhelp.example>") {
		t.Errorf("Message-ID = %q", msgID)
	}
	if h := m.header(t, "Content-Type"); !strings.HasPrefix(h, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", h)
	}
	if strings.Contains(strings.ToLower(string(m.Data)), "text/html") {
		t.Error("message has an HTML part")
	}
	if h := m.header(t, "Auto-Submitted"); h != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", h)
	}
	if b := m.body(t); b != testMsg.Text {
		t.Errorf("body = %q, want %q", b, testMsg.Text)
	}

	// A resend of the same outbox message (the crash window) keeps its Message-ID, so a
	// de-duplicating mailbox can drop it; another message gets another.
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send again: %v", err)
	}
	other := testMsg
	other.ID = 43
	if err := s.Send(context.Background(), other); err != nil {
		t.Fatalf("Send other: %v", err)
	}
	got = srv.Received()
	if len(got) != 3 {
		t.Fatalf("server received %d messages, want 3", len(got))
	}
	if id := got[1].header(t, "Message-ID"); id != msgID {
		t.Errorf("resend Message-ID = %q, want %q", id, msgID)
	}
	if id := got[2].header(t, "Message-ID"); id == msgID {
		t.Errorf("another message has the same Message-ID %q", id)
	}
}

func TestSMTPTLS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)

	t.Run("STARTTLS required", func(t *testing.T) {
		srv := startServer(t, serverOptions{user: "notify", pass: testPass, tls: serverTLS})
		s := newTestSMTP(t, "smtp://notify:"+testPass+"@"+srv.Addr+"?starttls=required", clientTLS)
		if err := s.Send(context.Background(), testMsg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := srv.Received(); len(got) != 1 || !got[0].TLS {
			t.Fatalf("want one message over TLS, got %+v", got)
		}
	})

	t.Run("smtps", func(t *testing.T) {
		srv := startServer(t, serverOptions{user: "notify", pass: testPass, tls: serverTLS, implicit: true})
		s := newTestSMTP(t, "smtps://notify:"+testPass+"@"+srv.Addr, clientTLS)
		if err := s.Send(context.Background(), testMsg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := srv.Received(); len(got) != 1 || !got[0].TLS {
			t.Fatalf("want one message over TLS, got %+v", got)
		}
	})

	t.Run("opportunistic upgrades when offered", func(t *testing.T) {
		srv := startServer(t, serverOptions{tls: serverTLS})
		s := newTestSMTP(t, "smtp://"+srv.Addr, clientTLS)
		if err := s.Send(context.Background(), testMsg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := srv.Received(); len(got) != 1 || !got[0].TLS {
			t.Fatalf("want one message over TLS, got %+v", got)
		}
	})

	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		srv := startServer(t, serverOptions{user: "notify", pass: testPass})
		s := newTestSMTP(t, "smtp://notify:"+testPass+"@"+srv.Addr+"?starttls=required", clientTLS)
		err := s.Send(context.Background(), testMsg)
		assertSendError(t, err, "connect", 0, "STARTTLS not offered", false)
		if n := len(srv.Received()); n != 0 {
			t.Errorf("server received %d messages in clear", n)
		}
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		srv := startServer(t, serverOptions{user: "notify", pass: testPass, tls: serverTLS})
		s := newTestSMTP(t, "smtp://notify:"+testPass+"@"+srv.Addr+"?starttls=required", nil)
		err := s.Send(context.Background(), testMsg)
		assertSendError(t, err, "connect", 0, "tls certificate not trusted", false)
		if n := len(srv.Received()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
}

func TestSMTPFailures(t *testing.T) {
	reject := func(code int, enh smtp.EnhancedCode) func(string) error {
		return func(to string) error {
			// Real servers quote the address back; it must not reach the error text.
			return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "<" + to + "> is not accepted here"}
		}
	}

	t.Run("5xx to RCPT is permanent", func(t *testing.T) {
		srv := startServer(t, serverOptions{reject: reject(550, smtp.EnhancedCode{5, 1, 1})})
		err := newTestSMTP(t, "smtp://"+srv.Addr, nil).Send(context.Background(), testMsg)
		assertSendError(t, err, "rcpt", 550, "", true)
		if se := err.(*SendError); se.Enhanced != "5.1.1" {
			t.Errorf("Enhanced = %q", se.Enhanced)
		}
	})

	t.Run("4xx to RCPT is temporary", func(t *testing.T) {
		srv := startServer(t, serverOptions{reject: reject(451, smtp.EnhancedCode{4, 3, 0})})
		err := newTestSMTP(t, "smtp://"+srv.Addr, nil).Send(context.Background(), testMsg)
		assertSendError(t, err, "rcpt", 451, "", false)
	})

	t.Run("wrong password is temporary", func(t *testing.T) {
		srv := startServer(t, serverOptions{user: "notify", pass: "another"})
		err := newTestSMTP(t, "smtp://notify:"+testPass+"@"+srv.Addr, nil).Send(context.Background(), testMsg)
		assertSendError(t, err, "auth", 535, "", false)
		if strings.Contains(err.Error(), testPass) {
			t.Errorf("error shows the password: %q", err)
		}
	})

	t.Run("nothing listening", func(t *testing.T) {
		srv := startServer(t, serverOptions{})
		srv.Close()
		err := newTestSMTP(t, "smtp://"+srv.Addr, nil).Send(context.Background(), testMsg)
		assertSendError(t, err, "connect", 0, "connection refused", false)
	})

	t.Run("server stops answering after its greeting", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		hungUp := make(chan struct{})
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			// Greet, then ignore EHLO; reading ends once the client closes its end.
			_, _ = c.Write([]byte("220 localhost ESMTP\r\n"))
			_, _ = io.Copy(io.Discard, c)
			close(hungUp)
		}()
		s := newTestSMTP(t, "smtp://"+ln.Addr().String(), nil)
		s.timeout = 300 * time.Millisecond
		start := time.Now()
		err = s.Send(context.Background(), testMsg)
		assertSendError(t, err, "connect", 0, "timeout", false)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v with a 300ms timeout", d)
		}
		select {
		case <-hungUp:
		case <-time.After(2 * time.Second):
			t.Error("the connection was left open after the failed send")
		}
	})

	t.Run("malformed recipient is permanent", func(t *testing.T) {
		srv := startServer(t, serverOptions{})
		m := testMsg
		m.To = "not an address"
		err := newTestSMTP(t, "smtp://"+srv.Addr, nil).Send(context.Background(), m)
		assertSendError(t, err, "message", 0, "invalid recipient address", true)
		if n := len(srv.Received()); n != 0 {
			t.Errorf("server received %d messages", n)
		}
	})
}

// assertSendError checks err is a *SendError as described, and that its text names neither
// the recipient nor the subject.
func assertSendError(t *testing.T, err error, stage string, code int, cause string, permanent bool) {
	t.Helper()
	if err == nil {
		t.Fatal("Send succeeded, want an error")
	}
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SendError", err, err)
	}
	if se.Stage != stage || se.Code != code || se.Cause != cause {
		t.Errorf("got stage %q code %d cause %q, want %q %d %q", se.Stage, se.Code, se.Cause, stage, code, cause)
	}
	if got := errors.Is(err, ErrPermanent); got != permanent {
		t.Errorf("errors.Is(err, ErrPermanent) = %v, want %v", got, permanent)
	}
	for _, secret := range []string{testMsg.To, "team@", testMsg.Subject, "FH-7K3M-Q9P2"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
}
