// Package notify delivers the emails that the outbox holds: the worker that claims due
// notifications and retries them with backoff, the SMTP sender, and the wording of the
// notifications themselves.
//
// A referral and its notifications are written in one transaction elsewhere; this package
// only reads the outbox through the Outbox interface, so email can be down, or not
// configured at all, and nothing is lost: notifications wait in the outbox, where staff can
// see them.
//
// Nothing here logs or stores a recipient's address, a subject or a body: logs carry the
// outbox id, the attempt and the outcome, and failure reasons carry only the SMTP stage and
// status code.
package notify

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Message is one email waiting in the outbox.
type Message struct {
	ID int64
	// To is exactly one address: a team mailbox, or a family's address they marked safe.
	To      string
	Subject string
	// Text is the plain-text body. There is no HTML on purpose: it cannot carry remote
	// images or trackers, and it reads the same on every phone.
	Text string
	// Attempts is how many delivery attempts were made before this claim.
	Attempts int
}

// Outbox is the database side of delivery. Implementations must make Claim safe to call
// from several workers and several instances at once: that lease is what stops two of them
// sending the same message.
type Outbox interface {
	// Claim returns up to max messages that are unsent, not given up, due (next attempt at or
	// before now) and not leased (no lease, or a lease that ended at or before now), and
	// leases each of them until now+lease in the same atomic step, so no other caller can
	// claim them until the lease ends (SQL: UPDATE … RETURNING, or SELECT … FOR UPDATE SKIP
	// LOCKED then UPDATE, in one transaction). Oldest due first. Attempts is the count
	// recorded so far. A lease that ends without MarkSent or MarkFailed (the worker
	// crashed) makes the message claimable again: that is how a crash loses nothing.
	Claim(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Message, error)

	// MarkSent records that the mail server accepted the message at the given time. The
	// message is never claimed again. It also ends the lease.
	MarkSent(ctx context.Context, id int64, at time.Time) error

	// MarkFailed records a failed attempt: the total number of attempts so far, when the
	// message becomes due again, and why it failed. A zero next means the worker has given
	// up: the message is never claimed again and stays visible to staff as undelivered. It
	// also ends the lease. reason holds no personal data: only a short category and the
	// SMTP stage and status code (for example "smtp rcpt: 550 5.1.1"), never an address,
	// subject or server reply text.
	MarkFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error
}

// Sender delivers one message. A nil error means the mail server accepted it. An error
// that wraps ErrPermanent means trying again cannot help; any other error is retried.
// Error text must be safe to log and to store as a failure reason: no address, subject or
// body (SMTP returns *SendError, whose text holds only the stage and status codes).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a failure that retrying cannot fix, such as a 5xx reply to the
// recipient or to the message. Test with errors.Is.
var ErrPermanent = errors.New("permanent delivery failure")

// SendError is a failed delivery described only by where it failed and the server's status
// codes. The server's reply text is left out on purpose: servers echo the recipient's
// address back in it (for example "550 <x@example.org>: mailbox unknown").
type SendError struct {
	// Stage is where delivery failed: "message" (could not be built, such as a malformed
	// address), "connect" (dial, greeting, STARTTLS), "auth", "mail", "rcpt" or "data".
	Stage string
	// Code is the SMTP reply code, or 0 when the server never replied.
	Code int
	// Enhanced is the RFC 3463 enhanced status code, such as "5.1.1", when the server sent one.
	Enhanced string
	// Cause is a short category when there is no reply code: "connection refused",
	// "timeout", "tls", and so on.
	Cause string
	// Permanent is true when retrying cannot help.
	Permanent bool

	err error
}

func (e *SendError) Error() string {
	s := "smtp " + e.Stage + ":"
	if e.Code != 0 {
		s += " " + strconv.Itoa(e.Code)
	}
	if e.Enhanced != "" {
		s += " " + e.Enhanced
	}
	if e.Cause != "" {
		s += " " + e.Cause
	}
	return s
}

// Unwrap gives callers errors.Is / errors.As access to the underlying error. Its text is
// not safe to log: it may quote the address.
func (e *SendError) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrPermanent) true for permanent failures.
func (e *SendError) Is(target error) bool { return target == ErrPermanent && e.Permanent }

// reason is what the worker logs and stores for a failed attempt. It trusts only
// *SendError's text: any other error may come from a library that quotes the address.
func reason(err error) string {
	var se *SendError
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, ErrPermanent):
		return "permanent failure"
	default:
		return "send failed"
	}
}
