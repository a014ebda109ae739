package auth_test

import (
	"bytes"
	"fmt"

	"github.com/breach-intake/intake/internal/auth"
)

func ExampleNewKey() {
	// Production draws from crypto/rand.Reader; fixed bytes keep this output stable.
	random := bytes.NewReader(bytes.Repeat([]byte{0x2a}, 40))
	key, plaintext, err := auth.NewKey(random)
	if err != nil {
		fmt.Println(err)
		return
	}
	key.Principal, key.OrgID = auth.PrincipalOrganisation, "exemple-sa"
	fmt.Println(plaintext) // shown once; only key.SecretSHA256 is stored
	fmt.Println(key.ID)
	// Output:
	// bik_2a2a2a2a2a2a2a2a_2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a
	// 2a2a2a2a2a2a2a2a
}

func ExampleParseBearer() {
	key, plaintext, _ := auth.NewKey(bytes.NewReader(bytes.Repeat([]byte{0x2a}, 40)))

	c, err := auth.ParseBearer("bearer " + plaintext) // the scheme is case-insensitive
	fmt.Println(c, err, key.Matches(c))               // a credential prints without its secret

	_, err = auth.ParseBearer("Bearer  " + plaintext)
	fmt.Println(err)
	// Output:
	// bik_2a2a2a2a2a2a2a2a_… <nil> true
	// malformed API key
}
