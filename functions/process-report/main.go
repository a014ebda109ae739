// Command process-report consumes the table's stream: it archives each accepted version in S3
// under Object Lock and alerts regulators on SNS, exactly once in effect.
package main

import (
	"github.com/breach-intake/intake/internal/app"
	"github.com/breach-intake/intake/internal/app/fanout"
)

func main() { app.Main(fanout.ProcessReport) }
