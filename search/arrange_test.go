package search

import (
	"slices"
	"testing"
)

// Arrange's flat-earth cut-off must agree with the great circle near the edge of the radius.
func TestArrangeRadiusAgreesWithGreatCircle(t *testing.T) {
	from := Point{Lat: 52.5862, Lng: -2.1286}
	var cands []*Candidate
	for _, to := range []Point{{52.5661, -2.0730}, {52.5862, -1.9822}, {52.4797, -1.8961}, {52.70, -2.30}, {52.5863, -2.1287}, {52.73, -2.13}} {
		cands = append(cands, &Candidate{ID: to.String(), Located: true, At: to})
	}
	for _, radius := range []float64{500, 4000, 10000, 16000, 20000} {
		res := Arrange(Query{Near: &from, RadiusMetres: radius, Limit: 100}, slices.Values(cands))
		for _, c := range cands {
			d := Distance(from, c.At)
			in := slices.Contains(res.IDs, c.ID)
			if (d < radius*0.995 && !in) || (d > radius*1.005 && in) {
				t.Errorf("radius %.0f: %s at %.0f m included = %v", radius, c.ID, d, in)
			}
		}
		for k := 1; k < len(res.IDs); k++ {
			if distOf(cands, res.IDs[k-1], from) > distOf(cands, res.IDs[k], from) {
				t.Errorf("radius %.0f: %v not nearest first", radius, res.IDs)
			}
		}
	}
}

func distOf(cands []*Candidate, id string, from Point) float64 {
	for _, c := range cands {
		if c.ID == id {
			return Distance(from, c.At)
		}
	}
	return -1
}
