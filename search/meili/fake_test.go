package meili

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const testIndex = "services"

// fakeMeili plays a Meilisearch server: it records every request, runs each task through a
// scripted list of statuses (one per poll) and answers searches with scripted hits.
type fakeMeili struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
	exists   bool // the index exists
	// flow is the status each task reports on successive polls; the last one repeats.
	flow []string
	// Tasks of type failType end "failed" with this code and message.
	failType, failCode, failMessage string
	// status forces an HTTP status for "METHOD /path".
	status  map[string]int
	nextUID int64
	tasks   map[int64]string // uid → type
	polls   map[int64]int
	// Search answers.
	hits      []string
	totalHits int
	// serviceIDs are the service_id of each stored document, for document listings.
	serviceIDs []string
}

type recorded struct {
	method, path, auth string
	body               []byte
}

func newFake(t *testing.T) *fakeMeili {
	t.Helper()
	f := &fakeMeili{
		t:      t,
		flow:   []string{"enqueued", "processing", "succeeded"},
		status: map[string]int{},
		tasks:  map[int64]string{},
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

func (f *fakeMeili) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, recorded{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body})

	key := r.Method + " " + r.URL.Path
	if code, ok := f.status[key]; ok {
		reply(w, code, map[string]string{"message": "the engine broke", "code": "internal", "type": "internal", "link": ""})
		return
	}
	base := "/indexes/" + testIndex
	switch {
	case key == "GET "+base:
		if !f.exists {
			reply(w, http.StatusNotFound, map[string]string{
				"message": "Index `" + testIndex + "` not found.", "code": "index_not_found",
				"type": "invalid_request", "link": "https://docs.meilisearch.com/errors#index_not_found",
			})
			return
		}
		reply(w, http.StatusOK, map[string]string{"uid": testIndex, "primaryKey": "id"})
	case key == "POST /indexes":
		f.exists = true
		f.enqueue(w, "indexCreation")
	case key == "PATCH "+base+"/settings":
		f.enqueue(w, "settingsUpdate")
	case key == "POST "+base+"/documents":
		f.enqueue(w, "documentAdditionOrUpdate")
	case key == "POST "+base+"/documents/delete":
		f.enqueue(w, "documentDeletion")
	case key == "POST "+base+"/documents/fetch":
		var q struct {
			Offset, Limit int
			Fields        []string
		}
		if err := json.Unmarshal(body, &q); err != nil || q.Limit <= 0 {
			f.t.Errorf("fake meilisearch: document listing %s", body)
		}
		var results []map[string]string
		for _, id := range f.serviceIDs[min(q.Offset, len(f.serviceIDs)):min(q.Offset+q.Limit, len(f.serviceIDs))] {
			results = append(results, map[string]string{"service_id": id})
		}
		reply(w, http.StatusOK, map[string]any{"results": results, "offset": q.Offset, "limit": q.Limit, "total": len(f.serviceIDs)})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/tasks/"):
		f.poll(w, strings.TrimPrefix(r.URL.Path, "/tasks/"))
	case key == "POST "+base+"/search":
		hits := make([]map[string]string, len(f.hits))
		for i, id := range f.hits {
			hits[i] = map[string]string{"service_id": id}
		}
		reply(w, http.StatusOK, map[string]any{
			"hits": hits, "query": "", "processingTimeMs": 1,
			"hitsPerPage": 10, "page": 1, "totalPages": 1, "totalHits": f.totalHits,
		})
	default:
		f.t.Errorf("fake meilisearch: unexpected request %s", key)
		reply(w, http.StatusNotFound, map[string]string{"message": "no route", "code": "not_found"})
	}
}

func (f *fakeMeili) enqueue(w http.ResponseWriter, kind string) {
	f.nextUID++
	f.tasks[f.nextUID] = kind
	reply(w, http.StatusAccepted, map[string]any{"taskUid": f.nextUID, "indexUid": testIndex, "status": "enqueued", "type": kind})
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
	if status == "succeeded" && kind == f.failType {
		task["status"] = "failed"
		task["error"] = map[string]string{"message": f.failMessage, "code": f.failCode, "type": "invalid_request", "link": ""}
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
