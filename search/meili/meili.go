// Package meili is the Meilisearch engine behind search.Index, for deployments where several
// instances share one search server (MEILI_URL). Meilisearch applies every write as an
// asynchronous task, so each write here waits for its task and reports a failed one; every
// failure wraps search.ErrUnavailable so that callers fall back to the database.
package meili

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"familyhelp/search"
)

// Timeouts used only when the caller's context has none, so that a hung server cannot hold a
// request or a reindex for ever. A search sits on a family's page load and has a database to
// fall back to; a write may wait behind a long indexing task.
const (
	readTimeout  = 5 * time.Second
	writeTimeout = 2 * time.Minute
)

// batchSize keeps each document payload well under Meilisearch's 100 MB request limit when a
// whole directory is reindexed at once.
const batchSize = 1000

// Index is a Meilisearch index holding search.Documents.
type Index struct {
	client meilisearch.ServiceManager
	index  meilisearch.IndexManager
	name   string
}

var _ search.Index = (*Index)(nil)

// New connects to the Meilisearch server at url, creates the index if it is missing (primary
// key "id") and applies the settings the search depends on, waiting until they are in force.
func New(ctx context.Context, url, apiKey, indexName string) (*Index, error) {
	if url == "" || indexName == "" {
		return nil, errors.New("meili: a server URL and an index name are required")
	}
	ctx, cancel := withDefaultTimeout(ctx, writeTimeout)
	defer cancel()

	ix := connect(url, apiKey, indexName)
	if err := ix.ensureIndex(ctx); err != nil {
		return nil, unavailable(ctx, "open index "+indexName, err)
	}
	task, err := ix.index.UpdateSettingsWithContext(ctx, settings())
	if err == nil {
		err = ix.wait(ctx, task)
	}
	if err != nil {
		return nil, unavailable(ctx, "apply settings to "+indexName, err)
	}
	return ix, nil
}

func connect(url, apiKey, indexName string) *Index {
	// Retries are left to the caller: the SDK's own (1 s, 2 s, 3 s on 502–504) would hold a
	// family's search for seconds when the database could answer at once, and writes are
	// retried by the outbox anyway.
	client := meilisearch.New(url, meilisearch.WithAPIKey(apiKey), meilisearch.DisableRetries())
	return &Index{client: client, index: client.Index(indexName), name: indexName}
}

// ensureIndex creates the index unless it exists. Another instance starting at the same time
// may create it first; that is success, not an error.
func (ix *Index) ensureIndex(ctx context.Context) error {
	_, err := ix.index.FetchInfoWithContext(ctx)
	if err == nil {
		return nil
	}
	var merr *meilisearch.Error
	if !errors.As(err, &merr) || merr.StatusCode != http.StatusNotFound {
		return err
	}
	task, err := ix.client.CreateIndexWithContext(ctx, &meilisearch.IndexConfig{Uid: ix.name, PrimaryKey: "id"})
	if err != nil {
		return err
	}
	err = ix.wait(ctx, task)
	var terr *taskError
	if errors.As(err, &terr) && terr.code == "index_already_exists" {
		return nil
	}
	return err
}

// document is what Meilisearch stores. Meilisearch gives a document one _geo, so a service
// delivered in several places is one document per place, all with its service_id: the index's
// distinct attribute keeps only the best of them in each search, which with a geo sort is the
// nearest. Lists are never null, and _geo is left out for services with no place, because
// Meilisearch rejects a _geo without coordinates and a geo sort puts documents without one
// after all those with one, which is where remote services belong.
type document struct {
	ID           string        `json:"id"`
	ServiceID    string        `json:"service_id"`
	Name         string        `json:"name"`
	Summary      string        `json:"summary"`
	Description  string        `json:"description"`
	Organisation string        `json:"organisation"`
	Terms        string        `json:"terms"`
	Needs        []string      `json:"needs"`
	Categories   []string      `json:"categories"`
	MinAge       int           `json:"min_age"`
	MaxAge       int           `json:"max_age"`
	Free         bool          `json:"free"`
	Delivery     []string      `json:"delivery"`
	Remote       bool          `json:"remote"`
	Towns        string        `json:"towns"`
	Geo          *search.Point `json:"_geo,omitempty"`
	// Fingerprint is search.Fingerprint of the service's document, for Fingerprints.
	Fingerprint string `json:"fingerprint"`
}

