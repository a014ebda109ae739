// Package loadgen generates realistic report bodies and sends them to the intake API with
// concurrent clients, retrying as a careful client does, to measure throughput and latency and
// to prove that nothing is lost under load (issue 7).
package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/breach-intake/intake/internal/breach"
)

const (
	// MinMaxBytes is the smallest maxBytes Generate honours: a report with every optional field
	// but no padding fits in it.
	MinMaxBytes = 4096
	maxChars    = 10_000         // API.md: strings ≤ 10,000 characters
	maxCount    = 10_000_000_000 // API.md: counts 0…10^10
	// awareWindow keeps an on-time report on time: the earliest deadline is aware_at + 24 h, so
	// 20 h leaves 4 h for the run to send it.
	awareWindow = 20 * time.Hour
	// denseAbove is the body size above which plain French and English text cannot fill the
	// free-text fields (about 5 × 10,000 characters of about a byte each): larger bodies are
	// written as ASCII-only JSON holding Greek and Bulgarian notices (6 bytes per character).
	denseAbove = 32_000
)

// The closed vocabularies of API.md. The test checks that every value is generated and that the
// real validator accepts them.
var (
	allRoles          = []string{"controller", "processor", "essential_entity", "important_entity", "financial_entity"}
	allSectors        = []string{"health", "social_security", "employment", "public_administration", "finance", "insurance", "energy", "transport", "telecom", "digital_infrastructure", "education", "retail", "other"}
	allBreachTypes    = []string{"confidentiality", "integrity", "availability"}
	allSubjectCats    = []string{"customers", "employees", "patients", "students", "users", "job_seekers", "beneficiaries", "migrants", "children", "vulnerable_adults", "other"}
	allDataCats       = []string{"identity", "contact", "national_id", "official_document", "financial", "credentials", "health", "special_category", "criminal", "location", "social_benefits", "other"}
	allInformed       = []string{"yes", "no", "planned"}
	nis2Sectors       = []string{"health", "energy", "transport", "telecom", "digital_infrastructure", "public_administration", "social_security"}
	subjectsOfSectors = map[string][]string{
		"health": {"patients"}, "social_security": {"beneficiaries", "vulnerable_adults"}, "employment": {"job_seekers", "migrants"},
		"public_administration": {"users", "migrants", "vulnerable_adults"}, "finance": {"customers"}, "insurance": {"customers", "beneficiaries"},
		"energy": {"customers"}, "transport": {"users", "customers"}, "telecom": {"customers", "users"}, "digital_infrastructure": {"users"},
		"education": {"students", "children"}, "retail": {"customers"}, "other": {"users", "other"},
	}
)

// regime sets with their weights: GDPR alone is the common case.
var regimeSets = []struct {
	regimes []string
	weight  int
}{
	{[]string{"gdpr"}, 45}, {[]string{"gdpr", "nis2"}, 15}, {[]string{"nis2"}, 8}, {[]string{"gdpr", "dora"}, 10},
	{[]string{"dora"}, 7}, {[]string{"nis2", "dora"}, 5}, {[]string{"gdpr", "nis2", "dora"}, 10},
}

// The report body, in the order people write it (API.md). organisation.siren is never sent: it
// must equal the SIREN the organisation was provisioned with, which the generator cannot know.
type report struct {
	Regimes          []string          `json:"regimes"`
	Reporter         reporter          `json:"reporter"`
	Organisation     organisation      `json:"organisation"`
	Processor        *processor        `json:"processor,omitempty"`
	Incident         incident          `json:"incident"`
	Data             data              `json:"data"`
	Consequences     string            `json:"consequences,omitempty"`
	Measures         measures          `json:"measures"`
	SubjectsInformed *subjectsInformed `json:"subjects_informed,omitempty"`
	LateReason       string            `json:"late_reason,omitempty"`
}

type reporter struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
}

type organisation struct {
	LegalName string `json:"legal_name"`
	Sector    string `json:"sector"`
	Country   string `json:"country"`
	Role      string `json:"role"`
}

