// Package metrics keeps nntpd's Prometheus metrics (all named altcrypt_*)
// and serves them as text at /metrics. It implements nntp.Observer, so the
// protocol layer reports to it without importing Prometheus, wraps the
// store to time its commits, and reads feed queues and per-peer results
// when scraped. Labels take values only from fixed sets (command names,
// response classes, reason codes, configured peers), never from clients.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/altcrypt/altcrypt/nntp"
)

// Metrics is one server's registry. Its methods are safe for concurrent
// use.
type Metrics struct {
	reg *prometheus.Registry

	connsOpen    prometheus.Gauge
	connsRefused *prometheus.CounterVec
	commands     *prometheus.CounterVec
	stored       *prometheus.CounterVec
	refused      *prometheus.CounterVec
	panics       prometheus.Counter
	commit       *prometheus.HistogramVec
}

var _ nntp.Observer = (*Metrics)(nil)

// New makes the registry with the process and Go runtime collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.connsOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "altcrypt_connections_open", Help: "NNTP connections being served."})
	m.connsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "altcrypt_connections_refused_total", Help: "NNTP connections turned away before the greeting, by reason."},
		[]string{"reason"})
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "altcrypt_commands_total", Help: "NNTP commands answered, by command and response class (2xx, 4xx...)."},
		[]string{"command", "class"})
	m.stored = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "altcrypt_articles_stored_total", Help: "Articles accepted after a durable commit, by path (post, ihave, takethis)."},
		[]string{"path"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "altcrypt_articles_refused_total", Help: "Articles refused (441, 437, 439), by path and by the reason code the answer carried."},
		[]string{"path", "reason"})
	m.panics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "altcrypt_panics_recovered_total", Help: "Panics in sessions that the server caught."})
	m.commit = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "altcrypt_commit_seconds", Help: "Time of the store transactions that acknowledgements wait for: insert (transit, release) and pending (posts).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5}},
		[]string{"kind"})
	m.reg.MustRegister(m.connsOpen, m.connsRefused, m.commands, m.stored, m.refused, m.panics, m.commit,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, p := range []string{"post", "ihave", "takethis"} {
		m.stored.WithLabelValues(p) // present at 0 from the start, for rate()
	}
	return m
}

// Handler serves the metrics in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Serve serves /metrics on l until ctx ends.
func (m *Metrics) Serve(ctx context.Context, l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ConnOpened implements nntp.Observer.
func (m *Metrics) ConnOpened() { m.connsOpen.Inc() }

// ConnClosed implements nntp.Observer.
func (m *Metrics) ConnClosed() { m.connsOpen.Dec() }

// ConnRefused implements nntp.Observer.
func (m *Metrics) ConnRefused(reason string) { m.connsRefused.WithLabelValues(reason).Inc() }

// PanicRecovered implements nntp.Observer.
func (m *Metrics) PanicRecovered() { m.panics.Inc() }

// commandNames bounds the command label: anything else is "OTHER".
var commandNames = map[string]bool{
	"ARTICLE": true, "AUTHINFO": true, "BODY": true, "CAPABILITIES": true, "CHECK": true, "DATE": true,
	"GROUP": true, "HDR": true, "HEAD": true, "HELP": true, "IHAVE": true, "LAST": true, "LIST": true,
	"LISTGROUP": true, "MODE": true, "NEWGROUPS": true, "NEWNEWS": true, "NEXT": true, "OVER": true,
	"POST": true, "QUIT": true, "STARTTLS": true, "STAT": true, "TAKETHIS": true, "XHDR": true,
	"XOVER": true, "UNKNOWN": true,
}

// Response implements nntp.Observer: every command by name and class,
// and the articles of POST, IHAVE and TAKETHIS by outcome.
func (m *Metrics) Response(command string, code int, msg string) {
	name := command
	if !commandNames[name] {
		name = "OTHER"
	}
	m.commands.WithLabelValues(name, strconv.Itoa(code/100)+"xx").Inc()
	var path string
	switch command {
	case "POST":
		path = "post"
	case "IHAVE":
		path = "ihave"
	case "TAKETHIS":
		path = "takethis"
	default:
		return
	}
	switch code {
	case 240, 235, 239:
		m.stored.WithLabelValues(path).Inc()
	case 441, 437, 439:
		m.refused.WithLabelValues(path, Reason(msg)).Inc()
	}
}

var reasonCode = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Reason is the reason code a refusal's text starts with ("armor-label:
// ..."), or "unspecified" for a text without one.
func Reason(msg string) string {
	code, _, ok := strings.Cut(msg, ":")
	if !ok || !reasonCode.MatchString(code) {
		return "unspecified"
	}
	return code
}
