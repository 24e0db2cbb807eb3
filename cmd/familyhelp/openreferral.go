package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"familyhelp/directory"
	"familyhelp/oruk"
)

// maxFeedBytes bounds one file or one answer read by import.
const maxFeedBytes = 64 << 20

// importCommand imports Open Referral services from a file, a folder of CSV files or an
// API address, and prints what it did record by record.
func importCommand(ctx context.Context, cfg config, log *slog.Logger, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(out)
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() != 1 {
		return usageError("usage: familyhelp import FILE|FOLDER|URL")
	}
	source := fs.Arg(0)
	recs, err := readFeed(ctx, source)
	if err != nil {
		return fmt.Errorf("import %s: %w", source, err)
	}
	a, err := open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer a.close()
	im := &oruk.Importer{Target: a.dir}
	rep, err := im.Import(ctx, recs)
	if rep != nil {
		printReport(out, rep)
	}
	if err != nil {
		return err
	}
	if rep.Skipped > 0 {
		return fmt.Errorf("%d of %d records were skipped; the others were imported", rep.Skipped, len(rep.Records))
	}
	return nil
}

func printReport(out io.Writer, rep *oruk.Report) {
	for _, r := range rep.Records {
		name := r.Name
		if name == "" {
			name = "(no name)"
		}
		fmt.Fprintf(out, "%-9s %s: %s", r.Outcome, r.Where, name)
		if r.ID != "" {
			fmt.Fprintf(out, " [%s]", r.ID)
		}
		fmt.Fprintln(out)
		for _, p := range r.Problems {
			fmt.Fprintln(out, "          problem:", p)
		}
		for _, w := range r.Warnings {
			fmt.Fprintln(out, "          left out:", w)
		}
	}
	fmt.Fprintf(out, "%s.\n", capitalFirst(rep.Summary()))
}

func capitalFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// readFeed reads the records at source: an http(s) address, a folder of CSV files (or one of
// its CSV files), a zip, a JSON file, or - for standard input.
func readFeed(ctx context.Context, source string) ([]oruk.Record, error) {
	if strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://") {
		return oruk.ReadURL(ctx, source, fetchHTTP)
	}
	if source == "-" {
		data, err := io.ReadAll(io.LimitReader(os.Stdin, maxFeedBytes+1))
		if err != nil {
			return nil, err
		}
		if len(data) > maxFeedBytes {
			return nil, fmt.Errorf("standard input is larger than %d MB", maxFeedBytes>>20)
		}
		return oruk.ReadFile(data)
	}
	info, err := os.Stat(source)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return oruk.ReadCSV(os.DirFS(source))
	}
	if strings.EqualFold(filepath.Ext(source), ".csv") {
		// One table of a package: the package is the folder it is in.
		return oruk.ReadCSV(os.DirFS(filepath.Dir(source)))
	}
	if info.Size() > maxFeedBytes {
		return nil, fmt.Errorf("the file is larger than %d MB", maxFeedBytes>>20)
	}
	data, err := os.ReadFile(source)
	if err != nil {
		return nil, err
	}
	return oruk.ReadFile(data)
}

var feedClient = &http.Client{Timeout: time.Minute}

// fetchHTTP gets one answer of another system's API.
func fetchHTTP(ctx context.Context, address string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, address, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "familyhelp-import")
	resp, err := feedClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", address, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", address, err)
	}
	if len(data) > maxFeedBytes {
		return nil, fmt.Errorf("GET %s: the answer is larger than %d MB", address, maxFeedBytes>>20)
	}
	return data, nil
}

// exportCommand writes every listing, of any status, as ORUK JSON or a zipped HSDS CSV
// package.
func exportCommand(ctx context.Context, cfg config, log *slog.Logger, out io.Writer, args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(out)
	format := fs.String("format", "oruk-json", "`oruk-json` or csv (a zip of HSDS CSV files)")
	path := fs.String("out", "", "write to `FILE` instead of standard output")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *format != "oruk-json" && *format != "csv" {
		return usageError("--format must be oruk-json or csv")
	}
	a, err := open(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer a.close()
	var all []*directory.Service
	if err := a.db.EachService(ctx, func(s *directory.Service) error {
		all = append(all, s)
		return nil
	}); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	w, done := out, func() error { return nil }
	if *path != "" {
		f, err := os.OpenFile(*path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		w, done = f, f.Close
	}
	err = writeExport(w, *format, all)
	if cerr := done(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if *path != "" {
		fmt.Fprintf(out, "exported %d services to %s\n", len(all), *path)
	}
	return nil
}

func writeExport(w io.Writer, format string, all []*directory.Service) error {
	if format == "csv" {
		return oruk.WriteCSV(w, all)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(oruk.ExportJSON(all))
}
