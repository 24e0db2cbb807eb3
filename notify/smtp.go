package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	mail "github.com/wneessen/go-mail"
)

// tlsMode is how a connection is protected.
type tlsMode int

const (
	// tlsStartRequired upgrades with STARTTLS and refuses servers that do not offer it.
	tlsStartRequired tlsMode = iota
	// tlsStartOpportunistic upgrades when the server offers STARTTLS, else stays plain.
	tlsStartOpportunistic
	// tlsOff never encrypts.
	tlsOff
	// tlsImplicit speaks TLS from the first byte (smtps://, port 465).
	tlsImplicit
)

// defaultSMTPTimeout bounds each step of a session, so a hung server cannot hold a claimed
// message past its lease.
const defaultSMTPTimeout = 10 * time.Second

// SMTP sends notifications through one SMTP server, one connection per message: the
// volume is a few emails per referral, and a fresh connection cannot be left half-broken by
// the previous message. It is safe for concurrent use.
type SMTP struct {
	host     string
	port     int
	user     string
	pass     string
	hasAuth  bool
	mode     tlsMode
	from     string
	domain   string // for Message-IDs
	redacted string
	timeout  time.Duration
	// tlsConfig replaces the system roots, for tests; nil verifies against the system's.
	tlsConfig *tls.Config
}

// NewSMTP configures a sender from SMTP_URL and the From address.
//
//	smtp://user:pass@host:port[?starttls=required|opportunistic|off]   (port defaults to 587)
//	smtps://user:pass@host:port                                        (implicit TLS, port defaults to 465)
//
// Special characters in the user or password must be percent-encoded.
//
// smtp:// always upgrades with STARTTLS and verifies the certificate (starttls=required),
// because the password and the family's address would otherwise cross the network in
// clear. Only to a loopback host (localhost, 127.0.0.0/8, ::1), such as a local test
// server, may it fall back to plain text: there the default is starttls=opportunistic, and
// starttls=off is allowed. Asking for opportunistic or off to any other host is an error,
// not a silent downgrade.
//
// With a user in the URL the sender authenticates with the first of SCRAM-SHA-256,
// SCRAM-SHA-1, PLAIN and LOGIN that the server offers. PLAIN and LOGIN go only over TLS,
// except to a loopback host.
//
// Errors never contain the password, and String gives the URL with it redacted.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	s, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("configure SMTP: invalid From address: %w", err)
	}
	s.from = from
	if at := strings.LastIndexByte(addr.Address, '@'); at >= 0 {
		s.domain = addr.Address[at+1:]
	}
	s.timeout = defaultSMTPTimeout
	// Catch any option go-mail would refuse now, at start-up, rather than at the first send.
	if _, err := s.client(s.timeout, nil); err != nil {
		return nil, fmt.Errorf("configure SMTP: %w", err)
	}
	return s, nil
}

func parseSMTPURL(raw string) (*SMTP, error) {
	const op = "parse SMTP_URL"
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New(op + ": empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included, and its inner errors can quote
		// pieces of a malformed password: say what to check instead.
		return nil, errors.New(op + ": not a valid URL (check the host and port, and that special characters in the user or password are percent-encoded)")
	}
	s := &SMTP{}
	switch u.Scheme {
	case "smtp":
		s.port = mail.DefaultPortTLS
	case "smtps":
		s.port = mail.DefaultPortSSL
		s.mode = tlsImplicit
	default:
		return nil, fmt.Errorf("%s: scheme must be smtp or smtps, not %q", op, u.Scheme)
	}
	if u.Opaque != "" {
		return nil, errors.New(op + ": want scheme://host:port")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New(op + ": missing host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%s: invalid port %q", op, p)
		}
		s.port = n
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New(op + ": unexpected path after host:port")
	}
	if u.Fragment != "" {
		return nil, errors.New(op + ": unexpected fragment")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		s.hasAuth = s.user != ""
	}

	loopback := isLoopback(s.host)
	if s.mode != tlsImplicit {
		s.mode = tlsStartRequired
		if loopback {
			s.mode = tlsStartOpportunistic
		}
	}
	for key, vals := range u.Query() {
		if key != "starttls" {
			return nil, fmt.Errorf("%s: unknown parameter %q (only starttls)", op, key)
		}
		if s.mode == tlsImplicit {
			return nil, errors.New(op + ": smtps:// already uses TLS, starttls does not apply")
		}
		if len(vals) != 1 {
			return nil, errors.New(op + ": starttls given more than once")
		}
		switch strings.ToLower(vals[0]) {
		case "required":
			s.mode = tlsStartRequired
		case "opportunistic":
			s.mode = tlsStartOpportunistic
		case "off":
			s.mode = tlsOff
		default:
			return nil, fmt.Errorf("%s: starttls must be required, opportunistic or off, not %q", op, vals[0])
		}
		if s.mode != tlsStartRequired && !loopback {
			return nil, fmt.Errorf("%s: starttls=%s is only allowed to a loopback host: mail to %s must be encrypted", op, vals[0], s.host)
		}
	}
	s.redacted = u.Redacted()
	return s, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String is the server's URL with the password redacted, safe for logs.
