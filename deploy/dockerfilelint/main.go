// Command dockerfilelint runs BuildKit's Dockerfile checks, the ones `docker build --check`
// runs, without a Docker engine: scripts/check-compose uses it on the project's Dockerfile.
//
// It lives in a module of its own so that BuildKit never becomes a dependency of the app.
// Base images are not fetched (this may run offline): each is taken to be a Linux image with
// the usual PATH, which is all the checks need to know of it.
//
//	go run . ../../Dockerfile
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfilelint DOCKERFILE")
		os.Exit(2)
	}
	path := os.Args[1]
	dt, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockerfilelint:", err)
		os.Exit(2)
	}
	n, err := lint(path, dt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dockerfilelint:", err)
		os.Exit(1)
	}
	if n > 0 {
		fmt.Fprintf(os.Stderr, "dockerfilelint: %s: %d problem(s)\n", path, n)
		os.Exit(1)
	}
	fmt.Printf("dockerfilelint: %s: no problems\n", path)
}

// lint prints each problem BuildKit finds in dt and returns how many there were.
func lint(path string, dt []byte) (int, error) {
	ctx := context.Background()
	// The source map names the file in the report; BuildKit wants it tied to a definition.
	src := llb.Scratch()
	def, err := src.Marshal(ctx)
	if err != nil {
		return 0, err
	}
	smap := llb.NewSourceMap(&src, path, "Dockerfile", dt)
	smap.Definition = def
	results, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{
		Config:       dockerui.Config{},
		SourceMap:    smap,
		MetaResolver: offlineImages{},
	})
	if err != nil {
		return 0, err
	}
	if err := results.PrintTo(os.Stdout, nil); err != nil {
		return 0, err
	}
	n := len(results.Warnings)
	if results.Error != nil {
		results.PrintErrorTo(os.Stdout, nil)
		n++
	}
	return n, nil
}

// offlineImages answers BuildKit's questions about base images without a registry.
type offlineImages struct{}

func (offlineImages) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	platform := map[string]string{"os": "linux", "architecture": "amd64"}
	if opt.Platform != nil {
		platform = map[string]string{"os": opt.Platform.OS, "architecture": opt.Platform.Architecture}
	}
	cfg, err := json.Marshal(map[string]any{
		"os":           platform["os"],
		"architecture": platform["architecture"],
		"config":       map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		// One layer, so the image is not taken for scratch.
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest.FromString(ref).String()}},
	})
	return ref, "", cfg, err
}
