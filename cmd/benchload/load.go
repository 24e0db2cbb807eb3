package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// result holds the figures for one scenario.
type result struct {
	Name     string        `json:"name"`
	Requests int           `json:"requests"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	RPS      float64       `json:"requests_per_second"`
	P50      time.Duration `json:"p50_ns"`
	P90      time.Duration `json:"p90_ns"`
	P99      time.Duration `json:"p99_ns"`
	Failed   int           `json:"failed"` // non-200 responses and transport errors
	// FirstFailure describes one failure, so a failing run says why without a log dive.
	FirstFailure string `json:"first_failure,omitempty"`
}

// newClient returns a keep-alive client for one loopback address. fasthttp reuses request
// and response objects, so the generator spends far less CPU per request than net/http would:
// that matters when it shares two cores with the server it measures.
func newClient(addr string, conns int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                     addr,
		MaxConns:                 conns,
		ReadTimeout:              10 * time.Second, // a stuck request must not stop the run from ending
		WriteTimeout:             10 * time.Second,
		MaxIdleConnDuration:      time.Minute,
		NoDefaultUserAgentHeader: true,
		// One attempt only: a silent retry would hide a failure and flatter the latency.
		MaxIdemponentCallAttempts: 1,
	}
}

// measure runs a warm-up (discarded: it fills connection pools and caches) and then a measured
// closed loop of conc workers over urls, each sending its next request as soon as the last
// one is answered. It stops after d, after maxReq requests, or when ctx is cancelled.
func measure(ctx context.Context, name string, hc *fasthttp.HostClient, urls []string, conc int, warmup, d time.Duration, maxReq int) result {
	if warmup > 0 {
		drive(ctx, hc, urls, conc, warmup, maxReq)
	}
	start := time.Now()
	lats, failed, first := drive(ctx, hc, urls, conc, d, maxReq)
	r := result{Name: name, Elapsed: time.Since(start), Failed: failed, FirstFailure: first}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	r.Requests = len(all)
	if r.Requests == 0 {
		return r
	}
	slices.Sort(all)
	r.RPS = float64(r.Requests) / r.Elapsed.Seconds()
	r.P50, r.P90, r.P99 = percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99)
	return r
}

// percentile is the nearest-rank percentile of sorted durations: an observed value, not an
// interpolation or a histogram bucket.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// clients are the addresses the page and search requests come from, sent as X-Forwarded-For
// (the app trusts it from loopback in this benchmark). A site serves many people, each well
// under the per-address search limit; from one address the run would measure the "please wait"
// page. They are 198.18.0.0/16, inside the block set aside for benchmarks (RFC 2544), cycled
// so the limiter's buckets are reused as a busy site's would be, not created for every request.
var clients = func() []string {
	out := make([]string, 1<<16)
	for i := range out {
		out[i] = fmt.Sprintf("198.18.%d.%d", i>>8, i&0xff)
	}
	return out
}()

// drive is the closed loop. Each worker keeps its own latency slice so recording needs no lock;
// a shared counter spreads the URLs over the workers and enforces the request cap.
func drive(ctx context.Context, hc *fasthttp.HostClient, urls []string, conc int, d time.Duration, maxReq int) (lats [][]time.Duration, failed int, first string) {
	deadline := time.Now().Add(d)
	var next atomic.Int64
	var mu sync.Mutex // guards failed and first
	lats = make([][]time.Duration, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				n := next.Add(1) - 1
				if n >= int64(maxReq) {
					return
				}
				u := urls[n%int64(len(urls))]
				req.SetRequestURI(u)
				req.Header.Set(fasthttp.HeaderXForwardedFor, clients[n%int64(len(clients))])
				t0 := time.Now()
				err := hc.Do(req, resp)
				lats[w] = append(lats[w], time.Since(t0))
				if err == nil && resp.StatusCode() == fasthttp.StatusOK {
					continue
				}
				mu.Lock()
				failed++
				if first == "" {
					if err != nil {
						first = fmt.Sprintf("GET %s: %v", u, err)
					} else {
						first = fmt.Sprintf("GET %s: status %d", u, resp.StatusCode())
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lats, failed, first
}