type processor struct {
	LegalName string `json:"legal_name"`
	SIREN     string `json:"siren"`
}

type incident struct {
	Title        string   `json:"title"`
	Description  string   `json:"description"`
	OccurredAt   string   `json:"occurred_at,omitempty"`
	DiscoveredAt string   `json:"discovered_at,omitempty"`
	AwareAt      string   `json:"aware_at"`
	Ongoing      *bool    `json:"ongoing,omitempty"`
	BreachTypes  []string `json:"breach_types"`
	Cause        string   `json:"cause"`
	CrossBorder  *bool    `json:"cross_border,omitempty"`
	MemberStates []string `json:"member_states,omitzero"` // an empty, non-nil list is sent as []
}

type data struct {
	SubjectsAffected  int64    `json:"subjects_affected"`
	SubjectsEstimate  string   `json:"subjects_estimate"`
	RecordsAffected   *int64   `json:"records_affected,omitempty"`
	SubjectCategories []string `json:"subject_categories,omitempty"`
	DataCategories    []string `json:"data_categories"`
}

type measures struct {
	Taken   string `json:"taken"`
	Planned string `json:"planned,omitempty"`
}

type subjectsInformed struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Generate returns a valid report body for a reporting organisation at now, of a size drawn
// between about 600 bytes and maxBytes (clamped to MinMaxBytes…256 KiB). The same r state gives
// the same body for the same now.
func Generate(r *rand.Rand, now time.Time, maxBytes int) []byte {
	maxBytes = min(max(maxBytes, MinMaxBytes), breach.MaxBodyBytes)
	target := bodySize(r, maxBytes)
	g := &gen{r: r, now: now}
	dense := target > denseAbove
	rep := g.report(target, dense)
	ascii := dense || r.Float64() < 0.15  // Python's json.dumps default, for one
	indent := !dense && r.Float64() < 0.2 // hand-written or pretty-printed files
	fields := g.paddable(rep, dense)
	if need := target - len(encode(rep, indent, ascii)); need > 0 {
		g.pad(fields, need, ascii)
	}
	body := encode(rep, indent, ascii)
	// The byte costs above are exact, so this only guards the contract: never over maxBytes.
	for len(body) > maxBytes {
		f := slices.MaxFunc(fields, func(a, b field) int { return len(*a.s) - len(*b.s) })
		runes := []rune(*f.s)
		*f.s = string(runes[:max(1, len(runes)-(len(body)-maxBytes))])
		body = encode(rep, indent, ascii)
	}
	return body
}

// bodySize draws a body size: most reports are a few KiB, some tens of KiB, a few close to the
// limit (the attachments-in-text kind).
func bodySize(r *rand.Rand, maxBytes int) int {
	m := float64(maxBytes)
	logUniform := func(lo, hi float64) int {
		lo, hi = min(lo, m), min(hi, m)
		return int(math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo))))
	}
	switch p := r.Float64(); {
	case p < 0.55:
		return logUniform(600, 4096)
	case p < 0.85:
		return logUniform(4096, 65536)
	case p < 0.95:
		return logUniform(65536, m)
	default:
		return int(m * (0.97 + 0.03*r.Float64()))
	}
}

type gen struct {
	r        *rand.Rand
	now      time.Time
	vars     *strings.Replacer
	from, to time.Time // the incident's timeline, for padding
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](r *rand.Rand, items []T) T { return items[r.IntN(len(items))] }

// some returns between lo and hi distinct items of items, in their order.
func some(r *rand.Rand, items []string, lo, hi int) []string {
	n := lo + r.IntN(hi-lo+1)
	idx := r.Perm(len(items))[:min(n, len(items))]
	slices.Sort(idx)
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = items[j]
	}
	return out
}

// addUnique appends the words of extra that list does not hold yet.
func addUnique(list []string, extra ...string) []string {
	for _, w := range extra {
		if !slices.Contains(list, w) {
			list = append(list, w)
		}
	}
	return list
}

