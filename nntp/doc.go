// Package nntp is altcrypt's NNTP protocol layer: a server and a client,
// both on bounded line and article readers (net/textproto reads without
// limits, so neither uses its readers).
//
// The server speaks RFC 3977 for a reading server (CAPABILITIES, MODE
// READER, GROUP, LISTGROUP, ARTICLE/HEAD/BODY/STAT, NEXT, LAST, OVER/XOVER,
// HDR/XHDR, LIST ACTIVE/NEWSGROUPS/OVERVIEW.FMT/HEADERS/ACTIVE.TIMES,
// NEWGROUPS, NEWNEWS, DATE, HELP, POST, IHAVE, QUIT), LIST COUNTS (RFC
// 6048), AUTHINFO USER/PASS (RFC 4643), STARTTLS (RFC 4642) and implicit
// TLS, and streaming feeds (RFC 4644: MODE STREAM, CHECK, TAKETHIS).
// Storage and policy live behind Backend and Session (backend.go); the
// optional Poster, Authenticator and Transit interfaces enable POST,
// AUTHINFO and transit, and CAPABILITIES advertises only what the session
// implements and permits. Every error reaching a client is mapped by
// ResponseFor; anything unknown is 403 and never shows its text.
//
// Behaviour worth knowing when writing a backend:
//
//   - Pipelined CHECK and TAKETHIS run on up to Server.StreamWindow
//     goroutines per connection, so a Transit's Wanted and Receive must be
//     safe for concurrent use (which lets a store commit many articles in
//     one transaction). Commands about one message-id run in order;
//     responses are always written in command order.
//   - ErrTryLater on TAKETHIS answers 400 and closes the connection, so the
//     peer keeps every unacknowledged article. Transit codes are folded to
//     what each stage allows: IHAVE offer 435/436, IHAVE transfer
//     235/436/437, CHECK 238/431/438, TAKETHIS 239/439.
//   - POST, IHAVE and TAKETHIS read the whole article even when it is too
//     large or refused, so the session stays in step; articles reach the
//     backend dot-unstuffed with CRLF line endings.
//   - By message-id, ARTICLE and friends answer with number 0 and leave the
//     current article alone; by number they make it current.
//   - A panic in a backend method is recovered: the client gets 403 (if no
//     response had started), the connection is closed, the server goes on.
//   - Client addresses are never logged unless Server.LogAddresses is set.
//
// The Client (client.go) covers the same commands for the pool client,
// the mail gateway and peer feeders, with per-command contexts, response
// size limits and a pipelined Stream for CHECK/TAKETHIS. nntpmem is the
// in-memory reference backend the tests use.
package nntp
