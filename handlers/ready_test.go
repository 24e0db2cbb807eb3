package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"familyhelp/handlers"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

// hung is a backing service that never answers and ignores its context.
type hung struct{}

func (hung) Ping(context.Context) error { select {} }

func TestReadyzReportsEveryDependency(t *testing.T) {
	// A driver's error can quote the connection string; the report must not.
	leaky := errors.New(`dial postgres://familyhelp:s3cret-pass@db.internal:5432/familyhelp: connection refused`)
	up := pinger{}
	for _, tc := range []struct {
		name     string
		database handlers.Pinger
		search   handlers.Pinger
		redis    handlers.Pinger
		code     int
		want     map[string]string
		status   string
	}{
		{"all up", up, up, up, 200, map[string]string{"database": "ok", "search": "ok", "redis": "ok"}, "ok"},
		{"search down", up, pinger{leaky}, up, 200, map[string]string{"database": "ok", "search": "degraded", "redis": "ok"}, "ok"},
		{"redis down", up, up, pinger{leaky}, 200, map[string]string{"database": "ok", "search": "ok", "redis": "degraded"}, "ok"},
		{"database down", pinger{leaky}, up, up, 503, map[string]string{"database": "unavailable", "search": "ok", "redis": "ok"}, "unavailable"},
		{"database hangs", hung{}, up, pinger{leaky}, 503, map[string]string{"database": "unavailable", "search": "ok", "redis": "degraded"}, "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuf{}
			srv := &handlers.Server{Database: tc.database, Log: slog.New(slog.NewTextHandler(logs, nil)),
				Dependencies: []handlers.Dependency{
					{Name: "search", Pinger: tc.search, Optional: true},
					{Name: "redis", Pinger: tc.redis, Optional: true},
				}}
			app, err := srv.App()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/readyz", nil), -1)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			var got struct {
				Status string                       `json:"status"`
				Checks map[string]map[string]string `json:"checks"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			checks := map[string]string{}
			for name, c := range got.Checks {
				checks[name] = c["status"]
			}
			if got.Status != tc.status || !reflect.DeepEqual(checks, tc.want) {
				t.Errorf("report %s, want status %s and checks %v", body, tc.status, tc.want)
			}
			for _, secret := range []string{"s3cret", "postgres", "db.internal", "refused"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("report holds %q: %s", secret, body)
				}
			}
			if tc.status != "ok" || tc.want["search"] != "ok" || tc.want["redis"] != "ok" {
				if !strings.Contains(logs.String(), "dependency is down") {
					t.Errorf("a dependency went down and the log does not say so: %s", logs.String())
				}
			}
		})
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type observed struct {
	route, method string
	status        int
}

type fakeMetrics struct {
	mu  sync.Mutex
	got []observed
}

func (m *fakeMetrics) ObserveRequest(route, method string, status int, took time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, observed{route, method, status})
}

// Requests reach the metrics and the log by route pattern, never by the path or query typed.
func TestRequestsAreCountedAndLoggedByRoute(t *testing.T) {
	s := newSite(t, false)
	m := &fakeMetrics{}
	s.srv.Metrics = m
	resp, err := s.app.Test(httptest.NewRequest(http.MethodGet, "/services/national-national-domestic-abuse-helpline?q=my+partner+secret", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	requestID := resp.Header.Get("X-Request-Id")
	s.get(t, "/search?q=secret+words")
	s.get(t, "/my-secret-path")

	want := []observed{
		{"/services/:id", "GET", 200},
		{"/search", "GET", 200},
		{"(unmatched)", "GET", 404},
	}
	if !reflect.DeepEqual(m.got, want) {
		t.Errorf("metrics saw %v, want %v", m.got, want)
	}
	logs := s.log.String()
	line := regexp.MustCompile(`(?m)^.*msg=request id=` + regexp.QuoteMeta(requestID) + ` .*$`).FindString(logs)
	if requestID == "" || line == "" {
		t.Fatalf("no request line with the request id %q the response carried:\n%s", requestID, logs)
	}
	for _, want := range []string{"method=GET", "path=/services/:id", "status=200", "duration_ms="} {
		if !strings.Contains(line, want) {
			t.Errorf("request line lacks %s: %s", want, line)
		}
	}
	for _, secret := range []string{"secret", "partner", "q=", "national-national"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
}