func (g *gen) report(target int, dense bool) *report {
	r := g.r
	sc := pick(r, scenarios)
	// Small targets are the minimal reports people send first: few optional fields.
	rich := target > 1500 || g.chance(0.3)
	opt := func(p float64) bool { return rich && g.chance(p) }

	regimes := g.regimes()
	role := g.role(regimes)
	sector := g.sector(role)
	country := "FR"
	if g.chance(0.2) {
		country = pick(r, memberStates)
	}
	city := pick(r, cities)
	legalName := strings.ReplaceAll(pick(r, sectorNames[sector]), "{city}", city)
	g.vars = strings.NewReplacer("{system}", pick(r, systems), "{n}", strconv.Itoa(10+r.IntN(5000)),
		"{host}", fmt.Sprintf("srv-%s-%02d", pick(r, []string{"app", "file", "db", "web", "dc"}), 1+r.IntN(40)))

	rep := &report{Regimes: regimes}
	first, last := pick(r, firstNames), pick(r, lastNames)
	tld := topLevelDomain[country]
	if tld == "" {
		tld = "eu"
	}
	local := "dpo"
	if g.chance(0.5) {
		local = slug(first) + "." + slug(last)
	}
	rep.Reporter = reporter{Name: first + " " + last, Email: local + "@" + slug(legalName) + "." + tld}
	if opt(0.7) {
		rep.Reporter.Role = pick(r, reporterRoles)
	}
	if opt(0.5) {
		rep.Reporter.Phone = fmt.Sprintf("+33 %d %02d %02d %02d %02d", 1+r.IntN(9), r.IntN(100), r.IntN(100), r.IntN(100), r.IntN(100))
	}
	rep.Organisation = organisation{LegalName: legalName, Sector: sector, Country: country, Role: role}
	if opt(0.3) {
		rep.Processor = &processor{LegalName: pick(r, processorNames), SIREN: siren(r)}
	}

	inc := &rep.Incident
	inc.Title = g.vars.Replace(pick(r, sc.titles))
	if g.chance(0.25) {
		inc.Title += " (" + city + ")"
	}
	inc.Description = g.vars.Replace(pick(r, sc.description))
	late := g.times(inc, opt)
	if opt(0.6) {
		inc.Ongoing = ptr(g.chance(0.4))
	}
	inc.BreachTypes = []string{sc.types[0]}
	for _, t := range sc.types[1:] {
		if g.chance(0.4) {
			inc.BreachTypes = addUnique(inc.BreachTypes, t)
		}
	}
	if g.chance(0.05) {
		inc.BreachTypes = addUnique(inc.BreachTypes, pick(r, allBreachTypes))
	}
	inc.Cause = sc.cause
	if g.chance(0.05) { // the first analysis is often wrong or inconclusive
		inc.Cause = "unknown"
	}
	switch {
	case dense:
		// The notices in Greek and Bulgarian that pad a dense body go to people in those states.
		inc.CrossBorder = ptr(true)
		inc.MemberStates = addUnique(some(r, otherStates(country), 0, 2), "GR", "BG")
	case opt(0.45):
		inc.CrossBorder = ptr(g.chance(0.35))
		if *inc.CrossBorder {
			inc.MemberStates = some(r, otherStates(country), 1, 4)
		} else if g.chance(0.5) {
			inc.MemberStates = []string{}
		}
	}

	g.data(&rep.Data, sc, sector, opt)

	if opt(0.7) {
		rep.Consequences = g.vars.Replace(pick(r, sc.consequences))
	}
	rep.Measures.Taken = g.vars.Replace(pick(r, sc.taken))
	if opt(0.6) {
		rep.Measures.Planned = g.vars.Replace(pick(r, sc.planned))
	}
	if dense || opt(0.65) {
		si := &subjectsInformed{Status: pick(r, allInformed)}
		if dense || (si.Status != "yes" && g.chance(0.8)) || g.chance(0.3) {
			si.Reason = pick(r, informedReasons)
		}
		rep.SubjectsInformed = si
	}
	if late {
		rep.LateReason = pick(r, lateReasons)
	}
	return rep
}

