/*
 * Lamplighter protocol 1.2: the controller's link machine and one lamp, for spin.
 *
 * Read Protocol/model/README.md first: what is modelled, what is abstracted away, the
 * bounds, the properties, and which Swift type, case or function each part stands for
 * (Sources/FleetCore/ConnectionStateMachine.swift, LinkStateMachine.swift, FleetModel.swift).
 * Run it with Protocol/model/check.sh.
 *
 * Compile-time switches (spin -D...):
 *   BRIEF_RULES              the rules exactly as briefed: a hello whose appliedVersion equals
 *                            the desired version (same epoch) is proof. Unsound after a
 *                            database restore (README, "The flaw"); spin finds it.
 *   BROKEN_ACK_OUT_OF_FLIGHT the controller believes any ack (issue 11, problem 1)
 *   BROKEN_NO_EPOCH          the controller ignores the hello's epoch
 *   BROKEN_BELIEVE_AHEAD     a hello ahead of the desired version counts as applied (1.1)
 *   BROKEN_LAMP_STALE        the lamp applies an older version after a newer one
 *   BROKEN_NO_RETRY          the controller never sends again after a timeout
 *   MAX_* bounds             below
 */

#ifndef MAX_CMDS
#define MAX_CMDS 3        /* operator commands (new desired states) */
#endif
#ifndef MAX_LOSS
#define MAX_LOSS 2        /* messages lost, either direction */
#endif
#ifndef MAX_DUP
#define MAX_DUP 1         /* messages delivered twice (the copy arrives late) */
#endif
#ifndef MAX_DELAY
#define MAX_DELAY 1       /* messages overtaken (delivered after later ones, or after a new link) */
#endif
#ifndef MAX_RECONNECT
#define MAX_RECONNECT 1   /* the lamp drops its link (network loss or reboot) and links again */
#endif
#ifndef MAX_RESTART
#define MAX_RESTART 1     /* controller restarts: memory lost, store kept */
#endif
#ifndef MAX_RESTORE
#define MAX_RESTORE 1     /* store replaced by an older snapshot of itself (same epoch), then restart */
#endif
#ifndef MAX_FRESH
#define MAX_FRESH 1       /* a fresh database: new epoch, sequence 0, nothing desired, then restart */
#endif
#ifndef MAX_BOGUS
#define MAX_BOGUS 1       /* a faulty lamp acks a ref that was never sent (issue 11, problem 1) */
#endif

#define CAPC   6          /* room in the lamp-to-controller channel (asserted, never blocks) */
#define MAXV   12          /* versions 1..MAXV-2 can be issued; BOGUS is never issued */
#define BOGUS  (MAXV - 1)

mtype = { HELLO, WELCOME, CTRL, ACK, NACK };

/* Controller to lamp, on the lamp's current connection: WELCOME(epoch, 0), CTRL(version, value).
 * Only the current connection is modelled in this direction: a controller writing to a
 * connection the lamp has dropped reaches nobody (see c_transmit). */
chan toL   = [2] of { mtype, byte, byte };
chan lateL = [1] of { mtype, byte, byte };      /* one message overtaken or duplicated */
/* Lamp to controller: HELLO(link, appliedVersion, epoch, ghost), ACK(link, v, ghost epoch,
 * ghost), NACK(link, v, 0, 0). Tagged with the link: an old link's messages may still arrive
 * after the new link's. The ghost fields (the content the lamp holds at that version, and
 * for an ack the epoch it holds) are not on the wire: only the properties read them. */
chan toC   = [CAPC] of { mtype, byte, byte, byte, byte };
chan lateC = [1] of { mtype, byte, byte, byte, byte };

/* ---- controller: durable store (FleetStoring: desired state, sequence, epoch) ---- */
byte db_epoch = 1;   /* fleet epoch, random in reality: 1, 2, ... here */
byte db_seq = 0;     /* FleetModel.lastVersion */
byte d_ver = 0;      /* LampEntry.desired.control.version (0: nothing desired, nothing sent) */
byte d_val = 0;      /* its content (ControlIntent + fade); here the command's number */
bool bk_ok = false;  /* a backup of this database exists */
byte bk_seq, bk_ver, bk_val;