func (s *SMTP) String() string { return s.redacted }

// tlsClientConfig verifies the server against the system's roots (or the test's).
func (s *SMTP) tlsClientConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.tlsConfig != nil {
		cfg = s.tlsConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = s.host
	}
	return cfg
}

// client builds a go-mail client for one message. A fresh client per message keeps
// concurrent sends apart: go-mail's client mutates its own auth state during a session.
func (s *SMTP) client(timeout time.Duration, d *dialer) (*mail.Client, error) {
	cfg := s.tlsClientConfig()
	opts := []mail.Option{mail.WithPort(s.port), mail.WithTimeout(timeout), mail.WithTLSConfig(cfg)}
	if d != nil {
		opts = append(opts, mail.WithDialContextFunc(d.dial))
	}
	switch s.mode {
	case tlsImplicit:
		opts = append(opts, mail.WithSSL())
		if d != nil {
			d.tls = cfg
		}
	case tlsStartRequired:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case tlsStartOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case tlsOff:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.hasAuth {
		opts = append(opts, mail.WithUsername(s.user), mail.WithPassword(s.pass))
		// The first of these the server offers is used (if none, go-mail's own choice).
		// PLAIN and LOGIN refuse to run without TLS; the -NOENC forms are only configured
		// for loopback hosts (parseSMTPURL refuses plain text to others), where the
		// password never leaves the machine.
		if s.mode == tlsImplicit || s.mode == tlsStartRequired {
			opts = append(opts, mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1,
				mail.SMTPAuthPlain, mail.SMTPAuthLogin))
		} else {
			opts = append(opts, mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1,
				mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc))
		}
	}
	return mail.NewClient(s.host, opts...)
}

// dialer remembers the connection it made: when greeting, STARTTLS or AUTH fails, go-mail
// returns without closing it, and Send must.
type dialer struct {
	tls  *tls.Config // implicit TLS when set
	conn net.Conn
}

func (d *dialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := &net.Dialer{}
	var err error
	if d.tls != nil {
		d.conn, err = (&tls.Dialer{NetDialer: nd, Config: d.tls}).DialContext(ctx, network, addr)
	} else {
		d.conn, err = nd.DialContext(ctx, network, addr)
	}
	return d.conn, err
}

func (d *dialer) close() {
	if d.conn != nil {
		_ = d.conn.Close()
	}
}

// Send delivers m. It returns nil once the server has accepted the message (its reply to
// the end of DATA), even if closing the session fails afterwards: reporting that as a
// failure would send the message twice. Failures are *SendError; 5xx replies to MAIL, RCPT
// or DATA are permanent. A 5xx while connecting or authenticating is not: it describes this
// server or our credentials, not the message, and giving up on it would strand every
// notification until someone noticed.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	timeout := s.timeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return &SendError{Stage: "connect", Cause: "timeout", err: context.DeadlineExceeded}
		}
		timeout = min(timeout, left)
	}
	d := &dialer{}
	c, err := s.client(timeout, d)
	if err != nil {
		return &SendError{Stage: "connect", Cause: "client setup", err: err}
	}
	// A cancelled ctx stops the dial only. A session under way is left to finish (each
	// step is bounded by the timeout): cutting it after DATA could leave a message the
	// server accepted looking unsent, and sent again.
	conn, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		d.close()
		return dialError(err)
	}
	defer func() {
		// Closing after acceptance changes nothing for the message, so its error is dropped.
		_ = c.CloseWithSMTPClient(conn)
		d.close()
	}()

	err = c.SendWithSMTPClient(conn, msg)
	if msg.IsDelivered() {
		// Accepted; a failure here can only be the RSET that follows.
		return nil
	}
	if err == nil {
		return &SendError{Stage: "data", Cause: "not accepted", err: errors.New("server did not accept the message")}
	}
	return sendError(err)
}

