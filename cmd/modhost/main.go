// Command modhost runs Prosody plugins outside Prosody. See the README.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "usage: modhost check|run|test ...")
	os.Exit(2)
}