/* ---- controller: memory, lost on restart ---- */
byte c_link = 0;     /* the lamp's current link (LampRegistry entry); 0: none */
byte c_infl = 0;     /* LinkStateMachine.inFlight (ref = version); 0: none */
byte c_ival = 0;     /* content of the request in flight */
byte c_applied = 0;  /* LampEntry.appliedVersion == LinkStateMachine.appliedControl, proven this run */
byte c_aval = 0;     /* ghost: the content the controller believes applied at c_applied */

/* ---- lamp ---- */
byte l_A = 0;        /* non-volatile: applied control version */
byte l_val = 0;      /* non-volatile: the state it shows (content of version l_A) */
byte l_epoch = 0;    /* non-volatile: the epoch it last accepted (0: never linked) */
byte l_link = 0;     /* volatile: its connection; 0: none */
bool l_welcomed = false;
byte next_link = 0;  /* connection ids, in the order the lamp opens them */

/* ---- ghost for Safety B ---- */
byte g_hi = 0;       /* highest version applied in the lamp's current epoch */

/* Scratch for one atomic step (a received message), cleared at the end of every step
 * that uses it, so that it never tells two states apart. */
mtype t;
byte lk, a, b, g;
inline clear() { t = 0; lk = 0; a = 0; b = 0; g = 0 }

/* ---- environment budgets ---- */
byte n_cmd = 0, n_loss = 0, n_dup = 0, n_delay = 0, n_reconnect = 0;
byte n_restart = 0, n_restore = 0, n_fresh = 0, n_bogus = 0;

/* Safety A: the controller records the lamp applied at version V only if the lamp applied
 * V, with the content the controller means, in the current epoch. Checked where it is
 * recorded (c_record), against the ghost fields of the answer that made it record: what the
 * lamp held at V, in which epoch. A recorded fact stays true: the lamp forgets a version
 * only when it takes a new epoch, which needs a new database, which restarts the controller. */
/* Safety A2: whenever the controller shows the lamp converged (LampEntry.isConverged:
 * applied >= desired), the lamp holds the desired state now. */
#define SAFETY_A2 (d_ver == 0 || c_applied < d_ver || (l_epoch == db_epoch && l_A == d_ver && l_val == d_val))
/* Liveness C: the lamp holds the latest desired state and the controller shows it applied. */
#define CONVERGED (d_ver == 0 || (l_epoch == db_epoch && l_A == d_ver && l_val == d_val && c_applied == d_ver))

ltl conv { <> [] CONVERGED }

/* ------------------------------------------------------------------------------------ */
/* Controller                                                                            */

/* Write to the lamp's link c_link. If the lamp has already dropped that connection, the
 * message reaches nobody (a dead TCP connection). */
inline c_transmit(t, a, b) {
  if
  :: c_link != 0 && c_link == l_link -> assert(len(toL) < 2); toL!t,a,b
  :: else -> skip
  fi
}

/* LinkStateMachine.sendNext / nextRequest: one request in flight, only the latest desired. */
inline c_send_next() {
  if
  :: c_link != 0 && c_infl == 0 && d_ver > c_applied ->
       c_infl = d_ver; c_ival = d_val;
       printf("C: send v%d (content %d) on link %d\n", d_ver, d_val, c_link);
       c_transmit(CTRL, d_ver, d_val)
  :: else -> skip
  fi
}

/* Rule 3: the store went back (or the lamp was ahead): move the sequence past the lamp's
 * version and re-issue the same desired state at a fresh version. */
inline c_reissue_past(hA) {
  if
  :: db_seq < hA -> db_seq = hA
  :: else -> skip
  fi;
  if
  :: d_ver > 0 -> db_seq++; d_ver = db_seq; printf("C:   lamp ahead or unproven: desired re-issued as v%d\n", d_ver)
  :: else -> skip      /* nothing desired: nothing to re-issue, nothing claimed */
  fi;
  assert(db_seq < BOGUS)
}

