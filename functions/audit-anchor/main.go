// Command audit-anchor runs on a schedule: it writes the head of every organisation's audit chain
// to the Object Lock archive, so that `breachctl audit verify` sees any later rewrite of what
// came before.
package main

import (
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/anchor"
)

func main() { app.Main(anchor.AuditAnchor) }
