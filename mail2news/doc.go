// Package mail2news turns one mail into one post to alt.crypt.messages: it
// finds the single armored PGP message the way mail clients send it (inline
// in text/plain, 7bit, quoted-printable or base64; PGP/MIME per RFC 3156),
// picks the group, refuses what must not be posted, builds a fresh article
// that carries nothing of the mail's headers, and posts it over NNTP to a
// server that does the injection (nntpd: armor gate, fresh headers, batch
// release, replay refusal). The outcome is one of three classes that map to
// sysexits for an MTA pipe and to SMTP replies for the listener:
//
//	posted    server said 240 (or refused the body as a replay: an earlier
//	          try got through)            exit 0    SMTP 250
//	refused   by us, by the armor gate, or by the server's 441 with a
//	          permanent reason            exit 65   SMTP 554 "code: sentence"
//	deferred  server down, slow, busy, or any doubt
//	                                      exit 75   SMTP 451
//
// When in doubt a mail is deferred, never bounced: a deferred mail is
// retried by the MTA, a bounced one may be lost.
//
// # Wiring an MTA to `gateway post`
//
// Postfix, master.cf (and "mail2news-alt.crypt.messages@example.org
// mail2news:" in a transport map):
//
//	mail2news unix - n n - 4 pipe
//	  flags=Rq user=nobody argv=/usr/local/bin/gateway post --group-from-address -r ${original_recipient}
//
// exim, a router and a transport (the test in cmd/gateway runs this one):
//
//	mail2news:
//	  driver = accept
//	  local_parts = ^mail2news-.+
//	  transport = mail2news_pipe
//	mail2news_pipe:
//	  driver = pipe
//	  command = /usr/local/bin/gateway post --group-from-address
//	  user = nobody
//	  temp_errors = 75
//	  return_fail_output = true
//
// exim's pipe sets $RECIPIENT and Postfix's local delivery sets
// $ORIGINAL_RECIPIENT, which `gateway post` reads when -r is not given; the
// mbox "From " line that both may prepend is skipped.
package mail2news
