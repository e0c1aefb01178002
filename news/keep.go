package news

import "time"

// How long a server keeps what it has seen. They are shared here because
// the injecting agent, the relay door and the command line all need the
// same values: two copies with two numbers had drifted apart (transit
// refused by 10 days while injection remembered 60).
const (
	// DefaultRetention is how long an article is kept after it arrives.
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultHistoryRetention is how long a message-id (and an injected
	// body's hash) is remembered after its article arrived. It is also
	// the relay door's history window: an article dated earlier is
	// refused, since the history may have forgotten it and would take it
	// again. Both come from one value because the window may not exceed
	// the memory; equal is the widest window that is still safe.
	DefaultHistoryRetention = 60 * 24 * time.Hour
)
