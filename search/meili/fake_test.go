package meili

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

const testIndex = "services"

// fakeMeili plays a Meilisearch server, with the request and response shapes of its HTTP API
// (as meilisearch-go v0.36.3 sends and reads them): it records every request, runs each task
// through a scripted list of statuses (one per poll) and answers searches with scripted hits.
// It keeps which indexes exist, so that a rebuild's temporary index can be created, swapped
// and deleted; it does not index documents.
type fakeMeili struct {
	t   *testing.T
	srv *httptest.Server

	// stallSearch makes searches hang until the client gives up, like an overloaded server;
	// stalls counts them.
	stallSearch atomic.Bool
	stalls      atomic.Int64

	mu       sync.Mutex
	requests []recorded
	exists   bool            // the index testIndex exists
	others   map[string]bool // other indexes that exist (a rebuild's), by uid
	// flow is the status each task reports on successive polls; the last one repeats.
	flow []string
	// Tasks of type failType end "failed" with this code and message.
	failType, failCode, failMessage string
	// status forces an HTTP status for requests whose "METHOD /path" matches a key, which may
	// hold path.Match patterns ("POST /indexes/services_build_*/documents").
	status  map[string]int
	nextUID int64
	tasks   map[int64]string // uid → type
	// failed are tasks that end "failed" whatever failType says, with an error code.
	failed map[int64]string
	polls  map[int64]int
	// Search answers.
	hits      []string
	totalHits int
	// stored are the documents of testIndex, for document listings.
	stored []fakeDoc
}

// fakeDoc is a stored document as far as listings read it; a Fingerprint of "" is a document
// written before fingerprints were kept, which has no such field at all.
type fakeDoc struct {
	ServiceID, Fingerprint string
}

type recorded struct {
	method, path, auth string
	body               []byte
}

func (r recorded) String() string { return r.method + " " + r.path }

