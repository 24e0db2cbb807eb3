package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"

	"familyhelp/referral"
	"familyhelp/seed"
	"familyhelp/staff"
)

// staffCommand is `familyhelp staff add --email … --name … --role … [--team …]`: it creates
// an account and prints a one-time link to set its password.
func staffCommand(ctx context.Context, cfg config, log *slog.Logger, out io.Writer, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageError("usage: familyhelp staff add --email EMAIL --name NAME --role member|manager|editor|admin [--team TEAM]")
	}
	fs := flag.NewFlagSet("staff add", flag.ContinueOnError)
	fs.SetOutput(out)
	email := fs.String("email", "", "the person's work email")
	name := fs.String("name", "", "their name")
	role := fs.String("role", "", "member, manager, editor or admin")
	team := fs.String("team", "", "their team's id (members and managers), from the routing file")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	a, err := open(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.close()
	if *team != "" {
		if _, ok := a.refs.Routing.TeamByID(*team); !ok {
			return usageError(fmt.Sprintf("--team %q is not a team in the routing configuration", *team))
		}
	}
	acct, token, err := a.portal.NewAccount(ctx, *email, *name, staff.Role(*role), *team)
	if err != nil {
		return usageError(err.Error())
	}
	fmt.Fprintf(out, "created %s (%s)\nsend them this one-time link to set a password (it works once, for 3 days):\n%s/staff/set-password?token=%s\n",
		acct.Email, acct.Role.Label(), cfg.BaseURL, token)
	return nil
}

// demoAccounts gives a site in sample mode, served on this machine only, an admin, an editor
// and a member for each sample team, with passwords printed once, so people trying it out can
// sign in. It does nothing once any account exists, outside sample mode, or when the site's
// address is anything but localhost: a real deployment never gets accounts it did not ask for.
func demoAccounts(ctx context.Context, a *app, baseURL string, out io.Writer) error {
	if u, err := url.Parse(baseURL); err != nil || !isLocalHost(u.Hostname()) {
		return nil
	}
	if v, err := a.db.Setting(ctx, seed.SampleModeKey); err != nil || v != "on" {
		return err
	}
	existing, err := a.db.Accounts(ctx)
	if err != nil || len(existing) > 0 {
		return err
	}
	type demo struct {
		email, name string
		role        staff.Role
		team        string
	}
	demos := []demo{
		{"admin@example.org", "Demo Admin", staff.RoleAdmin, ""},
		{"editor@example.org", "Demo Editor", staff.RoleEditor, ""},
	}
	for _, t := range a.refs.Routing.Teams {
		role := staff.RoleMember
		if t.Kind == referral.KindFrontDoor {
			role = staff.RoleManager
		}
		demos = append(demos, demo{t.ID + "@example.org", "Demo " + t.Name, role, t.ID})
	}
	var b strings.Builder
	b.WriteString("Sample mode: demo staff accounts (sign in at /staff/login; these passwords are shown once):\n")
	for _, d := range demos {
		pw := demoPassword()
		acct := &staff.Account{ID: randomID(), Email: d.email, Name: d.name, Role: d.role, TeamID: d.team,
			PasswordHash: staff.HashPassword(pw), CreatedAt: time.Now().UTC()}
		if err := a.db.CreateAccount(ctx, acct); err != nil {
			return err
		}
		fmt.Fprintf(&b, "  demo account: %s password: %s (%s)\n", d.email, pw, d.role.Label())
	}
	_, err = io.WriteString(out, b.String())
	return err
}

// demoPassword is four random words' worth of letters: long, and not on any list.
func demoPassword() string {
	const letters = "abcdefghjkmnpqrstuvwxyz23456789"
	var b strings.Builder
	for i := range 16 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b.WriteByte(letters[n.Int64()])
	}
	return b.String()
}

func isLocalHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b[:])
}
