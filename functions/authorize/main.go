// Command authorize is the HTTP API's Lambda authorizer: API key in, principal out.
package main

import "github.com/breach-intake/intake/internal/app"

func main() { app.Main(app.Authorize) }
