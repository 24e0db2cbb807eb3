package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

// Metrics is told of every request, for monitoring. It is an interface so that this package
// does not depend on a metrics library; cmd/familyhelp wires Prometheus. Implementations must
// be safe for concurrent use and quick: they run on every request.
type Metrics interface {
	// ObserveRequest records one request. route is the route pattern ("/services/:id") or
	// "(unmatched)", never the path as typed; method is a standard method or "OTHER"; status is
	// the response status sent.
	ObserveRequest(route, method string, status int, took time.Duration)
}

// metricMethod bounds the methods a metric can be labelled with: the method is whatever the
// client sent, and every new label value is a new time series.
func metricMethod(m string) string {
	switch m {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodOptions:
		return m
	}
	return "OTHER"
}
