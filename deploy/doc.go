// Package deploy holds what an operator installs beside the binaries:
// hardened systemd units for nntpd and gateway smtp, the sysusers file for
// their users, and example Prometheus alert rules. It has no code; its
// tests check these files with the tools that will read them.
package deploy
