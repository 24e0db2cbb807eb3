package handlers

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// crossOrigin holds net/http's rules for telling a request from another site: the browser's
// Sec-Fetch-Site header, or, from a browser too old to send it, Origin against Host.
var crossOrigin = http.NewCrossOriginProtection()

// refuseCrossOrigin turns away, with 403 and before any handler runs, every request that could
// change something (anything but GET, HEAD and OPTIONS) that a browser says came from another
// site, including a sibling subdomain. The CSRF token already stops a forged form; this also
// stops one that carries a real token, over plain HTTP too (the CSRF middleware checks the
// Referer only over HTTPS), and it covers any form route added later without a token. A
// request with neither header (another program, not a browser) goes on to the token check.
func refuseCrossOrigin(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	req := &http.Request{Method: c.Method(), Host: c.Hostname(), Header: http.Header{}}
	for _, name := range []string{"Sec-Fetch-Site", fiber.HeaderOrigin} {
		if v := c.Get(name); v != "" {
			req.Header.Set(name, v)
		}
	}
	if crossOrigin.Check(req) != nil {
		return fiber.ErrForbidden
	}
	return c.Next()
}
