package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/altcrypt/altcrypt/store"
)

// PeerCounts are the send results of one peer so far (the feed keeps
// them; metrics only reads).
type PeerCounts struct {
	Offered, Sent, Refused, Deferred, Failures int64
}

// Feeds exports, at each scrape, the queue of every peer (read from the
// store, so it is the same on every front-end) and the send results of
// the peers that peers names at that moment (the peers file may be
// reloaded); counts returns this process's counts for one peer.
func (m *Metrics) Feeds(st store.Admin, peers func() []string, counts func(peer string) PeerCounts) {
	m.reg.MustRegister(&feedCollector{st: st, peers: peers, counts: counts})
}

var (
	queueDepth = prometheus.NewDesc("altcrypt_feed_queue_depth",
		"Articles queued for a peer (all front-ends of the store).", []string{"peer"}, nil)
	queueOldest = prometheus.NewDesc("altcrypt_feed_queue_oldest_seconds",
		"Age of the oldest article queued for a peer; 0 when the queue is empty.", []string{"peer"}, nil)
	feedResults = prometheus.NewDesc("altcrypt_feed_articles_total",
		"Articles offered to a peer by this process, by result: sent (235, 239), refused (435, 437, 438, 439), deferred (431, 436).",
		[]string{"peer", "result"}, nil)
	feedFailures = prometheus.NewDesc("altcrypt_feed_failures_total",
		"Connection and protocol failures feeding a peer.", []string{"peer"}, nil)
	scrapeErrors = prometheus.NewDesc("altcrypt_feed_queue_read_failed",
		"1 when this scrape could not read the feed queues from the store, else 0.", nil, nil)
)

type feedCollector struct {
	st     store.Admin
	peers  func() []string
	counts func(string) PeerCounts
}

func (c *feedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepth
	ch <- queueOldest
	ch <- feedResults
	ch <- feedFailures
	ch <- scrapeErrors
}

func (c *feedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	depth := map[string]store.QueueStat{}
	qs, err := c.st.QueueStats(ctx)
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrors, prometheus.GaugeValue, failed)
	for _, q := range qs {
		depth[q.Peer] = q
	}
	now := time.Now()
	for _, p := range c.peers() {
		q := depth[p]
		age := 0.0
		if q.Depth > 0 {
			age = now.Sub(q.Oldest).Seconds()
		}
		if err == nil {
			ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(q.Depth), p)
			ch <- prometheus.MustNewConstMetric(queueOldest, prometheus.GaugeValue, age, p)
		}
		n := c.counts(p)
		ch <- prometheus.MustNewConstMetric(feedResults, prometheus.CounterValue, float64(n.Sent), p, "sent")
		ch <- prometheus.MustNewConstMetric(feedResults, prometheus.CounterValue, float64(n.Refused), p, "refused")
		ch <- prometheus.MustNewConstMetric(feedResults, prometheus.CounterValue, float64(n.Deferred), p, "deferred")
		ch <- prometheus.MustNewConstMetric(feedFailures, prometheus.CounterValue, float64(n.Failures), p)
	}
}
