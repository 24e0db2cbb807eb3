package bleveindex_test

import (
	"path/filepath"
	"testing"

	"familyhelp/search"
	"familyhelp/search/bleveindex"
	"familyhelp/search/searchtest"
)

func TestContractInMemory(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index {
		ix, err := bleveindex.Open("")
		if err != nil {
			t.Fatal(err)
		}
		return ix
	})
}

func TestContractOnDisk(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index {
		ix, err := bleveindex.Open(filepath.Join(t.TempDir(), "index.bleve"))
		if err != nil {
			t.Fatal(err)
		}
		return ix
	})
}