// build writes the email. Its Message-ID is derived from the outbox id and contents, so
// the rare resend after a crash (see Worker) carries the same Message-ID, which lets mail
// systems that de-duplicate drop it.
func (s *SMTP) build(m Message) (*mail.Msg, error) {
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, &SendError{Stage: "message", Cause: "invalid subject", Permanent: true}
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, &SendError{Stage: "message", Cause: "invalid sender address", err: err}
	}
	if err := msg.To(m.To); err != nil {
		return nil, &SendError{Stage: "message", Cause: "invalid recipient address", Permanent: true, err: err}
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(time.Now())
	sum := sha256.Sum256([]byte(m.To + "\x00" + m.Subject + "\x00" + m.Text))
	msg.SetMessageIDWithValue(fmt.Sprintf("notify.%d.%s@%s", m.ID, hex.EncodeToString(sum[:8]), s.domain))
	// RFC 3834: asks out-of-office responders not to answer an automatic message.
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	return msg, nil
}

var enhancedCode = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\b`)

// dialError describes a failure before MAIL FROM: connecting, greeting, STARTTLS or AUTH.
// None of these is permanent (see Send).
func dialError(err error) *SendError {
	se := &SendError{Stage: "connect", err: err}
	if strings.HasPrefix(err.Error(), "SMTP AUTH failed") ||
		errors.Is(err, mail.ErrNoSupportedAuthDiscovered) ||
		errors.Is(err, mail.ErrPlainAuthNotSupported) ||
		errors.Is(err, mail.ErrLoginAuthNotSupported) ||
		strings.Contains(err.Error(), "does not support SMTP AUTH") {
		se.Stage = "auth"
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		se.Code = tp.Code
		se.Enhanced = enhancedCode.FindString(tp.Msg)
		return se
	}
	if se.Stage == "auth" {
		se.Cause = "no usable mechanism"
		return se
	}
	if strings.Contains(err.Error(), "does not support STARTTLS") {
		se.Cause = "STARTTLS not offered"
		return se
	}
	se.Cause = networkCause(err)
	return se
}

// networkCause names a transport failure without quoting it.
func networkCause(err error) string {
	var (
		netErr  net.Error
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unkCA   x509.UnknownAuthorityError
		badHost x509.HostnameError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return "host not found"
	case errors.As(err, &certErr), errors.As(err, &unkCA), errors.As(err, &badHost):
		return "tls certificate not trusted"
	case errors.As(err, &recErr), errors.As(err, &alert):
		return "tls handshake failed"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EPIPE):
		return "connection closed"
	default:
		return "network error"
	}
}

// sendError describes a failure from MAIL FROM onwards.
func sendError(err error) *SendError {
	var me *mail.SendError
	if !errors.As(err, &me) {
		return &SendError{Stage: "data", Cause: networkCause(err), err: err}
	}
	se := &SendError{err: err, Code: me.ErrorCode(), Enhanced: me.EnhancedStatusCode()}
	switch me.Reason {
	case mail.ErrGetSender, mail.ErrGetRcpts:
		se.Stage = "message"
		se.Cause = "invalid address"
		se.Permanent = true
		return se
	case mail.ErrSMTPMailFrom:
		se.Stage = "mail"
	case mail.ErrSMTPRcptTo:
		se.Stage = "rcpt"
	case mail.ErrConnCheck:
		se.Stage = "connect"
	default:
		se.Stage = "data"
	}
	if se.Code == 0 {
		se.Cause = networkCause(err)
	}
	se.Permanent = se.Code >= 500 && se.Code < 600 && se.Stage != "connect"
	return se
}
