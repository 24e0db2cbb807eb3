// Package static holds the compiled stylesheet, script and images (built from static/src by
// `npm run build` and committed, so running the site needs no npm). Files are embedded and
// served under content-hashed names, so browsers can cache them for a year.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
)

//go:embed assets
var assets embed.FS

// File is one asset, ready to serve.
type File struct {
	Name        string // hashed name, as in the URL after /static/
	ContentType string
	Body        []byte
	Gzip        []byte // nil when compressing does not help
}

var (
	byURL  = map[string]*File{}  // hashed name → file
	byName = map[string]string{} // plain name → hashed name
)

func init() {
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		if path.Dir(name) == "src" || strings.HasSuffix(name, ".md") {
			return nil
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:])[:10] + ext
		f := &File{Name: hashed, ContentType: mime.TypeByExtension(ext), Body: body}
		if f.ContentType == "" {
			f.ContentType = "application/octet-stream"
		}
		if compressible(ext) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body) {
				f.Gzip = buf.Bytes()
			}
		}
		byURL[hashed] = f
		byName[name] = hashed
		return nil
	})
	if err != nil {
		panic("static: " + err.Error())
	}
}

func compressible(ext string) bool {
	switch ext {
	case ".css", ".js", ".svg", ".json", ".txt":
		return true
	}
	return false
}

// Path is the URL of an asset by its plain name ("app.css" → "/static/app.1a2b3c4d5e.css").
// An unknown name gives a URL that does not exist, so a broken link shows up in tests.
func Path(name string) string {
	if h, ok := byName[name]; ok {
		return "/static/" + h
	}
	return "/static/missing/" + name
}

// Lookup finds an asset by the name in its URL; only hashed names are served.
func Lookup(hashed string) (*File, bool) {
	f, ok := byURL[hashed]
	return f, ok
}
