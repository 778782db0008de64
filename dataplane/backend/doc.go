// Package backend is the runtime side of HAProxy backends: the live state of
// servers, the load-balancing algorithms, the maxconn queue, active and
// passive health checks, and the idle connections kept for reuse.
//
// The engine compiles every changed config.Backend of a routing-table
// generation into a Pool with Registry.Build, then retires the servers no
// live pool uses any more: Registry.Retire with the pools a change replaced,
// or Registry.Sweep with every pool of the table. Live state (health, in-flight counts, idle
// connections, the queue) belongs to a Registry and survives reloads: a
// server is the same server across generations while its backend name,
// server name and address stay the same. Everything a request touches (Pick,
// ByCookie, Acquire, Release, GetIdle/PutIdle) is lock-free except the idle
// list's uncontended mutex and the queue, which is only entered when every
// candidate server is at maxconn.
//
// # Semantics where HAProxy's manual leaves room
//
//   - roundrobin and static-rr both follow a precomputed smooth weighted
//     schedule (nginx's smooth weighted round robin: every turn each server's
//     credit grows by its weight, the richest is chosen and pays the total),
//     so weights 1:2:3 give exactly 1:2:3 over every cycle, interleaved.
//     sluice never changes weights at run time (no slowstart, no agent),
//     which is the only thing that separates the two in HAProxy. Pick is one
//     atomic increment; an unavailable server's turn is skipped and the next
//     turn taken, so its share spreads over the others by weight.
//   - leastconn picks the lowest (active+1)/weight, as HAProxy does; ties go
//     round-robin. It scans the servers: O(servers) per pick.
//   - random draws two servers in proportion to their weights and keeps the
//     one with the lower active/weight, the first on a tie (HAProxy's
//     random(2), "power of two choices"); an idle farm gets exactly the
//     weighted draw.
//   - source, uri, url_param and hdr use consistent hashing (HAProxy's
//     hash-type consistent), not map-based: a ring with weight*1024 points
//     per server (fewer in farms whose weights add up past 64). When a
//     server goes down only its keys move, to the next servers of the ring;
//     when it returns they come back. Keys and ring points are hashed with a
//     fixed function of bytes and server names, so every sluice replica and
//     every restart maps a key to the same server. A missing key (nil) falls
//     back to round robin, as in HAProxy. A hashed request is bound to its
//     server: when that server is at maxconn the request waits in the queue
//     for that very server.
//   - weight 0: the server takes no load-balanced traffic at all, even when
//     every other server is down, but still serves requests that a
//     persistence cookie sends to it (HAProxy: "will not participate in
//     load-balancing but will still accept persistent connections").
//   - backup servers take traffic only when no non-backup server with a
//     non-zero weight is up, and then only the first backup that is up
//     (declaration order); `option allbackups` is not implemented.
//   - disabled servers get nothing, are never checked and are never Up.
//   - A server at maxconn is still up: it does not bring backups in; new
//     requests wait in the backend's queue (FIFO) until any eligible server
//     releases a slot, or until the queue timeout (`timeout queue`, else
//     `timeout connect`, else DefaultQueueTimeout).
//   - Health checks: checked servers start up but unconfirmed; the first
//     check runs at once and, if it fails, takes the server down right away
//     (HAProxy starts checked servers "up, but going down at the first
//     failure"). Once a check has passed, `fall` consecutive failures take
//     it down and, once down, `rise` consecutive successes bring it back.
//     This gives no errors at start-up for healthy servers and removes a
//     dead one after a single check.
//   - Check timeouts follow HAProxy: the connection must be made within
//     min(inter, timeout connect); with `timeout check` the response must
//     then come within that much more, without it the whole check must fit
//     in inter.
//   - Passive health: see Server.ReportConnectFailure.
//   - A server that goes down has its idle connections closed; requests
//     queued for it alone fail at once with ErrServerDown.
//
// # Lifecycle
//
// On a reload the engine calls Build for every backend the change touched,
// installs the table, then calls Retire with the pools it replaced (Sweep
// after the first table or a failed compile). Build applies new server
// settings (maxconn, check parameters) at once, also for the previous
// generation still serving; a generation the engine discards costs nothing
// but servers kept until the next Sweep. Close stops everything.
package backend
