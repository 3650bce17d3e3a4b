// Command ipfs is Kubo's own cmd/ipfs entry point, built from a wrapper module
// so that Kubo's go.mod replace/exclude directives (which `go install
// pkg@version` refuses) can be repeated here. See .ci/tools/build-go-tools.
package main

import (
	"os"

	"github.com/ipfs/kubo/cmd/ipfs/kubo"
)

func main() {
	os.Exit(kubo.Start(kubo.BuildDefaultEnv))
}
