package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Production mode is measured on the PostgreSQL and Redis this machine runs: a database made
// for the run and dropped after it, and the shared Redis, where the app's keys are its own
// rate-limit buckets (they expire by themselves; nothing is flushed).

// freshDatabase creates an empty database on the server serverURL names and returns its URL,
// and drop, which removes it even if the app left connections open.
func freshDatabase(ctx context.Context, serverURL string) (dbURL string, drop func(), err error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", nil, fmt.Errorf("-postgres-url: %w", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "fhbench_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()
	if err := execPostgres(ctx, serverURL, "CREATE DATABASE "+ident); err != nil {
		return "", nil, fmt.Errorf("create the benchmark database: %w", err)
	}
	drop = func() {
		// Its own context: the run's may have ended with an interrupt.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execPostgres(ctx, serverURL, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			fmt.Printf("could not drop the benchmark database %s: %v\n", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}

// execPostgres runs one statement on a connection of its own: CREATE and DROP DATABASE cannot
// run in a transaction, nor on a connection to the database they drop.
func execPostgres(ctx context.Context, serverURL, statement string) error {
	cfg, err := pgx.ParseConfig(serverURL)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = 3 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("no PostgreSQL at %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, statement)
	return err
}

// pingRedis makes sure Redis answers before the run: with REDIS_URL set and Redis down, the app
// falls back to its in-process limiter, and the figures would be the embedded default's under
// another name.
func pingRedis(ctx context.Context, redisURL string) error {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("-redis-url: %w", err)
	}
	opts.DialTimeout = 3 * time.Second
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("no Redis at %s: %w", opts.Addr, err)
	}
	return nil
}