func (g *gen) regimes() []string {
	total := 0
	for _, s := range regimeSets {
		total += s.weight
	}
	n := g.r.IntN(total)
	for _, s := range regimeSets {
		if n -= s.weight; n < 0 {
			return slices.Clone(s.regimes)
		}
	}
	panic("unreachable")
}

// role follows the regimes (DORA: financial entities; NIS2: essential or important entities),
// with a share of everything else so that every combination is exercised.
func (g *gen) role(regimes []string) string {
	switch {
	case g.chance(0.1):
		return pick(g.r, allRoles)
	case slices.Contains(regimes, "dora"):
		return "financial_entity"
	case slices.Contains(regimes, "nis2"):
		return pick(g.r, []string{"essential_entity", "important_entity"})
	case g.chance(0.8):
		return "controller"
	default:
		return "processor"
	}
}

func (g *gen) sector(role string) string {
	switch {
	case g.chance(0.1):
		return pick(g.r, allSectors)
	case role == "financial_entity":
		return pick(g.r, []string{"finance", "finance", "insurance"})
	case role == "essential_entity" || role == "important_entity":
		return pick(g.r, nis2Sectors)
	default:
		return pick(g.r, allSectors)
	}
}

// times sets the incident's timestamps, in order, and says whether the report is late. In an
// on-time report every timestamp is within the last 20 hours; a late one (about 6%) became known
// days or weeks ago, past every first deadline (72 h at most), and carries a late_reason.
func (g *gen) times(inc *incident, opt func(float64) bool) (late bool) {
	r := g.r
	late = g.chance(0.06)
	earliest := g.now.Add(-awareWindow)
	var aware time.Time
	if late {
		aware = g.now.Add(-between(r, 73*time.Hour, 40*24*time.Hour))
		earliest = aware.Add(-30 * 24 * time.Hour)
	} else {
		aware = g.now.Add(-between(r, time.Minute, awareWindow))
	}
	zone := pick(r, []*time.Location{time.UTC, time.UTC, time.FixedZone("", 3600), time.FixedZone("", 7200),
		time.FixedZone("", -4*3600), time.FixedZone("", 4*3600)})
	layout := time.RFC3339
	if g.chance(0.15) {
		layout = "2006-01-02T15:04:05.000Z07:00"
	}
	format := func(t time.Time) string { return t.In(zone).Format(layout) }
	inc.AwareAt = format(aware)
	g.from, g.to = aware, aware
	prev := aware
	if opt(0.7) {
		prev = prev.Add(-between(r, 0, prev.Sub(earliest)))
		inc.DiscoveredAt = format(prev)
	}
	if opt(0.6) {
		prev = prev.Add(-between(r, 0, prev.Sub(earliest)))
		inc.OccurredAt = format(prev)
	}
	g.from = prev
	return late
}

// between draws a duration in [lo, hi], to the millisecond.
func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64((hi-lo)/time.Millisecond)+1))*time.Millisecond
}

func (g *gen) data(d *data, sc scenario, sector string, opt func(float64) bool) {
	r := g.r
	n := g.count()
	d.SubjectsAffected = n
	switch {
	case n < 1000 && g.chance(0.5):
		d.SubjectsEstimate = "exact"
	case g.chance(0.15):
		d.SubjectsEstimate = "unknown"
	default:
		d.SubjectsEstimate = "approximate"
		d.SubjectsAffected = roundTo2(n)
	}
	if opt(0.6) {
		rec := int64(r.IntN(50))
		if n > 0 {
			rec = min(maxCount, int64(float64(n)*(1+7*r.Float64())))
		}
		d.RecordsAffected = &rec
	}
	if opt(0.75) {
		cats := some(r, subjectsOfSectors[sector], 1, 2)
		if g.chance(0.15) {
			cats = addUnique(cats, "employees")
		}
		if g.chance(0.25) {
			cats = addUnique(cats, pick(r, allSubjectCats))
		}
		d.SubjectCategories = cats
	}
	d.DataCategories = append([]string{sc.data[0]}, some(r, sc.data[1:], 0, len(sc.data)-1)...)
	if g.chance(0.2) {
		d.DataCategories = addUnique(d.DataCategories, pick(r, allDataCats))
	}
}

