package directory

import (
	"math"
	"strconv"

	"familyhelp/search"
)

// MetresPerMile converts between the units people read and the ones engines take.
const MetresPerMile = 1609.344

// MilesText says a distance the way a person would read it: "0.4 miles away", "1 mile away".
func MilesText(metres float64) string {
	miles := metres / MetresPerMile
	switch {
	case miles < 0.1:
		return "Less than 0.1 miles away"
	case miles < 9.95:
		if s := strconv.FormatFloat(miles, 'f', 1, 64); s != "1.0" {
			return s + " miles away"
		}
		return "1 mile away"
	}
	return strconv.FormatFloat(miles, 'f', 0, 64) + " miles away"
}

// Nearest returns the service's location nearest to p, and how far it is in metres.
func (s *Service) Nearest(p search.Point) (*Location, float64) {
	var best *Location
	bestD := math.Inf(1)
	for i := range s.Locations {
		l := &s.Locations[i]
		if d := search.Distance(p, search.Point{Lat: l.Latitude, Lng: l.Longitude}); d < bestD {
			best, bestD = l, d
		}
	}
	return best, bestD
}
