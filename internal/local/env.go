package local

import (
	"fmt"
	"maps"
	"slices"
)

// FunctionEnv is the environment the template gives a function: Globals.Function's
// Environment.Variables, overridden by the function's own, each value resolved with names
// (LogicalId → what its Ref returns, as CreateResources answers). Lambda adds its own variables
// (AWS_REGION, credentials…); those come from the local AWS config, not from here.
func FunctionEnv(t *Template, logicalID string, names map[string]string) (map[string]string, error) {
	r, ok := t.Resources[logicalID]
	if !ok || r.Type != "AWS::Serverless::Function" {
		return nil, fmt.Errorf("%s is not an AWS::Serverless::Function of the template", logicalID)
	}
	env := map[string]string{}
	for _, vars := range []map[string]any{
		environmentVariables(mapping(t.Globals["Function"])),
		environmentVariables(r.Properties),
	} {
		// Sorted, so that a template with two faults always reports the same one first.
		for _, name := range slices.Sorted(maps.Keys(vars)) {
			v, err := t.Resolve(vars[name], names, nil)
			if err != nil {
				return nil, fmt.Errorf("%s environment variable %s: %w", logicalID, name, err)
			}
			env[name] = v
		}
	}
	return env, nil
}

// environmentVariables reads Environment.Variables of a function's properties (or of Globals.Function).
func environmentVariables(props map[string]any) map[string]any {
	return mapping(mapping(props["Environment"])["Variables"])
}
