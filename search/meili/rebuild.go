package meili

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"familyhelp/search"
)

var _ search.Rebuilder = (*Index)(nil)

// buildMark names the indexes a rebuild fills: <index>_build_<unix nanoseconds>.
const buildMark = "_build_"

// staleBuild is how old a build index must be before a rebuild takes it for one left by a
// rebuild that died half-way, and deletes it: far longer than any rebuild runs, so that two
// rebuilds started close together never delete each other's.
const staleBuild = 6 * time.Hour

// rebuildTimeout bounds a whole rebuild when the caller's context has no deadline; each write
// within it is waited for in turn.
const rebuildTimeout = 30 * time.Minute

// Rebuild fills a new index and swaps it in for the live one. The new index gets the same
// settings before any documents, so that Meilisearch indexes them once; each batch of
// documents is waited for, so a failure is seen at once; then the two indexes swap names in one
// task, which Meilisearch applies atomically: every instance's searches go from the old
// documents to the new ones with no moment of an empty index. The old index, which now has the
// temporary name, is deleted. On any failure before the swap the temporary index is deleted
// and the live one is untouched.
func (ix *Index) Rebuild(ctx context.Context, fill func(add func(docs ...search.Document) error) error) (err error) {
	ctx, cancel := withDefaultTimeout(ctx, rebuildTimeout)
	defer cancel()
	ix.dropStaleBuilds(ctx)

	temp := ix.name + buildMark + strconv.FormatInt(time.Now().UnixNano(), 10)
	created := false
	defer func() {
		if err == nil || !created {
			return
		}
		// With time of its own: the caller's context may be what ended the rebuild.
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer dcancel()
		if derr := ix.deleteIndex(dctx, temp); derr != nil {
			err = errors.Join(err, unavailable(dctx, "delete the unfinished index "+temp, derr))
		}
	}()

	task, err := ix.client.CreateIndexWithContext(ctx, &meilisearch.IndexConfig{Uid: temp, PrimaryKey: "id"})
	if err != nil {
		return unavailable(ctx, "create index "+temp, err)
	}
	// Even if the creation task fails, an index of that name may exist by the time it is
	// deleted; deleting one that does not is not an error.
	created = true
	if err := ix.wait(ctx, task); err != nil {
		return unavailable(ctx, "create index "+temp, err)
	}
	build := ix.client.Index(temp)
	task, err = build.UpdateSettingsWithContext(ctx, settings())
	if err == nil {
		err = ix.wait(ctx, task)
	}
	if err != nil {
		return unavailable(ctx, "apply settings to "+temp, err)
	}

	err = fill(func(docs ...search.Document) error {
		for chunk := range slices.Chunk(docs, batchSize) {
			var out []document
			for _, d := range chunk {
				out = append(out, toDocuments(d)...)
			}
			task, err := build.AddDocumentsWithContext(ctx, out, nil)
			if err == nil {
				err = ix.wait(ctx, task)
			}
			if err != nil {
				return unavailable(ctx, fmt.Sprintf("add %d documents to %s", len(out), temp), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("meili rebuild: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("meili rebuild: %w", err)
	}

	task, err = ix.client.SwapIndexesWithContext(ctx, []*meilisearch.SwapIndexesParams{{Indexes: []string{ix.name, temp}}})
	if err == nil {
		err = ix.wait(ctx, task)
	}
	if err != nil {
		return unavailable(ctx, "swap "+temp+" in for "+ix.name, err)
	}
	// The swap is made: the rebuild has succeeded whatever happens now. The old documents
	// are under the temporary name; if they cannot be deleted now, a later rebuild deletes
	// them once they are old enough.
	if err := ix.deleteIndex(ctx, temp); err != nil {
		slog.Warn("meili: rebuilt the index, but could not delete the old one; a later rebuild will",
			"index", temp, "err", unavailable(ctx, "delete "+temp, err))
	}
	return nil
}

// deleteIndex deletes an index and waits until it is gone. Meilisearch fails the task of an
// index that does not exist; that is what was wanted, so it is success.
func (ix *Index) deleteIndex(ctx context.Context, uid string) error {
	task, err := ix.client.DeleteIndexWithContext(ctx, uid)
	if err != nil {
		return err
	}
	err = ix.wait(ctx, task)
	var terr *taskError
	if errors.As(err, &terr) && terr.code == "index_not_found" {
		return nil
	}
	return err
}

// dropStaleBuilds deletes build indexes that a rebuild which died half-way (or could not
// delete the old index after its swap) left on the server, once they are older than
// staleBuild. It is tidying, not part of the rebuild: a failure here is left for the next.
func (ix *Index) dropStaleBuilds(ctx context.Context) {
	const page = 100
	var stale []string
	for offset := int64(0); ; offset += page {
		list, err := ix.client.ListIndexesWithContext(ctx, &meilisearch.IndexesQuery{Offset: offset, Limit: page})
		if err != nil {
			return
		}
		for _, r := range list.Results {
			stamp, ok := strings.CutPrefix(r.UID, ix.name+buildMark)
			if !ok {
				continue
			}
			nanos, err := strconv.ParseInt(stamp, 10, 64)
			if err == nil && time.Since(time.Unix(0, nanos)) > staleBuild {
				stale = append(stale, r.UID)
			}
		}
		if len(list.Results) < page {
			break
		}
	}
	for _, uid := range stale {
		if err := ix.deleteIndex(ctx, uid); err != nil {
			return
		}
	}
}
