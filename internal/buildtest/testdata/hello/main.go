// Command hello is what buildtest's own test builds.
package main

import "fmt"

func main() { fmt.Println("hello from a built binary") }