// count draws a number of people: 0 sometimes, mostly tens to thousands, rarely millions, and now
// and then up to the maximum the API accepts.
func (g *gen) count() int64 {
	switch p := g.r.Float64(); {
	case p < 0.03:
		return 0
	case p < 0.035:
		return maxCount
	case p < 0.05:
		return min(maxCount, int64(math.Pow(10, 7.5+2.5*g.r.Float64())))
	default:
		return int64(math.Pow(10, 7.5*math.Pow(g.r.Float64(), 1.6)))
	}
}

// roundTo2 rounds to two significant digits, as an approximate count is written (12000).
func roundTo2(n int64) int64 {
	if n < 100 {
		return n
	}
	unit := int64(math.Pow(10, math.Floor(math.Log10(float64(n)))-1))
	return min(maxCount, (n+unit/2)/unit*unit)
}

func otherStates(country string) []string {
	return slices.DeleteFunc(slices.Clone(memberStates), func(s string) bool { return s == country })
}

// siren draws a SIREN: 8 digits and their Luhn check digit.
func siren(r *rand.Rand) string {
	d := make([]byte, 9)
	d[0] = byte('1' + r.IntN(9))
	for i := 1; i < 8; i++ {
		d[i] = byte('0' + r.IntN(10))
	}
	d[8] = luhnDigit(d[:8])
	return string(d)
}

