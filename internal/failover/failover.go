// Package failover keeps short-lived shared state (CSRF tokens, referral drafts) in a primary
// store, Redis, while it answers, and in a backup, the database, while it does not, so that
// Redis going away never stops a family finishing a form.
//
// A value lives wherever writes went when it was written, so reads look in both: first where
// writes go now, then in the other. Values written during an outage are found once Redis is
// back; values written before it are found again as soon as it returns. Deletes go to both.
//
// While the primary is failing only one call every retry interval tries it (a circuit
// breaker), so an outage with slow timeouts costs one slow request per interval rather than
// one per request. The outage is logged once when it begins and once when it ends, with
// nothing about the values or their keys.
package failover

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sony/gobreaker/v2"
)

// DefaultRetryInterval is how long a failing primary is left alone before one call tries it
// again.
const DefaultRetryInterval = 5 * time.Second

// Switch chooses between a primary and a backup for one kind of value.
type Switch struct {
	log *slog.Logger
	cb  *gobreaker.CircuitBreaker[struct{}]
}

// New returns a Switch for the values named what ("CSRF tokens"), logging to log. retry is
// the pause between tries of a failing primary; zero means DefaultRetryInterval.
func New(what string, log *slog.Logger, retry time.Duration) *Switch {
	if log == nil {
		log = slog.Default()
	}
	if retry <= 0 {
		retry = DefaultRetryInterval
	}
	s := &Switch{log: log}
	s.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        what,
		MaxRequests: 1,
		Timeout:     retry,
		// One failure is enough: every failure is a family waiting for a timeout, and the
		// backup is always right, only slower.
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 1 },
		// A person who closed the page is not Redis failing.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, _, to gobreaker.State) {
			switch to {
			case gobreaker.StateOpen:
				log.Warn("redis failing: "+name+" are kept in the database until it answers", "retry_in", retry.String())
			case gobreaker.StateClosed:
				log.Info("redis answering again: " + name + " are kept in it again")
			}
		},
	})
	return s
}

// notTried is the breaker's refusal to run the primary at all.
func notTried(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}

// Write writes to the primary, or to the backup when the primary is failing or fails now.
func (s *Switch) Write(primary, backup func() error) error {
	_, err := s.cb.Execute(func() (struct{}, error) { return struct{}{}, primary() })
	if err == nil {
		return nil
	}
	return backup()
}

// Read finds a value. found is false, with a nil error, when neither store has it.
//
// While the primary answers it is asked first, then the backup (for a value written during
// an outage). While it is failing the backup is asked first, then the primary once more,
// outside the breaker: a value written before the outage is only there, and the outage may
// be over. That extra try costs a timeout only for a value the backup does not have, which is
// once per person: what they save next goes to the backup.
func Read[T any](s *Switch, primary, backup func() (T, bool, error)) (v T, found bool, err error) {
	_, err = s.cb.Execute(func() (struct{}, error) {
		var perr error
		v, found, perr = primary()
		return struct{}{}, perr
	})
	switch {
	case err == nil && found:
		return v, true, nil
	case err == nil, !notTried(err):
		// A miss in the primary, or it failed just now (so there is no point asking again).
		return backup()
	}
	if v, found, err = backup(); err != nil || found {
		return v, found, err
	}
	if v, found, err = primary(); err != nil {
		var zero T
		return zero, false, nil
	}
	return v, found, nil
}

// Delete deletes from both stores: a person who asks us to forget what they typed must not
// find it again when Redis returns. The primary is tried even while it is failing; if it
// cannot be reached the value stays there until its own expiry (every value the primary holds
// has one), which is logged. The error returned is the backup's.
func (s *Switch) Delete(primary, backup func() error) error {
	berr := backup()
	if err := primary(); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("redis: could not delete one of the " + s.cb.Name() + "; it expires by itself")
	}
	return berr
}
