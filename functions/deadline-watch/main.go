// Command deadline-watch runs on a schedule: it alerts regulators, once per report and stage, of
// every deadline stage past its due time without a covering version.
package main

import (
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/watch"
)

func main() { app.Main(watch.DeadlineWatch) }
