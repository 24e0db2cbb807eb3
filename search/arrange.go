package search

import (
	"iter"
	"math"
	"slices"
)

const (
	earthRadiusMetres = 6371008.8
	metresPerDegree   = earthRadiusMetres * math.Pi / 180
)

// Distance is the great-circle distance between two points in metres.
func Distance(a, b Point) float64 {
	rad := math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusMetres * math.Asin(math.Sqrt(h))
}

// DefaultRadiusMetres is used when a query has Near but no radius.
const DefaultRadiusMetres = 40000

// Filters reports whether d passes the query's filters: needs, delivery, age and cost. The
// location rule is Arrange's, and text matching is each engine's own.
func (q Query) Filters(d *Document) bool {
	if len(q.Needs) > 0 && !overlaps(d.Needs, q.Needs) {
		return false
	}
	if len(q.Delivery) > 0 && !overlaps(d.Delivery, q.Delivery) {
		return false
	}
	if q.Age != nil && (*q.Age < d.MinAge || *q.Age > d.MaxAge) {
		return false
	}
	return !q.FreeOnly || d.Free
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Candidate is a document that matched a query: what the location rule and the ordering need
// of it, and its relevance where there was text.
type Candidate struct {
	ID      string
	Score   float64
	Remote  bool
	Located bool
	At      Point // where it is, if Located
	// More are its other places, for the few services delivered in several: kept apart from
	// At so that the common case stays one flat record.
	More []Point
}

// Place sets where a candidate is from a document's locations.
func (c *Candidate) Place(points []Point) {
	if len(points) == 0 {
		c.Located, c.At, c.More = false, Point{}, nil
		return
	}
	c.Located, c.At, c.More = true, points[0], points[1:]
	if len(c.More) == 0 {
		c.More = nil
	}
}

// Arrange applies the location rule and orders and pages the matches, the same way for every
// engine that cannot do it natively: with Near, services located within the radius come
// nearest first, then remote services (phone, online, national); otherwise the best score
// first. Ties keep the order the candidates came in, which callers give by name.
func Arrange(q Query, cands iter.Seq[*Candidate]) Result {
	radius := q.RadiusMetres
	if radius <= 0 {
		radius = DefaultRadiusMetres
	}
	// Distances here are flat-earth, in degrees of latitude, with the longitude scale taken at
	// the family's latitude: within tens of kilometres that orders and cuts off as well as the
	// great circle (under 0.5% apart) at a fraction of the cost. Pages show the exact distance.
	var cosLat, radius2 float64
	if q.Near != nil {
		cosLat = math.Cos(q.Near.Lat * math.Pi / 180)
		radius2 = (radius / metresPerDegree) * (radius / metresPerDegree)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	offset := max(q.Offset, 0)
	want := offset + limit
	// A family looks at the first pages: keep just the best few in order, rather than
	// collecting and sorting every match.
	var all []ranked
	top := make([]ranked, 0, min(want, 64)+1)
	total := 0
	near := q.Near != nil
	var lat, lng float64
	if near {
		lat, lng = q.Near.Lat, q.Near.Lng
	}
	inf := math.Inf(1)
	for c := range cands {
		dist := inf
		if near {
			if c.Located {
				// Squared distances order the same as distances, without a square root.
				dx, dy := (c.At.Lng-lng)*cosLat, c.At.Lat-lat
				d2 := dx*dx + dy*dy
				for _, p := range c.More {
					dx, dy := (p.Lng-lng)*cosLat, p.Lat-lat
					d2 = min(d2, dx*dx+dy*dy)
				}
				if d2 <= radius2 || c.Remote {
					// Remote and far still comes, after the near ones.
					dist = d2
				}
			}
			if dist == inf && !c.Remote {
				continue
			}
		}
		total++
		// Most matches are further down than the page wanted: drop them before anything else.
		if len(top) == want && dist > top[want-1].dist {
			continue
		}
		r := ranked{c: c, dist: dist, order: total - 1}
		if want > 64 {
			all = append(all, r)
			continue
		}
		if len(top) == want && !r.before(&top[want-1]) {
			continue
		}
		at := len(top)
		for at > 0 && r.before(&top[at-1]) {
			at--
		}
		top = slices.Insert(top, at, r)
		if len(top) > want {
			top = top[:want]
		}
	}
	if want > 64 {
		slices.SortFunc(all, func(a, b ranked) int {
			if a.before(&b) {
				return -1
			}
			return 1
		})
		top = all[:min(want, len(all))]
	}
	res := Result{Total: total}
	for _, r := range top[min(offset, len(top)):] {
		res.IDs = append(res.IDs, r.c.ID)
	}
	return res
}

type ranked struct {
	c     *Candidate
	dist  float64
	order int // the candidate's place as given, the last tie-break
}

func (a *ranked) before(b *ranked) bool {
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	if a.c.Score != b.c.Score {
		return a.c.Score > b.c.Score
	}
	return a.order < b.order
}
