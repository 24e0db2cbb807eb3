package meili

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"familyhelp/search"
	"familyhelp/search/searchtest"
)

var contractIndexes atomic.Int64

// TestContract runs the contract every engine keeps against a real Meilisearch, when there is
// one: MEILI_URL (and MEILI_API_KEY if the server has a master key).
func TestContract(t *testing.T) {
	url := os.Getenv("MEILI_URL")
	if url == "" {
		t.Skip("MEILI_URL not set")
	}
	key := os.Getenv("MEILI_API_KEY")
	searchtest.Run(t, func(t *testing.T) search.Index {
		// Unique per call, so that runs sharing a server (or an earlier run that died before
		// cleaning up) cannot see each other's documents.
		name := fmt.Sprintf("familyhelp_test_%d_%d", time.Now().UnixNano(), contractIndexes.Add(1))
		ix, err := New(context.Background(), url, key, name)
		if err != nil {
			t.Fatalf("open Meilisearch index %s: %v", name, err)
		}
		t.Cleanup(func() { dropIndex(t, url, key, name) })
		return ix
	})
}

// dropIndex deletes a test index with a client of its own, because the contract closes the
// Index it was given before its cleanups run.
func dropIndex(t *testing.T, url, key, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := meilisearch.New(url, meilisearch.WithAPIKey(key))
	defer client.Close()
	task, err := client.DeleteIndexWithContext(ctx, name)
	if err == nil {
		_, err = client.WaitForTaskWithContext(ctx, task.TaskUID, 50*time.Millisecond)
	}
	if err != nil {
		t.Errorf("delete test index %s: %v", name, err)
	}
}
