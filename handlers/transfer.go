package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"familyhelp/directory"
	"familyhelp/oruk"
	"familyhelp/views"
)

const (
	// bodyLimit is the largest request body of every route but the import: the longest
	// listing or referral form is far smaller.
	bodyLimit = 256 * 1024
	// importMaxBytes is the largest file an editor can import through the portal; a
	// thousand listings as a zip of CSV files take about 400 KB. Bigger feeds go through
	// `familyhelp import`.
	importMaxBytes = 2 << 20
	importPath     = "/staff/listings/import"
)

// limitBody refuses a body larger than bodyLimit on every route but the import, so raising
// the server's limit for editors' files gives no one else more room.
func limitBody(c *fiber.Ctx) error {
	if c.Request().Header.ContentLength() > bodyLimit && c.Path() != importPath {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// transferRoutes are the editors' import and export of Open Referral data; they come before
// /listings/:id, which would take "import" for an id.
func (s *Server) transferRoutes(l fiber.Router) {
	l.Get("/import", s.listingTransfer)
	l.Post("/import", s.listingImport)
	l.Get("/export", s.listingExport)
}

func (s *Server) transferPage(c *fiber.Ctx) views.ListingsTransfer {
	return views.ListingsTransfer{Base: s.staffBase(c, "Import and export listings", "listings"), MaxMB: importMaxBytes >> 20}
}

func (s *Server) listingTransfer(c *fiber.Ctx) error {
	return render(c, views.ListingsTransferPage(s.transferPage(c)))
}

// importTarget is the directory that listings are imported into and exported from: the
// Directory, whose Save keeps the search index and the API in step.
func (s *Server) importTarget() (oruk.ImportTarget, error) {
	t, ok := s.Directory.(oruk.ImportTarget)
	if !ok {
		return nil, errors.New("the directory cannot import or export listings")
	}
	return t, nil
}

func (s *Server) allListings(c *fiber.Ctx) ([]*directory.Service, error) {
	target, err := s.importTarget()
	if err != nil {
		return nil, err
	}
	var all []*directory.Service
	err = target.EachService(c.UserContext(), func(sv *directory.Service) error {
		all = append(all, sv)
		return nil
	})
	return all, err
}

func (s *Server) listingExport(c *fiber.Ctx) error {
	format := c.Query("format")
	if format != "oruk-json" && format != "csv" {
		return fiber.ErrNotFound
	}
	all, err := s.allListings(c)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	name := "familyhelp-listings-" + time.Now().UTC().Format(time.DateOnly)
	if format == "csv" {
		if err := oruk.WriteCSV(&body, all); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/zip")
		name += "-hsds-csv.zip"
	} else {
		enc := json.NewEncoder(&body)
		enc.SetIndent("", "  ")
		if err := enc.Encode(oruk.ExportJSON(all)); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		name += "-oruk.json"
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	s.audit(c, "listings exported", "listings", format+", "+views.CountText(len(all), "listing", "listings"))
	return c.Send(body.Bytes())
}

func (s *Server) listingImport(c *fiber.Ctx) error {
	p := s.transferPage(c)
	fail := func(status int, msg string) error {
		p.FileError, p.Base.HasErrors = msg, true
		p.Base.Errors = []views.FieldError{{Field: "file", Message: msg}}
		c.Status(status)
		return render(c, views.ListingsTransferPage(p))
	}
	if failed, _ := c.Locals(csrfFailedKey).(bool); failed {
		return fail(fiber.StatusForbidden, "The page timed out. Choose the file again and import it")
	}
	fh, err := c.FormFile("file")
	if err != nil || fh.Size == 0 {
		return fail(fiber.StatusUnprocessableEntity, "Choose a file to import")
	}
	if fh.Size > importMaxBytes {
		return fail(fiber.StatusRequestEntityTooLarge, "The file must be smaller than "+strconv.Itoa(importMaxBytes>>20)+" MB. Zip it to make it smaller")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, importMaxBytes+1))
	f.Close()
	if err != nil {
		return err
	}
	recs, err := oruk.ReadFile(data)
	if err != nil {
		msg := "The file could not be read: " + err.Error()
		if errors.Is(err, oruk.ErrNotServices) {
			msg = "The file holds no services: " + strings.TrimPrefix(err.Error(), oruk.ErrNotServices.Error()+": ")
		}
		return fail(fiber.StatusUnprocessableEntity, msg)
	}
	target, err := s.importTarget()
	if err != nil {
		return err
	}
	im := &oruk.Importer{Target: target}
	rep, err := im.Import(c.UserContext(), recs)
	if err != nil {
		return err
	}
	s.audit(c, "listings imported", "listings", rep.Summary())
	r := &views.ImportReport{FileName: cleanText(fh.Filename, 100), Created: rep.Created, Updated: rep.Updated,
		Unchanged: rep.Unchanged, Skipped: rep.Skipped}
	for _, rec := range rep.Records {
		line := views.ImportLine{Where: rec.Where, Name: rec.Name, Outcome: outcomeLabel(rec.Outcome),
			Problems: rec.Problems, Warnings: rec.Warnings}
		if rec.Outcome != oruk.Skipped {
			line.ListingID = rec.ServiceID
		}
		if rec.Outcome == oruk.Created || rec.Outcome == oruk.Updated {
			s.audit(c, "listing imported", listingTarget(rec.ServiceID), string(rec.Outcome)+" from an Open Referral file")
		}
		r.Records = append(r.Records, line)
	}
	p.Report = r
	return render(c, views.ListingsTransferPage(p))
}

func outcomeLabel(o oruk.Outcome) string {
	switch o {
	case oruk.Created:
		return "Added"
	case oruk.Updated:
		return "Updated"
	case oruk.Unchanged:
		return "Unchanged"
	}
	return "Skipped"
}
