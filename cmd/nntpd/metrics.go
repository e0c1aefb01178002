package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/altcrypt/altcrypt/metrics"
	"github.com/altcrypt/altcrypt/node"
	"github.com/altcrypt/altcrypt/peers"
	"github.com/altcrypt/altcrypt/store"
)

// checkMetricsListen refuses a --metrics-listen that would share a port
// with an NNTP listener: metrics are HTTP and may say more than readers
// should see, so they get their own address (usually loopback).
func checkMetricsListen(addr, listen, tlsListen string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics-listen: %w", err)
	}
	for _, l := range []struct{ flag, addr string }{{"--listen", listen}, {"--tls-listen", tlsListen}} {
		if l.addr == "" {
			continue
		}
		if _, p, err := net.SplitHostPort(l.addr); err == nil && p == port && port != "0" {
			return fmt.Errorf("--metrics-listen %s: port %s is the NNTP port of %s; give metrics their own", addr, port, l.flag)
		}
	}
	return nil
}

// serveMetrics serves /metrics on l until ctx ends.
func serveMetrics(ctx context.Context, mx *metrics.Metrics, l net.Listener, log *slog.Logger) {
	log.Info("metrics listening", "addr", l.Addr().String(), "path", "/metrics")
	go func() {
		if err := mx.Serve(ctx, l); err != nil {
			log.Error("metrics server stopped", "err", err)
		}
	}()
}

// observeFeeds exports the queues and send results of the peers we feed,
// as the peers file names them at each scrape (it may be reloaded).
func observeFeeds(mx *metrics.Metrics, st store.Admin, pf *peers.File, n *node.Node) {
	sending := func() []string {
		var names []string
		for _, p := range pf.Senders() {
			names = append(names, p.Name)
		}
		return names
	}
	mx.Feeds(st, sending, func(peer string) metrics.PeerCounts {
		s := n.FeedStats(peer)
		return metrics.PeerCounts{Offered: s.Offered, Sent: s.Sent, Refused: s.Refused, Deferred: s.Deferred, Failures: s.Failures}
	})
}