// toDocuments gives the documents for one service: the first (or only) has the service's own
// id, so that a service that moves from several places to one leaves a single document.
func toDocuments(d search.Document) []document {
	one := toDocument(d)
	if len(d.Locations) == 0 {
		return []document{one}
	}
	out := make([]document, len(d.Locations))
	for k := range d.Locations {
		out[k] = one
		out[k].ID = placeID(d.ID, k)
		out[k].Geo = &d.Locations[k]
	}
	return out
}

// placeID is the document id of a service's k-th place.
func placeID(serviceID string, k int) string {
	if k == 0 {
		return serviceID
	}
	return serviceID + "__place" + strconv.Itoa(k)
}

func toDocument(d search.Document) document {
	list := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return document{
		ID:           d.ID,
		ServiceID:    d.ID,
		Name:         d.Name,
		Summary:      d.Summary,
		Description:  d.Description,
		Organisation: d.Organisation,
		Terms:        d.Terms,
		Needs:        list(d.Needs),
		Categories:   list(d.Categories),
		MinAge:       d.MinAge,
		MaxAge:       d.MaxAge,
		Free:         d.Free,
		Delivery:     list(d.Delivery),
		Remote:       d.Remote,
		Towns:        d.Towns,
		Fingerprint:  search.Fingerprint(d),
	}
}

// Upsert adds or replaces services and returns once Meilisearch has applied them. The
// documents of places a service no longer has are removed after its new ones are in, so a
// search in between still finds it.
func (ix *Index) Upsert(ctx context.Context, docs ...search.Document) error {
	if len(docs) == 0 {
		return nil
	}
	ctx, cancel := withDefaultTimeout(ctx, writeTimeout)
	defer cancel()

	// Enqueue every batch before waiting, so Meilisearch can index them together.
	var tasks []*meilisearch.TaskInfo
	for start := 0; start < len(docs); start += batchSize {
		batch := docs[start:min(start+batchSize, len(docs))]
		var out []document
		services := make([]string, len(batch))
		var kept []string
		for k, d := range batch {
			services[k] = d.ID
			for _, doc := range toDocuments(d) {
				out = append(out, doc)
				kept = append(kept, doc.ID)
			}
		}
		task, err := ix.index.AddDocumentsWithContext(ctx, out, nil)
		if err != nil {
			return unavailable(ctx, fmt.Sprintf("upsert %d documents", len(docs)), err)
		}
		tasks = append(tasks, task)
		// Tasks run in the order they were sent: this one after the additions above.
		task, err = ix.index.DeleteDocumentsByFilterWithContext(ctx,
			"service_id IN "+quoteList(services)+" AND id NOT IN "+quoteList(kept), nil)
		if err != nil {
			return unavailable(ctx, fmt.Sprintf("upsert %d documents", len(docs)), err)
		}
		tasks = append(tasks, task)
	}
	for _, task := range tasks {
		if err := ix.wait(ctx, task); err != nil {
			return unavailable(ctx, fmt.Sprintf("upsert %d documents", len(docs)), err)
		}
	}
	return nil
}

// Delete removes services, with every one of their places; Meilisearch ignores ids it does
// not hold.
func (ix *Index) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := withDefaultTimeout(ctx, writeTimeout)
	defer cancel()
	var tasks []*meilisearch.TaskInfo
	for chunk := range slices.Chunk(ids, batchSize) {
		task, err := ix.index.DeleteDocumentsByFilterWithContext(ctx, "service_id IN "+quoteList(chunk), nil)
		if err != nil {
			return unavailable(ctx, fmt.Sprintf("delete %d services", len(ids)), err)
		}
		tasks = append(tasks, task)
	}
	for _, task := range tasks {
		if err := ix.wait(ctx, task); err != nil {
			return unavailable(ctx, fmt.Sprintf("delete %d services", len(ids)), err)
		}
	}
	return nil
}

// Fingerprints lists the services the index holds with the fingerprint of each, reading the
// documents a page at a time. A document written before fingerprints were kept has "", which
// no service's fingerprint is, so a reconcile writes it again.
func (ix *Index) Fingerprints(ctx context.Context) (map[string]string, error) {
	ctx, cancel := withDefaultTimeout(ctx, writeTimeout)
	defer cancel()
	prints := map[string]string{}
	for offset := int64(0); ; offset += idsPage {
		var page meilisearch.DocumentsResult
		err := ix.index.GetDocumentsWithContext(ctx, &meilisearch.DocumentsQuery{
			Offset: offset, Limit: idsPage, Fields: []string{"service_id", "fingerprint"},
		}, &page)
		if err != nil {
			return nil, unavailable(ctx, "list services", err)
		}
		for k, hit := range page.Results {
			var id, fp string
			if err := json.Unmarshal(hit["service_id"], &id); err != nil || id == "" {
				return nil, unavailable(ctx, "list services", fmt.Errorf("document %d has no service_id", offset+int64(k)))
			}
			if raw, ok := hit["fingerprint"]; ok {
				if err := json.Unmarshal(raw, &fp); err != nil {
					return nil, unavailable(ctx, "list services", fmt.Errorf("document %d: fingerprint: %w", offset+int64(k), err))
				}
			}
			// Every place of a service carries the same fingerprint; one that differs means
			// the places are not all of one version, so the service is written again.
			if have, seen := prints[id]; seen && have != fp {
				fp = ""
			}
			prints[id] = fp
		}
		if len(page.Results) < idsPage {
			return prints, nil
		}
	}
}

