package nntp

// Observer hears what a Server does, so that metrics can be kept outside
// this package: nntp imports no metrics library, and a Server without an
// Observer pays nothing. Calls come from many goroutines at once and must
// return quickly.
type Observer interface {
	// ConnOpened and ConnClosed bracket every admitted connection.
	ConnOpened()
	ConnClosed()
	// ConnRefused counts a connection turned away before its greeting:
	// "shutting-down", "max-connections" or "max-connections-per-ip".
	ConnRefused(reason string)
	// Response reports the final response to one command: its name in
	// upper case ("UNKNOWN" for a line that is no command we know), the
	// code and the text sent. Intermediate answers (335, 340) are not
	// reported; the answer after the article is.
	Response(command string, code int, msg string)
	// PanicRecovered counts a panic in a session that the server caught.
	PanicRecovered()
}

// noObserver is the Observer of a Server that has none.
type noObserver struct{}

func (noObserver) ConnOpened()                  {}
func (noObserver) ConnClosed()                  {}
func (noObserver) ConnRefused(string)           {}
func (noObserver) Response(string, int, string) {}
func (noObserver) PanicRecovered()              {}

func (s *Server) observer() Observer {
	if s.Observer == nil {
		return noObserver{}
	}
	return s.Observer
}
