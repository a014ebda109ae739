// Command sweep runs on a schedule: it fans out the versions the stream did not deliver, so an
// outage longer than the stream's 24 h retention still loses nothing.
package main

import (
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/fanout"
)

func main() { app.Main(fanout.Sweep) }
