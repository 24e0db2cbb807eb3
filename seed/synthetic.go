package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"familyhelp/directory"
)

var (
	synthAdjectives = []string{"Bright", "Steady", "Open", "Family", "Kind", "Together", "Hopeful", "Safe", "Calm", "Brave", "Little", "Healthy"}
	synthNouns      = []string{"Steps", "Start", "Circle", "Hub", "Roots", "Harbour", "Bridge", "Path", "Light", "Haven", "Voices", "Futures"}
	synthKinds      = []string{"drop-in", "support group", "advice service", "helpline", "course", "outreach team", "clinic", "peer support"}
	synthTowns      = []string{"Wolverhampton", "Bilston", "Wednesfield", "Tettenhall", "Walsall", "Bloxwich", "Willenhall", "Darlaston", "Aldridge", "Brownhills"}
	synthPhrases    = map[directory.Need]string{
		directory.NeedDomesticAbuse: "safety planning and support for anyone living with domestic abuse or coercive control",
		directory.NeedAddiction:     "help to cut down alcohol or drugs, and support for families affected by substance misuse",
		directory.NeedMentalHealth:  "counselling and emotional support for anxiety, depression and stress",
		directory.NeedParenting:     "practical parenting support for routines, behaviour and family life",
		directory.NeedMoney:         "debt advice, welfare benefits checks and help with bills and food",
		directory.NeedHousing:       "housing advice if you are homeless or at risk of losing your home",
		directory.NeedChildHealth:   "health visiting, infant feeding and speech and language support",
		directory.NeedSEND:          "support for children with special educational needs and disabilities",
		directory.NeedChildSafety:   "support for children and young people worried about bullying or their safety",
	}
	synthAges = [][2]int{{0, 1}, {0, 5}, {5, 11}, {11, 18}, {16, 25}, {0, directory.MaxAgeLimit}}
)

// Synthetic returns n made-up services, the same every time for the same n, spread over the
// Wolverhampton and Walsall area, every need, age band and delivery mode. They exist to load
// the system for benchmarks.
func Synthetic(n int) []*directory.Service {
	r := rand.New(rand.NewPCG(20261122, uint64(n)))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	reviewed := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	out := make([]*directory.Service, 0, n)
	for i := range n {
		needs := []directory.Need{directory.Needs[r.IntN(len(directory.Needs))].Slug}
		if r.IntN(3) == 0 {
			if other := directory.Needs[r.IntN(len(directory.Needs))].Slug; other != needs[0] {
				needs = append(needs, other)
			}
		}
		var what []string
		for _, nd := range needs {
			what = append(what, synthPhrases[nd])
		}
		name := fmt.Sprintf("%s %s %s", pick(synthAdjectives), pick(synthNouns), pick(synthKinds))
		town := pick(synthTowns)
		ages := synthAges[r.IntN(len(synthAges))]
		s := &directory.Service{
			ID:           fmt.Sprintf("synthetic-%05d", i+1),
			Organisation: directory.Organisation{ID: fmt.Sprintf("synthetic-org-%04d", i/5+1), Name: fmt.Sprintf("%s %s Trust", pick(synthAdjectives), pick(synthNouns))},
			Name:         name,
			Summary:      "Synthetic service offering " + what[0] + ".",
			Description:  "This service is synthetic test data. It offers " + strings.Join(what, ", and ") + ", in and around " + town + ".",
			Status:       directory.Active,
			Needs:        needs,
			Categories:   directory.CategoriesFor(needs),
			MinAge:       ages[0],
			MaxAge:       ages[1],
			Free:         r.IntN(5) != 0,
			Sample:       true,
			LastReviewed: reviewed,
			UpdatedAt:    reviewed,
		}
		if !s.Free {
			s.Cost = "£5 a session"
		}
		switch r.IntN(6) {
		case 0:
			s.Delivery = []directory.Delivery{directory.Phone}
		case 1:
			s.Delivery = []directory.Delivery{directory.Online}
		case 2:
			s.Delivery = []directory.Delivery{directory.InPerson, directory.Phone}
		default:
			s.Delivery = []directory.Delivery{directory.InPerson}
		}
		if s.Has(directory.InPerson) {
			s.Locations = []directory.Location{{
				ID:        s.ID + "-1",
				Address:   fmt.Sprintf("%d High Street", 1+r.IntN(200)),
				Town:      town,
				Latitude:  52.52 + r.Float64()*0.16,
				Longitude: -2.20 + r.Float64()*0.30,
			}}
		}
		s.Phones = []directory.PhoneNumber{{Number: fmt.Sprintf("01632 %06d", 960000+r.IntN(1000)), Type: "voice"}}
		out = append(out, s)
	}
	return out
}