func newFake(t *testing.T) *fakeMeili {
	t.Helper()
	f := &fakeMeili{
		t:      t,
		flow:   []string{"enqueued", "processing", "succeeded"},
		status: map[string]int{},
		others: map[string]bool{},
		tasks:  map[int64]string{},
		failed: map[int64]string{},
		polls:  map[int64]int{},
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// open runs New against the fake and forgets the requests it made.
func (f *fakeMeili) open(t *testing.T) *Index {
	t.Helper()
	ix, err := New(context.Background(), f.srv.URL, "secret", testIndex)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.mu.Lock()
	f.requests = nil
	f.mu.Unlock()
	return ix
}

func (f *fakeMeili) set(fn func(f *fakeMeili)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// sent returns the recorded requests to "METHOD /path".
func (f *fakeMeili) sent(methodPath string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.method+" "+r.path == methodPath {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeMeili) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// existing lists the indexes that exist, sorted.
func (f *fakeMeili) existing() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	if f.exists {
		out = append(out, testIndex)
	}
	for uid, ok := range f.others {
		if ok {
			out = append(out, uid)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeMeili) has(uid string) bool {
	if uid == testIndex {
		return f.exists
	}
	return f.others[uid]
}

func (f *fakeMeili) setHas(uid string, ok bool) {
	if uid == testIndex {
		f.exists = ok
	} else {
		f.others[uid] = ok
	}
}

func (f *fakeMeili) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if f.stallSearch.Load() && strings.HasSuffix(r.URL.Path, "/search") {
		f.stalls.Add(1)
		<-r.Context().Done() // the client gave up
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, recorded{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body})

	key := r.Method + " " + r.URL.Path
	for pattern, code := range f.status {
		if ok, _ := path.Match(pattern, key); ok {
			reply(w, code, map[string]string{"message": "the engine broke", "code": "internal", "type": "internal", "link": ""})
			return
		}
	}
	if key == "GET /indexes" {
		f.listIndexes(w, r)
		return
	}
	if key == "POST /indexes" {
		var create struct {
			UID        string `json:"uid"`
			PrimaryKey string `json:"primaryKey"`
		}
		if err := json.Unmarshal(body, &create); err != nil || create.UID == "" {
			f.t.Errorf("fake meilisearch: create index %s", body)
		}
		uid := f.enqueue(w, "indexCreation", create.UID)
		if f.has(create.UID) {
			f.failed[uid] = "index_already_exists"
		}
		f.setHas(create.UID, true)
		return
	}
	if key == "POST /swap-indexes" {
		var swaps []struct {
			Indexes []string `json:"indexes"`
			Rename  *bool    `json:"rename"`
		}
		if err := json.Unmarshal(body, &swaps); err != nil || len(swaps) == 0 {
			f.t.Errorf("fake meilisearch: swap indexes %s", body)
		}
		uid := f.enqueue(w, "indexSwap", "")
		for _, s := range swaps {
			if len(s.Indexes) != 2 || !f.has(s.Indexes[0]) || !f.has(s.Indexes[1]) {
				f.failed[uid] = "index_not_found"
			}
		}
		return
	}
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/tasks/") {
		f.poll(w, strings.TrimPrefix(r.URL.Path, "/tasks/"))
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/indexes/")
	if !ok {
		f.unexpected(w, key)
		return
	}
	uid, route, _ := strings.Cut(rest, "/")
	switch r.Method + " " + route {
	case "GET ":
		if !f.has(uid) {
			reply(w, http.StatusNotFound, map[string]string{
				"message": "Index `" + uid + "` not found.", "code": "index_not_found",
				"type": "invalid_request", "link": "https://docs.meilisearch.com/errors#index_not_found",
			})
			return
		}
		reply(w, http.StatusOK, map[string]string{"uid": uid, "primaryKey": "id"})
	case "DELETE ":
		task := f.enqueue(w, "indexDeletion", uid)
		if !f.has(uid) {
			f.failed[task] = "index_not_found"
		}
		f.setHas(uid, false)
	case "PATCH settings":
		f.enqueue(w, "settingsUpdate", uid)
	case "POST documents":
		var docs []map[string]any
		if err := json.Unmarshal(body, &docs); err != nil {
			f.t.Errorf("fake meilisearch: documents %s", body)
		}
		f.enqueue(w, "documentAdditionOrUpdate", uid)
	case "POST documents/delete":
		f.enqueue(w, "documentDeletion", uid)
	case "POST documents/fetch":
		if uid != testIndex {
			f.unexpected(w, key)
			return
		}
		var q struct {
			Offset, Limit int
			Fields        []string
		}
		if err := json.Unmarshal(body, &q); err != nil || q.Limit <= 0 {
			f.t.Errorf("fake meilisearch: document listing %s", body)
		}
		// Only the fields asked for, and only those a document has.
		var results []map[string]string
		for _, d := range f.stored[min(q.Offset, len(f.stored)):min(q.Offset+q.Limit, len(f.stored))] {
			doc := map[string]string{}
			if slices.Contains(q.Fields, "service_id") {
				doc["service_id"] = d.ServiceID
			}
			if slices.Contains(q.Fields, "fingerprint") && d.Fingerprint != "" {
				doc["fingerprint"] = d.Fingerprint
			}
			results = append(results, doc)
		}
		reply(w, http.StatusOK, map[string]any{"results": results, "offset": q.Offset, "limit": q.Limit, "total": len(f.stored)})
	case "POST search":
		hits := make([]map[string]string, len(f.hits))
		for i, id := range f.hits {
			hits[i] = map[string]string{"service_id": id}
		}
		reply(w, http.StatusOK, map[string]any{
			"hits": hits, "query": "", "processingTimeMs": 1,
			"hitsPerPage": 10, "page": 1, "totalPages": 1, "totalHits": f.totalHits,
		})
	default:
		f.unexpected(w, key)
	}
}

func (f *fakeMeili) unexpected(w http.ResponseWriter, key string) {
	f.t.Errorf("fake meilisearch: unexpected request %s", key)
	reply(w, http.StatusNotFound, map[string]string{"message": "no route", "code": "not_found"})
}

// listIndexes answers GET /indexes a page at a time.
func (f *fakeMeili) listIndexes(w http.ResponseWriter, r *http.Request) {
	all := []string{}
	if f.exists {
		all = append(all, testIndex)
	}
	for uid, ok := range f.others {
		if ok {
			all = append(all, uid)
		}
	}
	slices.Sort(all)
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit := 20
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil {
		limit = l
	}
	results := []map[string]string{}
	for _, uid := range all[min(offset, len(all)):min(offset+limit, len(all))] {
		results = append(results, map[string]string{
			"uid": uid, "primaryKey": "id", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
		})
	}
	reply(w, http.StatusOK, map[string]any{"results": results, "offset": offset, "limit": limit, "total": len(all)})
}

// enqueue answers 202 with a new task for index uid ("" for none, as for a swap).
func (f *fakeMeili) enqueue(w http.ResponseWriter, kind, uid string) int64 {
	f.nextUID++
	f.tasks[f.nextUID] = kind
	var index any
	if uid != "" {
		index = uid
	}
	reply(w, http.StatusAccepted, map[string]any{"taskUid": f.nextUID, "indexUid": index, "status": "enqueued", "type": kind, "enqueuedAt": "2026-01-01T00:00:00Z"})
	return f.nextUID
}

func (f *fakeMeili) poll(w http.ResponseWriter, id string) {
	uid, err := strconv.ParseInt(id, 10, 64)
	kind, ok := f.tasks[uid]
	if err != nil || !ok {
		f.t.Errorf("fake meilisearch: poll of unknown task %q", id)
		reply(w, http.StatusNotFound, map[string]string{"message": "Task `" + id + "` not found.", "code": "task_not_found"})
		return
	}
	n := f.polls[uid]
	f.polls[uid]++
	status := f.flow[min(n, len(f.flow)-1)]
	task := map[string]any{"uid": uid, "indexUid": testIndex, "status": status, "type": kind, "error": nil}
	if status == "succeeded" {
		code, failed := f.failed[uid]
		message := fmt.Sprintf("%s failed: %s", kind, code)
		if kind == f.failType {
			code, message, failed = f.failCode, f.failMessage, true
		}
		if failed {
			task["status"] = "failed"
			task["error"] = map[string]string{"message": message, "code": code, "type": "invalid_request", "link": ""}
		}
	}
	reply(w, http.StatusOK, task)
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		panic(fmt.Sprintf("encode reply: %v", err))
	}
}