/* ConnectionStateMachine.keyLookedUp/established + FleetModel.linkUp + LinkStateMachine.init/start */
inline c_hello(lk, hA, hE, hG) {
  if
  :: lk <= c_link -> printf("C: hello of old link %d ignored\n", lk)  /* the newer link has won (rule 5) */
  :: else ->
     printf("C: hello link %d applied=v%d epoch=%d; store desired v%d (content %d), epoch %d, sequence %d\n", lk, hA, hE, d_ver, d_val, db_epoch, db_seq);
     c_link = lk; c_infl = 0;             /* a new LinkStateMachine; the old link is closed (4000) */
     c_transmit(WELCOME, db_epoch, 0);
     if
#ifndef BROKEN_NO_EPOCH
     :: hE != db_epoch -> c_applied = 0; printf("C:   other epoch: versions unknown\n")
#endif
     :: else ->
        if
#ifdef BRIEF_RULES
        :: hA == d_ver && d_ver > 0 ->                                      /* the hello proves it */
           assert(hE == db_epoch && hA == d_ver && hG == d_val);              /* Safety A */
           c_applied = d_ver; c_aval = d_val;
           printf("C:   hello proves v%d: recorded applied (content %d)\n", d_ver, d_val)
#else
        :: hA == d_ver && c_applied == d_ver -> skip   /* proven by an ack earlier in this run */
#endif
#ifdef BROKEN_BELIEVE_AHEAD
        :: hA > d_ver && d_ver > 0 ->                                       /* 1.1: "converged" */
           assert(hE == db_epoch && hA == d_ver && hG == d_val);              /* Safety A */
           c_applied = d_ver; c_aval = d_val;
           printf("C:   lamp ahead: recorded applied v%d (content %d)\n", d_ver, d_val)
#endif
        :: else ->
           if
#ifdef BRIEF_RULES
           :: hA > d_ver -> c_reissue_past(hA)
#else
           :: hA >= d_ver && hA > 0 -> c_reissue_past(hA)   /* equal but unproven: as ahead */
#endif
           :: else -> skip                 /* behind: send the desired state */
           fi
        fi
     fi;
     c_send_next()
  fi
}

/* LinkStateMachine.received(.ack) -> noteControlApplied -> FleetModel.noteControlApplied */
inline c_ack(lk, v, gE, gV) {
  if
#ifdef BROKEN_ACK_OUT_OF_FLIGHT
  :: v > c_applied ->                      /* any ack is believed (issue 11, problem 1) */
     if
     :: lk == c_link && v == c_infl -> c_infl = 0; c_aval = c_ival
     :: else -> c_aval = d_val
     fi;
     assert(gE == db_epoch && gV == c_aval);                                  /* Safety A */
     c_applied = v; printf("C: ack v%d on link %d believed: recorded applied\n", v, lk);
     c_send_next()
#endif
  :: lk == c_link && c_infl != 0 && v == c_infl ->
     c_infl = 0;
     if
     :: v > c_applied ->
        assert(gE == db_epoch && gV == c_ival);                               /* Safety A */
        c_applied = v; c_aval = c_ival; printf("C: ack v%d: recorded applied (content %d)\n", v, c_ival)
     :: else -> skip
     fi;
     c_send_next()
  :: else -> printf("C: ack v%d on link %d ignored\n", v, lk)  /* Action.ignored */
  fi
}

/* LinkStateMachine.received(.nack) */
inline c_nack(lk, v) {
  if
  :: lk == c_link && c_infl != 0 && v == c_infl ->
     /* Property D: a lamp never refuses the request in flight as stale (the controller only
      * sends versions above what the lamp reported on this link). */
     assert(false)
  :: else -> skip                          /* a late nack of an older request: ignored */
  fi
}

inline c_receive() {
  if
  :: t == HELLO -> c_hello(lk, a, b, g)
  :: t == ACK   -> c_ack(lk, a, b, g)
  :: t == NACK  -> c_nack(lk, a)
  :: else -> assert(false)
  fi
}

