package auth_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/breach-intake/intake/internal/auth"
)

const (
	testID     = "0123456789abcdef"
	testSecret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	testKey    = "bik_" + testID + "_" + testSecret
)

type bearerCase struct {
	name   string
	header string
	ok     bool
}

func bearerCases() []bearerCase {
	return []bearerCase{
		{"canonical", "Bearer " + testKey, true},
		{"lowercase scheme", "bearer " + testKey, true},
		{"uppercase scheme", "BEARER " + testKey, true},
		{"empty", "", false},
		{"key without scheme", testKey, false},
		{"scheme alone", "Bearer", false},
		{"scheme and space only", "Bearer ", false},
		{"other scheme", "Basic " + testKey, false},
		{"scheme glued to key", "Bearer" + testKey, false},
		{"two spaces", "Bearer  " + testKey, false},
		{"leading space", " Bearer " + testKey, false},
		{"trailing space", "Bearer " + testKey + " ", false},
		{"trailing newline", "Bearer " + testKey + "\n", false},
		{"tab separator", "Bearer\t" + testKey, false},
		{"two tokens", "Bearer " + testKey + " " + testKey, false},
		{"wrong prefix", "Bearer bix_" + testID + "_" + testSecret, false},
		{"uppercase prefix", "Bearer BIK_" + testID + "_" + testSecret, false},
		{"dash instead of underscore", "Bearer bik-" + testID + "-" + testSecret, false},
		{"no prefix", "Bearer " + testID + "_" + testSecret, false},
		{"short id", "Bearer bik_" + testID[1:] + "_" + testSecret, false},
		{"long id", "Bearer bik_" + testID + "0_" + testSecret, false},
		{"uppercase id", "Bearer bik_" + strings.ToUpper(testID) + "_" + testSecret, false},
		{"non-hex id", "Bearer bik_" + testID[:15] + "g_" + testSecret, false},
		{"short secret", "Bearer bik_" + testID + "_" + testSecret[1:], false},
		{"long secret", "Bearer " + testKey + "0", false},
		{"uppercase secret", "Bearer bik_" + testID + "_" + strings.ToUpper(testSecret), false},
		{"non-hex secret", "Bearer bik_" + testID + "_" + testSecret[:63] + "z", false},
		{"double underscore", "Bearer bik_" + testID + "__" + testSecret, false},
		{"underscore inside secret", "Bearer bik_" + testID + "_" + testSecret[:32] + "_" + testSecret[33:], false},
		{"trailing underscore", "Bearer " + testKey + "_", false},
		{"missing separator", "Bearer bik_" + testID + testSecret, false},
		{"non-ASCII", "Bearer bik_" + testID + "_" + testSecret[:62] + "é", false},
	}
}

func TestParseBearer(t *testing.T) {
	for _, tc := range bearerCases() {
		t.Run(tc.name, func(t *testing.T) {
			c, err := auth.ParseBearer(tc.header)
			if !tc.ok {
				if !errors.Is(err, auth.ErrMalformed) {
					t.Fatalf("ParseBearer(%q) = %v, %v; want ErrMalformed", tc.header, c, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBearer(%q): %v", tc.header, err)
			}
			if c.ID != testID || c.Plaintext() != testKey {
				t.Fatalf("ParseBearer(%q) = id %q, key %q", tc.header, c.ID, c.Plaintext())
			}
		})
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, tc := range bearerCases() {
		f.Add(tc.header)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c, err := auth.ParseBearer(header)
		if err != nil {
			return
		}
		scheme, key, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") || key != c.Plaintext() {
			t.Fatalf("ParseBearer(%q) accepted, but the key does not round-trip: %q", header, c.Plaintext())
		}
		again, err := auth.ParseKey(c.Plaintext())
		if err != nil || again != c {
			t.Fatalf("ParseKey(%q) = %v, %v; want %v", c.Plaintext(), again, err, c)
		}
	})
}

func TestNewKey(t *testing.T) {
	k1, p1, err := auth.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k2, p2, err := auth.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID == k2.ID || p1 == p2 {
		t.Fatalf("two keys drew the same id or secret: %s, %s", k1.ID, k2.ID)
	}
	c1, err := auth.ParseKey(p1)
	if err != nil {
		t.Fatalf("a new key does not parse: %v", err)
	}
	c2, _ := auth.ParseKey(p2)
	if !k1.Matches(c1) || k1.Matches(c2) || k2.Matches(c1) {
		t.Fatal("a key must match its own credential and only it")
	}
}

func TestNewKeyFailsWithTheRandomSource(t *testing.T) {
	short := bytes.NewReader(make([]byte, 39))
	if _, _, err := auth.NewKey(short); err == nil {
		t.Fatal("NewKey accepted 39 random bytes; it needs 40")
	}
	if _, _, err := auth.NewKey(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Fatal("NewKey ignored a failing random source")
	}
}

func TestCredentialHidesItsSecret(t *testing.T) {
	c, err := auth.ParseKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, c); strings.Contains(s, testSecret) || !strings.Contains(s, testID) {
			t.Errorf("Sprintf(%q) = %q: want the id and not the secret", verb, s)
		}
	}
}

func TestValidOrgID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"exemple-sa", true},
		{"a1", true},
		{"0-", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{"a", false},
		{strings.Repeat("a", 64), false},
		{"-exemple", false},
		{"Exemple", false},
		{"exemple_sa", false},
		{"exemple sa", false},
		{"exemplé", false},
	} {
		if got := auth.ValidOrgID(tc.id); got != tc.ok {
			t.Errorf("ValidOrgID(%q) = %v, want %v", tc.id, got, tc.ok)
		}
	}
}

func TestKeyValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  auth.Key
		ok   bool
	}{
		{"organisation", auth.Key{ID: testID, Principal: auth.PrincipalOrganisation, OrgID: "exemple-sa"}, true},
		{"regulator", auth.Key{ID: testID, Principal: auth.PrincipalRegulator, Regulator: "cnil"}, true},
		{"no principal", auth.Key{ID: testID, OrgID: "exemple-sa"}, false},
		{"unknown principal", auth.Key{ID: testID, Principal: "admin"}, false},
		{"organisation without org", auth.Key{ID: testID, Principal: auth.PrincipalOrganisation}, false},
		{"organisation with bad org", auth.Key{ID: testID, Principal: auth.PrincipalOrganisation, OrgID: "Exemple SA"}, false},
		{"organisation and regulator", auth.Key{ID: testID, Principal: auth.PrincipalOrganisation, OrgID: "exemple-sa", Regulator: "cnil"}, false},
		{"regulator without name", auth.Key{ID: testID, Principal: auth.PrincipalRegulator, Regulator: " "}, false},
		{"regulator with org", auth.Key{ID: testID, Principal: auth.PrincipalRegulator, Regulator: "cnil", OrgID: "exemple-sa"}, false},
		{"bad id", auth.Key{ID: "XYZ", Principal: auth.PrincipalRegulator, Regulator: "cnil"}, false},
	} {
		if err := tc.key.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