// idsPage is how many documents one request of IDs reads.
const idsPage = 5000

// Count is the number of services in the index: an empty search counted exhaustively, because
// the number of documents counts a service once for each of its places.
func (ix *Index) Count(ctx context.Context) (int, error) {
	ctx, cancel := withDefaultTimeout(ctx, readTimeout)
	defer cancel()
	resp, err := ix.index.SearchWithContext(ctx, "", &meilisearch.SearchRequest{
		AttributesToRetrieve: []string{"service_id"},
		Page:                 1,
		HitsPerPage:          new(int64(0)),
	})
	if err != nil {
		return 0, unavailable(ctx, "count", err)
	}
	return int(resp.TotalHits), nil
}

// Search answers a query with one page of IDs, best (or nearest) first.
func (ix *Index) Search(ctx context.Context, q search.Query) (search.Result, error) {
	ctx, cancel := withDefaultTimeout(ctx, readTimeout)
	defer cancel()
	req, skip := searchRequest(q)
	resp, err := ix.index.SearchWithContext(ctx, req.Query, req)
	if err != nil {
		return search.Result{}, unavailable(ctx, "search", err)
	}
	res := search.Result{Total: int(resp.TotalHits), IDs: make([]string, 0, len(resp.Hits))}
	for i, hit := range resp.Hits {
		if i < skip {
			continue
		}
		if len(res.IDs) == limitOf(q) {
			break
		}
		var id string
		if err := json.Unmarshal(hit["service_id"], &id); err != nil {
			return search.Result{}, unavailable(ctx, "search", fmt.Errorf("hit %d has no service_id: %w", i, err))
		}
		res.IDs = append(res.IDs, id)
	}
	return res, nil
}

// Close releases idle connections; the server keeps the index.
func (ix *Index) Close() error {
	ix.client.Close()
	return nil
}

// Task polling starts quick, because most tasks for a handful of documents finish in a few
// milliseconds, and slows down so that a long reindex does not flood the server.
const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 250 * time.Millisecond
)

// taskError is a task that Meilisearch accepted and then did not carry out.
type taskError struct {
	uid     int64
	kind    string
	status  string
	code    string
	message string
}

func (e *taskError) Error() string {
	if e.status == string(meilisearch.TaskStatusFailed) {
		return fmt.Sprintf("task %d (%s) failed: %s [%s]", e.uid, e.kind, e.message, e.code)
	}
	return fmt.Sprintf("task %d (%s) ended %s", e.uid, e.kind, e.status)
}

// wait polls a task until it finishes and turns anything but success into an error.
func (ix *Index) wait(ctx context.Context, info *meilisearch.TaskInfo) error {
	if info == nil {
		return errors.New("no task returned")
	}
	delay := firstPoll
	for {
		task, err := ix.client.GetTaskWithContext(ctx, info.TaskUID)
		if err != nil {
			return fmt.Errorf("task %d: %w", info.TaskUID, err)
		}
		switch task.Status {
		case meilisearch.TaskStatusSucceeded:
			return nil
		case meilisearch.TaskStatusEnqueued, meilisearch.TaskStatusProcessing:
		default:
			return &taskError{
				uid: info.TaskUID, kind: string(task.Type), status: string(task.Status),
				code: task.Error.Code, message: task.Error.Message,
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("task %d still %s: %w", info.TaskUID, task.Status, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, maxPoll)
	}
}

// unavailable wraps an engine failure so that callers can tell it from their own mistakes and
// fall back to the database. The SDK's errors do not unwrap, so a cancelled or expired context
// is wrapped as well, for callers that check for it.
func unavailable(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("meili %s: %w: %w (%w)", op, search.ErrUnavailable, err, cerr)
	}
	return fmt.Errorf("meili %s: %w: %w", op, search.ErrUnavailable, err)
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
