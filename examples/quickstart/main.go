// Command quickstart checks that an agentjail control plane answers.
//
//	AGENTJAIL_URL=http://127.0.0.1:7000 go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	agentjail "github.com/agentjail/agentjail-go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	client, err := agentjail.NewClient("") // $AGENTJAIL_URL, $AGENTJAIL_API_KEY
	if err != nil {
		return err
	}
	health, err := client.Public.Health(ctx)
	if err != nil {
		return err
	}
	fmt.Println("control plane health:", health)
	return nil
}