inline flush_lamp_side() {
  do
  :: toL?_,_,_
  :: lateL?_,_,_
  :: len(toL) == 0 && len(lateL) == 0 -> break
  od
}

inline flush_controller_side() {
  do
  :: toC?_,_,_,_,_
  :: lateC?_,_,_,_,_
  :: len(toC) == 0 && len(lateC) == 0 -> break
  od
}

/* The controller process dies and starts again: memory lost, every connection closed. */
inline c_restart() {
  c_link = 0; c_infl = 0; c_ival = 0; c_applied = 0; c_aval = 0;
  flush_controller_side();
  flush_lamp_side();
  l_link = 0; l_welcomed = false
}

active proctype Controller() {
end:
  do
  :: d_step { toC?t,lk,a,b,g -> c_receive(); clear() }
  :: d_step { lateC?t,lk,a,b,g -> c_receive(); clear() }
#ifndef BROKEN_NO_RETRY
  /* LinkStateMachine.tick: the request's answer did not come (lost, or still late): send
   * the latest desired state again. Only while the lamp listens on that link: a resend into
   * a dead connection reaches nobody, and the lamp's own deadline closes it first. */
  :: d_step { c_infl != 0 && c_link == l_link && len(toL) == 0 && len(toC) == 0 ->
       printf("C: timeout\n"); c_infl = 0; c_send_next() }
#endif
  od
}

/* ------------------------------------------------------------------------------------ */
/* Lamp (SPEC.md §4.2, §5.3, §8.0, §13; 1.2: the epoch)                                   */

inline l_connect() {
  next_link++; assert(next_link < 250);
  l_link = next_link; l_welcomed = false;
  printf("L: connects, link %d, hello applied=v%d epoch=%d\n", l_link, l_A, l_epoch);
  assert(len(toC) < CAPC);
  toC!HELLO,l_link,l_A,l_epoch,l_val
}

/* The lamp closes its link (or it died) and opens a new one at once (backoff abstracted). */
inline l_relink() {
  flush_lamp_side();
  l_connect()
}

inline l_receive(t, a, b) {
  if
  :: t == WELCOME && !l_welcomed ->
     l_welcomed = true;
     if
     :: a != l_epoch -> l_epoch = a; l_A = 0; g_hi = 0;  /* another database: versions reset, output kept */
        printf("L: welcome, new epoch %d: applied version reset to 0\n", a)
     :: else -> skip
     fi
  :: t == WELCOME && l_welcomed -> skip                   /* a duplicate */
  :: t == CTRL && !l_welcomed -> printf("L: command before welcome: closes\n"); l_relink()  /* 1008 */
  :: t == CTRL && l_welcomed ->
     assert(len(toC) < CAPC);
     if
#ifdef BROKEN_LAMP_STALE
     :: a != l_A ->
#else
     :: a > l_A ->
#endif
        assert(a > g_hi);                                  /* Safety B */
        g_hi = a; l_A = a; l_val = b;
        printf("L: applies v%d (content %d), acks\n", a, b);
        toC!ACK,l_link,a,l_epoch,l_val
     :: a == l_A -> toC!ACK,l_link,a,l_epoch,l_val;                    /* retransmission: ack, no reapply */
        printf("L: v%d again: acks without applying (shows content %d)\n", a, l_val)
     :: else -> toC!NACK,l_link,a,0,0; printf("L: v%d stale: nacks\n", a)
     fi
  :: else -> assert(false)
  fi
}

active proctype Lamp() {
end:
  do
  :: d_step { l_link == 0 -> l_connect() }
  :: d_step { toL?t,a,b -> l_receive(t, a, b); clear() }
  :: d_step { lateL?t,a,b -> l_receive(t, a, b); clear() }
  /* Handshake deadline: no welcome is coming (the hello or the welcome was lost or is late). */
  :: d_step { !l_welcomed && l_link != 0 &&
              ((c_link != l_link && len(toC) == 0) ||
               (c_link == l_link && len(toL) == 0 && len(lateL) == 0)) ->
       printf("L: handshake deadline\n"); l_relink() }
  od
}