// luhnDigit is the check digit that makes payload+digit pass the Luhn test: counting from the
// check digit (position 0, not doubled), the payload's last digit is at position 1 and doubled.
func luhnDigit(payload []byte) byte {
	sum := 0
	for i := range len(payload) {
		d := int(payload[len(payload)-1-i] - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

var fold = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a", "ç", "c", "î", "i", "ï", "i",
	"ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "í", "i", "É", "e", "'", "-")

// slug makes a lower-case ASCII word for a domain or a mailbox: "Clinique du Parc" → "clinique-du-parc".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range fold.Replace(strings.ToLower(s)) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		case c < utf8.RuneSelf:
			dash = true
		}
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }

// field is a free-text field that padding may lengthen, with the source of its next lines.
type field struct {
	s    *string
	next func() string
}

// paddable lists the free-text fields a long report is long in, each with text of its kind:
// timelines, datasets, actions, plans, the notice sent to the people concerned.
func (g *gen) paddable(rep *report, dense bool) []field {
	r := g.r
	// Each timeline runs forward from the incident's start to now, wrapping if it is long.
	timeline := func() func() string {
		at := g.from
		step := max(time.Minute, g.now.Sub(g.from)/40)
		return func() string {
			if at = at.Add(between(r, time.Minute, step)); at.After(g.now) {
				at = g.from
			}
			return at.UTC().Format("2006-01-02 15:04 UTC") + ": "
		}
	}
	events, actions, chase := timeline(), timeline(), timeline()
	lines := []func() string{
		func() string { return events() + g.vars.Replace(pick(r, timelineEvents)) + "." },
		func() string {
			return fmt.Sprintf("Dataset %s_%d: about %d records (%s).", pick(r, datasetNames), 2020+r.IntN(7),
				1+r.IntN(90000), strings.Join(some(r, allDataCats, 1, 3), ", "))
		},
		func() string { return actions() + g.vars.Replace(pick(r, takenActions)) + "." },
		func() string {
			return fmt.Sprintf("- %s (owner: %s, by %s).", pick(r, plannedActions), pick(r, reporterRoles),
				g.now.AddDate(0, 1+r.IntN(6), 0).Format("2006-01-02"))
		},
		func() string { return pick(r, letters) },
		func() string { return chase() + pick(r, lateSteps) + "." },
	}
	texts := []*string{&rep.Incident.Description, &rep.Consequences, &rep.Measures.Taken, &rep.Measures.Planned, nil, nil}
	if rep.SubjectsInformed != nil {
		texts[4] = &rep.SubjectsInformed.Reason
	}
	if rep.LateReason != "" {
		texts[5] = &rep.LateReason
	}
	notice := 0
	var fields []field
	for i, s := range texts {
		if s == nil {
			continue
		}
		next := lines[i]
		if dense {
			next = func() string {
				n := notices[notice%len(notices)]
				notice++
				return "[" + n.lang + "] " + n.text
			}
		}
		fields = append(fields, field{s, next})
	}
	return fields
}

// pad lengthens the fields by need bytes of JSON in all, spread evenly; a field that reaches the
// 10,000-character cap leaves the rest to the next ones.
func (g *gen) pad(fields []field, need int, ascii bool) {
	for pass := 0; pass < 2 && need > 0; pass++ {
		for i, f := range fields {
			quota := need
			if pass == 0 {
				quota = need / (len(fields) - i)
			}
			need -= fill(f, quota, ascii)
		}
	}
}

// fill appends lines to f until they cost quota bytes of JSON or f holds 10,000 characters, and
// returns the bytes added. Short lines are added whole; a long one (a notice) may be cut at a
// word, or bodies could not come close to the limit.
func fill(f field, quota int, ascii bool) int {
	var b strings.Builder
	b.WriteString(*f.s)
	chars := utf8.RuneCountInString(*f.s)
	added := 0
	for added < quota && chars < maxChars {
		line := f.next()
		if b.Len() > 0 {
			line = "\n" + line
		}
		fits, cost, n := 0, 0, 0 // bytes of line that fit, their JSON cost and characters
		for i, c := range line {
			if added+cost+jsonCost(c, ascii) > quota || chars+n == maxChars {
				break
			}
			fits, cost, n = i+utf8.RuneLen(c), cost+jsonCost(c, ascii), n+1
		}
		if fits < len(line) {
			cut := strings.LastIndexByte(line[:fits], ' ')
			if utf8.RuneCountInString(line) < 300 || cut <= 0 {
				break
			}
			line = line[:cut]
			cost, n = 0, utf8.RuneCountInString(line)
			for _, c := range line {
				cost += jsonCost(c, ascii)
			}
			fits = -1 // cut: this field is done
		}
		b.WriteString(line)
		added += cost
		chars += n
		if fits < 0 {
			break
		}
	}
	*f.s = b.String()
	return added
}

// jsonCost is the number of bytes c takes in a JSON string as encode writes it.
func jsonCost(c rune, ascii bool) int {
	switch {
	case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
		return 2
	case c < 0x20 || c == '\u2028' || c == '\u2029':
		return 6
	case c < utf8.RuneSelf:
		return 1
	case ascii && c > 0xFFFF:
		return 12
	case ascii:
		return 6
	default:
		return utf8.RuneLen(c)
	}
}

// encode writes v as JSON, compact or indented, and, for ascii, with every non-ASCII character
// escaped (\u00e9), as clients such as Python's json.dumps do by default.
func encode(v any, indent, ascii bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" stays "<": only jsonCost's escapes apply
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		panic(err) // plain structs of strings and numbers always encode
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if !ascii {
		return b
	}
	out := make([]byte, 0, len(b)*2)
	for _, c := range string(b) { // outside strings JSON is ASCII: only string contents change
		switch {
		case c < utf8.RuneSelf:
			out = append(out, byte(c))
		case c <= 0xFFFF:
			out = fmt.Appendf(out, `\u%04x`, c)
		default:
			r1, r2 := utf16.EncodeRune(c)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		}
	}
	return out
}