/* ------------------------------------------------------------------------------------ */
/* Environment: operator, network, lamp failures, controller restarts, database changes    */

active proctype Environment() {
end:
  do
  /* Operator: a new desired state (FleetService -> FleetModel.nextVersion/commit ->
   * ConnectionStateMachine.desiredChanged). Its content is the command's number. */
  :: d_step { n_cmd < MAX_CMDS ->
       n_cmd++; db_seq++; assert(db_seq < BOGUS);
       printf("OPERATOR: command %d -> desired v%d\n", n_cmd, db_seq);
       d_ver = db_seq; d_val = n_cmd;
       c_send_next() }
  /* Network: loss */
  :: d_step { n_loss < MAX_LOSS && len(toL) > 0 -> n_loss++; toL?_,_,_; printf("NET: a message to the lamp is lost\n") }
  :: d_step { n_loss < MAX_LOSS && len(toC) > 0 -> n_loss++; toC?_,_,_,_,_; printf("NET: a message to the controller is lost\n") }
  /* Network: duplication (the copy comes later) */
  :: d_step { n_dup < MAX_DUP && len(toL) > 0 && len(lateL) == 0 -> n_dup++; toL?<t,a,b>; lateL!t,a,b; clear(); printf("NET: a message to the lamp is duplicated\n") }
  :: d_step { n_dup < MAX_DUP && len(toC) > 0 && len(lateC) == 0 -> n_dup++; toC?<t,lk,a,b,g>; lateC!t,lk,a,b,g; clear(); printf("NET: a message to the controller is duplicated\n") }
  /* Network: a message overtaken by later ones (for lamp-to-controller: possibly by a
   * newer link's messages) */
  :: d_step { n_delay < MAX_DELAY && len(toL) > 0 && len(lateL) == 0 -> n_delay++; toL?t,a,b; lateL!t,a,b; clear(); printf("NET: a message to the lamp is held back\n") }
  :: d_step { n_delay < MAX_DELAY && len(toC) > 0 && len(lateC) == 0 -> n_delay++; toC?t,lk,a,b,g; lateC!t,lk,a,b,g; clear(); printf("NET: a message to the controller is held back\n") }
  /* Lamp: the link drops (network) or the lamp reboots (keeps A, output, epoch) */
  :: d_step { n_reconnect < MAX_RECONNECT && l_link != 0 -> n_reconnect++; printf("LAMP: link lost or reboot\n"); l_relink() }
  /* A faulty lamp acks a ref it was never sent */
  :: d_step { n_bogus < MAX_BOGUS && l_welcomed && len(toC) < CAPC -> n_bogus++; toC!ACK,l_link,BOGUS,0,0; printf("LAMP (faulty): acks v%d, never sent\n", BOGUS) }
  /* Controller restart */
  :: d_step { n_restart < MAX_RESTART -> n_restart++; printf("CONTROLLER: restart\n"); c_restart() }
  /* A backup of the store (taken at most once), and its restore (then a restart) */
  :: d_step { MAX_RESTORE > 0 && !bk_ok && n_restore == 0 ->
       bk_ok = true; bk_seq = db_seq; bk_ver = d_ver; bk_val = d_val;
       printf("DB: backup taken (sequence %d, desired v%d)\n", db_seq, d_ver) }
  :: d_step { n_restore < MAX_RESTORE && bk_ok ->
       n_restore++; db_seq = bk_seq; d_ver = bk_ver; d_val = bk_val;
       printf("DB: backup restored (sequence %d, desired v%d), controller restarts\n", db_seq, d_ver); c_restart() }
  /* A fresh database: new epoch, sequence 0, nothing desired (then a restart) */
  :: d_step { n_fresh < MAX_FRESH ->
       n_fresh++; db_epoch++; db_seq = 0; d_ver = 0; d_val = 0; bk_ok = false;
       printf("DB: fresh database, epoch %d, controller restarts\n", db_epoch); c_restart() }
  od
}

/* Safety A and A2 are invariants: a monitor that can only move when one is false. */
active proctype Safety() {
end:
  atomic { !SAFETY_A2 -> assert(SAFETY_A2) }
}
